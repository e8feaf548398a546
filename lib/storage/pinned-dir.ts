// Folders of a bucket held open while the daemon (root) creates, renames or removes entries in them.
//
// A key's folders can be renamed, or swapped for a symlink, by an NFS user between the permission walk and the
// write, and a path-based rename(2) or unlink(2) by root would then follow the link out of the bucket. So the
// folder is opened one component at a time from the bucket root with O_NOFOLLOW (a symlink or a file on the way
// fails), and the write goes through `/proc/self/fd/N/<name>`: the kernel resolves the descriptor's own folder,
// whatever its path has become. A descriptor is closed only after every path made from it has been used.
import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import type { BigIntStats } from 'node:fs'
import { join } from 'node:path'

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW

export interface PinnedDir {
  /** `/proc/self/fd/N`: join a name to it to act on an entry of this very folder. */
  readonly path: string
  /** The folder's path as it was walked (messages, cache keys), never for file operations. */
  readonly realPath: string
  /** fstat of the held folder, read on first use (most folders of a walk are only passed through). */
  stat (): Promise<BigIntStats>
  close (): Promise<void>
}

function pinned (fh: FileHandle, realPath: string): PinnedDir {
  let stat: Promise<BigIntStats> | undefined
  return {
    path: `/proc/self/fd/${fh.fd}`,
    realPath,
    stat: () => (stat ??= fh.stat({ bigint: true })),
    close: async () => { await fh.close().catch(() => undefined) },
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

/** The folder root/names[0]/…, each step as openChild. */
export async function openBeneath (root: string, names: readonly string[]): Promise<PinnedDir> {
  const chain = await openChain(root, names)
  for (const dir of chain.slice(0, -1)) await dir.close()
  return chain[chain.length - 1] as PinnedDir
}

/**
 * Every folder from the bucket root to root/names…, all held open, root first (for a caller that also acts one
 * level up, as pruning does). The caller closes them all.
 */
export async function openChain (root: string, names: readonly string[]): Promise<PinnedDir[]> {
  const chain = [await openRoot(root)]
  try {
    for (const name of names) chain.push(await openChild(chain[chain.length - 1] as PinnedDir, name))
    return chain
  } catch (err) {
    for (const dir of chain) await dir.close()
    throw err
  }
}

/** True for the errors openChild gives when something other than a folder is in the way. */
export function isNotAFolder (err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === 'ELOOP' || code === 'ENOTDIR'
}
