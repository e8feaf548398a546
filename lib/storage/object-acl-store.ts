// An object's ACL on disk: owner, mode and system.posix_acl_access, plus the ACP grants kept in trusted.s3bridge.acp.
import { constants } from 'node:fs'
import { chmod, lstat, open, stat, type FileHandle } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { join } from 'node:path'
import { S3Error, s3ErrorFromErrno } from '../errors/s3-error.js'
import { ACL_ACCESS_XATTR, aclFromMode, decodePosixAcl, encodePosixAcl, isMinimalAcl, modeFromAcl, type AclEntry } from '../access/posix-acl.js'
import { checkAccess, type PermissionOptions, type PosixCredentials } from '../access/posix-permission.js'
import { parseAcpGrants, type AcpGrant } from '../access/s3-acl-posix.js'
import * as xattr from './xattr.js'


/** Only CAP_SYS_ADMIN reads or writes trusted.*, so NFS clients cannot forge ACP grants. */
export const ACP_XATTR = 'trusted.s3bridge.acp'

export interface StoredObjectAcl {
  readonly uid: number
  readonly gid: number
  /** Full st_mode (type and special bits included). */
  readonly mode: number
  readonly isDirectory: boolean
  /** The decoded access ACL, or undefined when the file has none (mode bits only). */
  readonly acl: AclEntry[] | undefined
  readonly acp: AcpGrant[]
}

const isAbsent = (err: unknown): boolean => ['ENODATA', 'ENOTSUP', 'EOPNOTSUPP'].includes((err as NodeJS.ErrnoException).code ?? '')

async function readXattr (path: string, name: string): Promise<Buffer | undefined> {
  try {
    return await xattr.getAttribute(path, name)
  } catch (err) {
    if (isAbsent(err)) return undefined
    throw err
  }
}

async function removeXattr (path: string, name: string): Promise<void> {
  await xattr.removeAttribute(path, name).catch((err: unknown) => { if (!isAbsent(err)) throw err })
}

/** Reads owner, mode, access ACL and ACP grants. `path` may be /proc/self/fd/N (it is followed). */
export async function readObjectAcl (path: string): Promise<StoredObjectAcl> {
  const st = await stat(path)
  const aclBytes = await readXattr(path, ACL_ACCESS_XATTR)
  const acpBytes = await readXattr(path, ACP_XATTR)
  return {
    uid: st.uid,
    gid: st.gid,
    mode: st.mode,
    isDirectory: st.isDirectory(),
    acl: aclBytes === undefined ? undefined : decodePosixAcl(aclBytes),
    acp: acpBytes === undefined ? [] : parseAcpGrants(acpBytes.toString('utf8')),
  }
}

/** The ACL now in force: the xattr, or the three entries the mode implies. */
export function currentAcl (stored: StoredObjectAcl): AclEntry[] {
  return stored.acl ?? aclFromMode(stored.mode)
}

/**
 * Replaces the whole access ACL and the ACP grants. A minimal ACL is written as a chmod (keeping the
 * setuid/setgid/sticky bits) after removing any extended ACL; otherwise the kernel gets the encoded xattr
 * and rewrites st_mode itself. No ACP grants left: the xattr is removed.
 */
export async function writeObjectAcl (path: string, update: { acl: readonly AclEntry[], acp: readonly AcpGrant[], mode: number }): Promise<void> {
  try {
    if (isMinimalAcl(update.acl)) {
      await removeXattr(path, ACL_ACCESS_XATTR)
      await chmod(path, (update.mode & 0o7000) | modeFromAcl(update.acl))
    } else {
      await xattr.setAttribute(path, ACL_ACCESS_XATTR, encodePosixAcl(update.acl))
    }
    if (update.acp.length === 0) await removeXattr(path, ACP_XATTR)
    else await xattr.setAttribute(path, ACP_XATTR, JSON.stringify(update.acp))
  } catch (err) {
    if (isAbsent(err)) throw new S3Error('NotImplemented', {}, { message: 'The filesystem under this bucket does not support POSIX ACLs.', cause: err })
    throw s3ErrorFromErrno(err) ?? err
  }
}

/**
 * Opens the resolved object without following links and checks it is still the inode that was resolved,
 * so reads and writes through fdPath(handle.fd) cannot be redirected by a rename or symlink swap.
 */
export async function openForAcl (path: string, ino: bigint, fields: Record<string, string>): Promise<FileHandle> {
  let fh: FileHandle
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    throw s3ErrorFromErrno(err, fields) ?? err
  }
  const st = await fh.stat({ bigint: true }).catch(() => undefined)
  if (st?.ino !== ino) {
    await fh.close()
    throw new S3Error('NoSuchKey', fields)
  }
  return fh
}

export interface SearchAnswer { readonly allowed: boolean, readonly isMissing: boolean, readonly reason: string }

/**
 * Search (x) on every directory from the bucket root (followed) down to the object's parent, each checked
 * as the kernel would for the caller (acl-model 3.3, GET/PUT ACL). `segments` are the key's path segments.
 */
export async function checkSearchPath (bucketRoot: string, segments: readonly string[], who: PosixCredentials, opts: PermissionOptions): Promise<SearchAnswer> {
  let path = bucketRoot
  let st: Stats = await stat(bucketRoot)
  for (const [i, name] of segments.entries()) {
    if (!st.isDirectory()) return { allowed: false, isMissing: true, reason: `${segments.slice(0, i).join('/')}: not a directory` }
    const aclBytes = who.uid !== st.uid && (st.mode & 0o070) !== 0 ? await readXattr(path, ACL_ACCESS_XATTR) : undefined
    const decision = checkAccess({ uid: st.uid, gid: st.gid, mode: st.mode, acl: aclBytes && decodePosixAcl(aclBytes) }, who, { execute: true }, opts)
    const label = i === 0 ? '. (bucket root)' : segments.slice(0, i).join('/')
    if (!decision.allowed) return { allowed: false, isMissing: false, reason: `dir ${label}: no search (x) for uid ${who.uid}: ${decision.reason}` }
    if (i === segments.length - 1) break
    path = join(path, name)
    const next = await lstat(path).catch(() => undefined)
    if (next === undefined || next.isSymbolicLink()) return { allowed: false, isMissing: true, reason: `${segments.slice(0, i + 1).join('/')}: missing or a link` }
    st = next
  }
  return { allowed: true, isMissing: false, reason: 'search allowed on every directory' }
}
