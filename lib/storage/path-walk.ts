// Reads a key's path the way the permission walk and the object lookup need it: stat of the bucket root (trusted,
// followed), then lstat of each component in turn, stopping after the first that is not a folder (a file where a
// folder should be, or a symlink) or at the first name that cannot be lstat'ed. With the addon this is one
// thread-pool job per request (plus the access ACLs of components with group bits and the last one's metadata);
// without it, one fs call per component. Callers decide; this module only reads.
import { lstat, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { getSystemErrorName } from 'node:util'
import { getAttribute } from './xattr.js'
import { nativeJobs, type ObjectRead, STAT_DEV, STAT_FIELDS, STAT_GID, STAT_INO, STAT_MODE, STAT_MTIME_NS, STAT_SIZE, STAT_UID } from './native.js'

/** What a walk or the addon knows of an inode: its lstat (stat for the root) in the shapes posix checks and objectInfo read. */
export class WalkStat {
  constructor (
    readonly size: bigint, readonly mtimeNs: bigint, readonly dev: bigint, readonly ino: bigint,
    readonly uid: number, readonly gid: number, readonly mode: number,
  ) {}

  /** Entry `index` of the addon's stat arrays (STAT_FIELDS per entry: statEntries, walkPath, readObject). */
  static at (v: BigInt64Array, index: number): WalkStat {
    const f = index * STAT_FIELDS
    return new WalkStat(v[f + STAT_SIZE]!, v[f + STAT_MTIME_NS]!, v[f + STAT_DEV]!, v[f + STAT_INO]!, Number(v[f + STAT_UID]), Number(v[f + STAT_GID]), Number(v[f + STAT_MODE]))
  }

  isDirectory (): boolean { return (this.mode & 0o170000) === 0o040000 }
  isFile (): boolean { return (this.mode & 0o170000) === 0o100000 }
  isSymbolicLink (): boolean { return (this.mode & 0o170000) === 0o120000 }
}

export interface WalkedComponent {
  readonly path: string
  readonly stats: WalkStat
  /** The access ACL's raw value; null: none; undefined: not read (read it when needed). */
  readonly acl?: Buffer | null
}

export interface WalkedPath {
  /** Root first; names[i] is found[i + 1]. */
  readonly found: WalkedComponent[]
  /** Why names[found.length - 1] is missing, when the walk stopped at a name it could not lstat. */
  readonly stopError?: NodeJS.ErrnoException
  /** The last component's metadata attribute, read when every name was found and it is a file or folder. */
  readonly meta?: Buffer
  /** With readMax and the addon, when the walk reached a regular file: GetObject's read of it in the same job. */
  readonly read?: ObjectRead | NodeJS.ErrnoException
}

export interface WalkOptions {
  /** Read this attribute (the POSIX access ACL) of components whose group bits are not all zero. */
  aclXattr?: string
  /** Read this attribute of the last component. */
  metaXattr?: string
  /** GetObject: also read the file the walk reaches, as the addon's readObject(path, metaXattr, readMax). */
  readMax?: number
}

export function errnoError (errno: number, syscall: string, path: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(-errno)
  const err: NodeJS.ErrnoException = new Error(`${code}: ${syscall} '${path}'`)
  err.code = code
  err.errno = -errno
  err.syscall = syscall
  err.path = path
  return err
}

/** A walk started before the permission check, handed to it (posix-access) and to the read (objects.ts). */
export interface PrefetchedWalk {
  readonly root: string
  /** The names walked, joined by '/'. */
  readonly rel: string
  readonly walk: Promise<WalkedPath>
}

/** The prefetched walk when it is the walk of these names under this root, else undefined. */
export function prefetchedWalk (p: PrefetchedWalk | undefined, root: string, names: readonly string[]): Promise<WalkedPath> | undefined {
  return p !== undefined && p.root === root && p.rel === names.join('/') ? p.walk : undefined
}

/** The path's components as described above. Rejects only when the root cannot be stat'ed. */
export async function walkPath (root: string, names: readonly string[], opts: WalkOptions = {}): Promise<WalkedPath> {
  const native = nativeJobs()?.walkPath
  if (native === undefined) return walkWithNode(root, names, opts)
  const w = await native(root, names.join('/'), opts.aclXattr ?? null, opts.metaXattr ?? null, opts.readMax)
  const found: WalkedComponent[] = []
  let path = root
  let aclAt = 0
  for (let i = 0; i < w.count; i++) {
    if (i > 0) path = join(path, names[i - 1]!)
    const stats = WalkStat.at(w.stats, i)
    const len = w.aclLens[i]!
    let acl: Buffer | null | undefined
    if (len >= 0) {
      acl = w.acls.subarray(aclAt, aclAt + len)
      aclAt += len
    } else if (len === -1) {
      acl = null
    }
    found.push({ path, stats, acl })
  }
  const stopError = w.stopErrno !== 0 ? errnoError(w.stopErrno, 'lstat', join(path, names[w.count - 1] ?? '')) : undefined
  return { found, stopError, meta: w.metaLen >= 0 ? w.meta.subarray(0, w.metaLen) : undefined, read: w.read }
}

async function walkWithNode (root: string, names: readonly string[], opts: WalkOptions): Promise<WalkedPath> {
  const toWalkStat = (s: import('node:fs').BigIntStats): WalkStat => new WalkStat(s.size, s.mtimeNs, s.dev, s.ino, Number(s.uid), Number(s.gid), Number(s.mode))
  const found: WalkedComponent[] = [{ path: root, stats: toWalkStat(await stat(root, { bigint: true })) }]
  let path = root
  for (const name of names) {
    if (!found[found.length - 1]!.stats.isDirectory()) return { found }
    path = join(path, name)
    try {
      found.push({ path, stats: toWalkStat(await lstat(path, { bigint: true })) })
    } catch (err) {
      return { found, stopError: err as NodeJS.ErrnoException }
    }
  }
  // ACLs are left unread (undefined): the permission check reads the few it needs.
  const last = found[found.length - 1]!
  let meta: Buffer | undefined
  if (opts.metaXattr !== undefined && found.length === names.length + 1 && (last.stats.isFile() || last.stats.isDirectory())) {
    meta = await getAttribute(path, opts.metaXattr).catch(() => undefined)
  }
  return { found, meta }
}
