// Default ACLs for objects made over S3: staged files are created elsewhere, so we apply what the kernel's posix_acl_create would.
import { chmod } from 'node:fs/promises'
import { ACL_ACCESS_XATTR, ACL_DEFAULT_XATTR, decodePosixAcl, encodePosixAcl, isMinimalAcl, modeFromAcl, type AclEntry } from '../access/posix-acl.js'
import * as xattr from './xattr.js'
import type { PinnedDir } from './pinned-dir.js'


/** Requested create modes when a default ACL applies (what NFS applications pass to open/mkdir). */
const FILE_CREATE_MODE = 0o666
const DIR_CREATE_MODE = 0o777

async function defaultAclOf (dir: Pick<PinnedDir, 'xattr'>): Promise<AclEntry[] | undefined> {
  try {
    const raw = await dir.xattr(ACL_DEFAULT_XATTR)
    return raw === null ? undefined : decodePosixAcl(raw)
  } catch {
    return undefined // no ACL support, or a value the codec refuses
  }
}

/** posix_acl_create_masq: the default ACL limited by the create mode. */
function maskByMode (acl: AclEntry[], mode: number): AclEntry[] {
  const hasMask = acl.some(e => e.tag === 'MASK')
  return acl.map(e => {
    if (e.tag === 'USER_OBJ') return { ...e, perm: e.perm & (mode >> 6) & 7 }
    if (e.tag === 'OTHER') return { ...e, perm: e.perm & mode & 7 }
    if (e.tag === 'MASK') return { ...e, perm: e.perm & (mode >> 3) & 7 }
    if (e.tag === 'GROUP_OBJ' && !hasMask) return { ...e, perm: e.perm & (mode >> 3) & 7 }
    return e
  })
}

/**
 * If the parent folder has a default ACL, gives the new file or folder the access ACL the kernel would
 * (and folders inherit the default ACL itself). Returns whether a default ACL applied. `modeCap` limits the
 * requested mode further, as cp(1) asks for the source's mode. `withoutIds`: named entries for these uids and gids
 * get no permissions on the new entry (the public ones, under a bucket's BlockPublicAcls).
 */
export async function inheritDefaultAcl (path: string, parentDir: Pick<PinnedDir, 'xattr'>, isDirectory: boolean, modeCap = 0o777, withoutIds?: { uids: readonly number[], gids: readonly (number | null)[] }): Promise<boolean> {
  const def = await defaultAclOf(parentDir)
  if (!def) return false
  const masked = maskByMode(def, (isDirectory ? DIR_CREATE_MODE : FILE_CREATE_MODE) & modeCap)
  const access = withoutIds === undefined ? masked : masked.map(e =>
    (e.tag === 'USER' && withoutIds.uids.includes(e.id)) || (e.tag === 'GROUP' && withoutIds.gids.includes(e.id)) ? { ...e, perm: 0 } : e)
  if (isMinimalAcl(access)) await chmod(path, modeFromAcl(access))
  else await xattr.setAttribute(path, ACL_ACCESS_XATTR, encodePosixAcl(access))
  if (isDirectory) await xattr.setAttribute(path, ACL_DEFAULT_XATTR, encodePosixAcl(def))
  return true
}
