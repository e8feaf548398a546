// Folders of a bucket held open while the daemon (root) creates, renames or removes entries in them.
//
// A key's folders can be renamed, or swapped for a symlink, by an NFS user between the permission walk and the
// write, and a path-based rename(2) or unlink(2) by root would then follow the link out of the bucket. So the
// folder is opened one component at a time from the bucket root with O_NOFOLLOW (a symlink or a file on the way
// fails), and the write goes through `/proc/self/fd/N/<name>`: the kernel resolves the descriptor's own folder,
// whatever its path has become. A descriptor is closed only after every path made from it has been used.
//
// With the addon the whole chain is one thread-pool job (native/object_path.c openFolders), which also reads
// each folder's fstat and the attributes the caller will ask for (access ACL, default ACL, the bridge's marks),
// so the checks that follow cost no further hand-offs; closing a folder's descriptor is a close(2) on the event
// loop (no data to flush, unlike a file's).
import { closeSync, constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { nativeJobs, type OpenedFolders } from './native.js'
import { errnoError, WalkStat } from './path-walk.js'
import { getAttribute } from './xattr.js'

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW

export interface PinnedDir {
  /** `/proc/self/fd/N`: join a name to it to act on an entry of this very folder. */
  readonly path: string
  /** The folder's path as it was walked (messages, cache keys), never for file operations. */
  readonly realPath: string
  /** fstat of the held folder (read when opened with the addon, else on first use). */
  stat (): Promise<WalkStat>
  /**
   * An extended attribute of the held folder: its value, or null when it has none (or the filesystem has no
   * such attributes). Attributes read when the folder was opened (FolderReads) are answered from memory.
   */
  xattr (name: string): Promise<Buffer | null>
  close (): Promise<void>
}

/** Attributes to read while opening (one job with the addon): the callers' next questions. */
export interface FolderReads {
  /** Of every folder whose group bits are not all zero (the access ACL: only then does the kernel read it). */
  acl?: string
  /** Of every folder below the root. */
  every?: string
  /** Of the last folder opened. */
  last?: string
}

async function readXattr (path: string, name: string): Promise<Buffer | null> {
  try {
    return await getAttribute(path, name)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENODATA' || code === 'EOPNOTSUPP' || code === 'ENOTSUP') return null
    throw err
  }
}

function statOf (st: { size: bigint, mtimeNs: bigint, dev: bigint, ino: bigint, uid: bigint, gid: bigint, mode: bigint }): WalkStat {
  return new WalkStat(st.size, st.mtimeNs, st.dev, st.ino, Number(st.uid), Number(st.gid), Number(st.mode))
}

function pinned (fh: FileHandle, realPath: string): PinnedDir {
  let stat: Promise<WalkStat> | undefined
  const path = `/proc/self/fd/${fh.fd}`
  return {
    path,
    realPath,
    stat: () => (stat ??= fh.stat({ bigint: true }).then(statOf)),
    xattr: name => readXattr(path, name),
    close: async () => { await fh.close().catch(() => undefined) },
  }
}

/** A folder the addon opened: its descriptor, fstat and the attributes read with it. */
function pinnedFd (fd: number, realPath: string, st: WalkStat, known: Map<string, Buffer | null>): PinnedDir {
  const path = `/proc/self/fd/${fd}`
  let open = true
  return {
    path,
    realPath,
    stat: async () => st,
    xattr: async name => known.has(name) ? known.get(name) as Buffer | null : await readXattr(path, name),
    close: async () => {
      // Once only: a second close could close a descriptor number another request has been given since.
      if (!open) return
      open = false
      try { closeSync(fd) } catch { /* EBADF/EIO on a folder: nothing to do */ }
    },
  }
}

/** The bucket root (a directory the admin configured; only its last component is checked for a link). */
export async function openRoot (root: string): Promise<PinnedDir> {
  return pinned(await open(root, DIR_FLAGS), root)
}

/** The sub-folder `name` of dir, never through a symlink (ELOOP) or a file (ENOTDIR). dir stays open. */
export async function openChild (dir: PinnedDir, name: string): Promise<PinnedDir> {
  return pinned(await open(join(dir.path, name), DIR_FLAGS), join(dir.realPath, name))
}

/** The root and as many of names as could be opened, root first; `stop` says why the next one could not. */
export interface OpenedPrefix {
  chain: PinnedDir[]
  stop?: NodeJS.ErrnoException
}

/** Attribute i of a batch: its value (a view of the batch's buffer), null for none, undefined when not read. */
function attrValues (lens: Int32Array, values: Buffer): Array<Buffer | null | undefined> {
  const out: Array<Buffer | null | undefined> = []
  let at = 0
  for (const len of lens) {
    if (len >= 0) { out.push(values.subarray(at, at + len)); at += len } else out.push(len === -1 ? null : undefined)
  }
  return out
}

function fromAddon (root: string, names: readonly string[], r: OpenedFolders, reads: FolderReads): OpenedPrefix {
  // The root opened but could not be fstat'ed (nothing is held): fail as the fallback's open would.
  if (r.count === 0) throw errnoError(r.stopErrno === 0 ? 5 /* EIO */ : r.stopErrno, 'fstat', root)
  const acls = attrValues(r.aclLens, r.acls)
  const every = attrValues(r.everyLens, r.every)
  const chain: PinnedDir[] = []
  let realPath = root
  for (let i = 0; i < r.count; i++) {
    if (i > 0) realPath = join(realPath, names[i - 1] as string)
    const known = new Map<string, Buffer | null>()
    const acl = acls[i]
    if (reads.acl !== undefined && acl !== undefined) known.set(reads.acl, acl)
    const mark = every[i]
    if (reads.every !== undefined && mark !== undefined) known.set(reads.every, mark)
    if (reads.last !== undefined && i === r.count - 1 && r.lastLen >= -1) known.set(reads.last, r.lastLen === -1 ? null : r.last)
    chain.push(pinnedFd(r.fds[i] as number, realPath, WalkStat.at(r.stats, i), known))
  }
  if (r.stopErrno === 0) {
    if (r.count === names.length + 1) return { chain }
    // Every name was to be opened or to stop the walk: a count that disagrees is a bug, never a folder to use.
    for (const dir of chain) void dir.close()
    throw errnoError(22 /* EINVAL */, 'openat', join(root, ...names))
  }
  return { chain, stop: errnoError(r.stopErrno, 'open', join(realPath, names[r.count - 1] ?? '')) }
}

/**
 * Opens root/names[0]/names[1]/… one folder at a time without following links, as far as it can: what is in the
 * way (ENOENT, ELOOP for a symlink, ENOTDIR for a file) is returned as `stop`, not thrown. Rejects only when the
 * root itself cannot be opened. The caller closes every folder of the chain.
 */
export async function openPrefix (root: string, names: readonly string[], reads: FolderReads = {}): Promise<OpenedPrefix> {
  const native = nativeJobs()?.openFolders
  // The addon takes the names joined by '/', as C strings: only names that survive that go to it.
  if (native !== undefined && names.every(n => n !== '' && n !== '.' && n !== '..' && !n.includes('/') && !n.includes('\0'))) {
    return fromAddon(root, names, await native(root, names.join('/'), reads.acl ?? null, reads.every ?? null, reads.last ?? null), reads)
  }
  const chain = [await openRoot(root)]
  for (const name of names) {
    try {
      chain.push(await openChild(chain[chain.length - 1] as PinnedDir, name))
    } catch (err) {
      return { chain, stop: err as NodeJS.ErrnoException }
    }
  }
  return { chain }
}

/**
 * Every folder from the bucket root to root/names…, all held open, root first (for a caller that also acts one
 * level up, as pruning does). Rejects as openChild does when one cannot be opened. The caller closes them all.
 */
export async function openChain (root: string, names: readonly string[], reads: FolderReads = {}): Promise<PinnedDir[]> {
  const { chain, stop } = await openPrefix(root, names, reads)
  if (stop === undefined) return chain
  await closeAll(chain)
  throw stop
}

/** The folder root/names[0]/…, each step as openChild. */
export async function openBeneath (root: string, names: readonly string[]): Promise<PinnedDir> {
  const chain = await openChain(root, names)
  await closeAll(chain.slice(0, -1))
  return chain[chain.length - 1] as PinnedDir
}

export async function closeAll (dirs: readonly PinnedDir[]): Promise<void> {
  for (const dir of dirs) await dir.close()
}

/** True for the errors openChild gives when something other than a folder is in the way. */
export function isNotAFolder (err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === 'ELOOP' || code === 'ENOTDIR'
}
