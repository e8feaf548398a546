// Keys to filesystem paths: the only place a key becomes a path, and the rules that keep it inside its bucket.
import { randomBytes } from 'node:crypto'
import { closeSync, constants, fchmodSync, fstatSync, mkdirSync, mkdtempSync, openSync, renameSync, rmdirSync } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { S3Error } from '../errors/s3-error.js'
import { nativeAddon } from './native.js'
import type { ObjectKey } from './types.js'

/** Hidden folder in each bucket root for staging uploads; never listed and never addressable as a key. */
export const STAGING_DIR = '.s3bridge'
export const MAX_KEY_BYTES = 1024

/**
 * Accepts a raw (decoded) key only when it maps to exactly one file below the bucket root:
 * no NUL, no '.', '..' or empty segments, not absolute, not into the staging folder.
 */
export function parseObjectKey (raw: string): ObjectKey {
  if (raw.length === 0) throw new S3Error('InvalidArgument', {}, { message: 'Object key must not be empty.' })
  if (Buffer.byteLength(raw) > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError', { Size: Buffer.byteLength(raw), MaxSizeAllowed: MAX_KEY_BYTES })
  if (raw.includes('\0')) throw new S3Error('InvalidArgument', {}, { message: 'Object key contains a NUL character.' })
  if (raw.startsWith('/')) throw new S3Error('InvalidArgument', {}, { message: 'Object key must not start with "/" on this bridge (it maps to a file path).' })
  const segments = raw.endsWith('/') ? raw.slice(0, -1).split('/') : raw.split('/')
  for (const seg of segments) {
    if (seg === '' || seg === '.' || seg === '..') {
      throw new S3Error('InvalidArgument', {}, { message: 'Object key contains a path segment that cannot be stored as a file (".", ".." or an empty segment).' })
    }
  }
  if (segments[0] === STAGING_DIR) throw new S3Error('InvalidArgument', {}, { message: `Keys under "${STAGING_DIR}/" are reserved by the bridge.` })
  return raw as ObjectKey
}

/** The longest file or folder name most filesystems hold (NAME_MAX). */
export const MAX_SEGMENT_BYTES = 255

/**
 * Before anything is created for a new key: a segment longer than a file name can be would fail only at its
 * own mkdir or rename, after the folders above it were made. (Reads of such a key simply find nothing.)
 */
export function checkStorableKey (key: ObjectKey): void {
  for (const seg of keySegments(key)) {
    if (Buffer.byteLength(seg) > MAX_SEGMENT_BYTES) {
      throw new S3Error('KeyTooLongError', {}, { message: `A segment of the key between slashes is longer than ${MAX_SEGMENT_BYTES} bytes, the most a file or folder name can hold.` })
    }
  }
}

export function isDirectoryKey (key: ObjectKey): boolean {
  return key.endsWith('/')
}

/** Path segments of a key, without the trailing '/' of a directory marker. */
export function keySegments (key: ObjectKey): string[] {
  return (isDirectoryKey(key) ? key.slice(0, -1) : key).split('/')
}

export function keyToPath (root: string, key: ObjectKey): string {
  return join(root, ...keySegments(key))
}

/**
 * The staging folder's own path, for messages and for matching /proc/PID/fd links; never for file operations
 * (use stagingDir).
 */
export function stagingRealPath (root: string): string {
  return join(root, STAGING_DIR)
}

/** Verified staging folders by bucket root: descriptors held for the daemon's lifetime (see stagingDir). */
const pinned = new Map<string, number>()

/**
 * The staging folder as a path through a descriptor of it, `/proc/self/fd/N`. The folder sits in a bucket root
 * that an NFS user may own, who could rename it away and put a symlink, or another folder, in its place between
 * a check and a use; the daemon runs as root. So the folder is opened once without following links and checked
 * (a directory of the daemon's own user with mode exactly 0700), and every file
 * operation below it resolves through that descriptor: whatever later happens to the name, temp files, uploads
 * and sweeps stay inside the folder the daemon made, which nobody else can change.
 *
 * Descriptors are never closed while a request may still use a path made from one, so such a path can never come
 * to name something else through a reused descriptor number (see forgetStaging).
 */
export function stagingDir (root: string): string {
  let fd = pinned.get(root)
  if (fd === undefined) {
    if (unserved.has(root)) throw new S3Error('NoSuchBucket')
    fd = openStaging(root, true) as number
    pinned.set(root, fd)
  }
  return `/proc/self/fd/${fd}`
}

/** Requests in flight per bucket root (useRoot), and roots no bucket serves any more (retireRoot). */
const users = new Map<string, number>()
const unserved = new Set<string>()
/** Staging descriptors of retired roots, kept for the requests that were running when their root was retired. */
const detached = new Map<string, number[]>()

/**
 * Counts a request on a bucket's root until the returned release() is called (the HTTP layer holds one for each
 * request's bucket). The staging folder of a root retired meanwhile is let go when its last request is done:
 * uploads in flight finish as they began, then the filesystem is released (retireRoot).
 */
export function useRoot (root: string): () => void {
  users.set(root, (users.get(root) ?? 0) + 1)
  let isReleased = false
  return () => {
    if (isReleased) return
    isReleased = true
    const left = (users.get(root) ?? 1) - 1
    if (left > 0) {
      users.set(root, left)
      return
    }
    users.delete(root)
    for (const fd of detached.get(root) ?? []) retireDescriptor(fd)
    detached.delete(root)
  }
}

/** How many requests are running on a bucket root in this process (useRoot). */
export function requestsOnRoot (root: string): number {
  return users.get(root) ?? 0
}

/**
 * No bucket serves `root` any more (unmapped by the admin, or deleted). Its staging folder is detached at once (the
 * next use, if a bucket serves the root again, opens it afresh; until then nothing opens it: a late request gets
 * NoSuchBucket, a sweep no folder) and let go once the requests running on the root are done, so the admin can
 * unmount the export.
 */
export function retireRoot (root: string): void {
  unserved.add(root)
  const fd = pinned.get(root)
  if (fd === undefined) return
  pinned.delete(root)
  if ((users.get(root) ?? 0) === 0) retireDescriptor(fd)
  else detached.set(root, [...(detached.get(root) ?? []), fd])
}

/** A bucket serves `root` (again). */
export function serveRoot (root: string): void {
  unserved.delete(root)
}

/**
 * stagingDir for readers (sweeps, metrics, upload listings): undefined when the bucket has no trusted staging
 * folder (none yet, the bucket directory missing or unmounted, or something planted there), and nothing is
 * made or moved.
 */
export function existingStagingDir (root: string): string | undefined {
  const fd = pinned.get(root)
  if (fd !== undefined) return `/proc/self/fd/${fd}`
  if (unserved.has(root)) return undefined
  let opened: number | undefined
  try {
    opened = openStaging(root, false)
  } catch {
    return undefined
  }
  if (opened === undefined) return undefined
  pinned.set(root, opened)
  return `/proc/self/fd/${opened}`
}

/** Descriptors of deleted buckets' staging folders, closed once no request can still be using them. */
const retired: Array<{ fd: number, at: number }> = []
const RETIRE_AFTER_MS = 6 * 3600_000

/**
 * Drops the verified folder of a bucket (gone, deleted with its bucket, or unmapped by the admin): the next use
 * opens it again. Its descriptor number stays taken for hours (a request that began before may still hold a path
 * made from it, which must never come to name a folder opened later), so creating and deleting buckets in a loop
 * cannot exhaust descriptors. With the addon the number is pointed at a removed folder at once (see deadFolder):
 * the bucket's filesystem is released, so its export can be unmounted, and a late path fails with ENOENT.
 */
export function forgetStaging (root: string, now = Date.now()): void {
  const fd = pinned.get(root)
  pinned.delete(root)
  if (fd !== undefined) retireDescriptor(fd, now)
}

/**
 * forgetStaging only while the root's folder is still the one `used` (a stagingDir path) names: of requests that
 * failed on a removed folder at once, the first opens a new one and the others must not throw that away.
 */
export function forgetStagingIfStill (root: string, used: string): void {
  const fd = pinned.get(root)
  if (fd !== undefined && `/proc/self/fd/${fd}` === used) forgetStaging(root)
}

/** Lets go of a staging descriptor: its folder at once (with the addon), its number hours later. */
function retireDescriptor (fd: number, now = Date.now()): void {
  while (retired.length > 0 && now - (retired[0] as { at: number }).at >= RETIRE_AFTER_MS) {
    try { closeSync((retired.shift() as { fd: number }).fd) } catch { /* already closed */ }
  }
  const replace = nativeAddon()?.replaceDescriptor
  const dead = replace === undefined ? undefined : deadFolder()
  if (replace !== undefined && dead !== undefined) {
    try { replace(fd, dead) } catch { /* keeps its folder until it is closed below */ }
  }
  retired.push({ fd, at: now })
}

let dead: number | undefined

/**
 * A descriptor of a folder that has been removed (made in the system's temp folder, opened, then rmdir'ed):
 * nothing can be created in it, and it holds no bucket's filesystem. Undefined when it cannot be made.
 */
function deadFolder (): number | undefined {
  if (dead !== undefined) return dead
  try {
    const dir = mkdtempSync(join(tmpdir(), 's3bridge-retired-'))
    const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
    try {
      rmdirSync(dir)
    } catch {
      closeSync(fd)
      return undefined
    }
    dead = fd
  } catch { /* no temp folder: retired descriptors keep their folders until they are closed */ }
  return dead
}

/** The mount id of an open descriptor (/proc/self/fdinfo), undefined when it cannot be read. */
async function mountIdOf (fd: number): Promise<string | undefined> {
  const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => undefined)
  return info === undefined ? undefined : /^mnt_id:\s*(\d+)/m.exec(info)?.[1]
}

/**
 * forgetStaging when the held staging folder is on another mount than the bucket directory is now: its filesystem
 * was unmounted (lazily: the descriptor keeps it alive) and mounted again, and a temp file there could not be
 * renamed into the bucket (EXDEV, even for a bind mount of the same filesystem). A folder renamed away and back
 * stays on its mount and is kept, so nobody can make the daemon retire descriptors by renaming.
 */
export async function forgetStagingOffMount (root: string): Promise<void> {
  const fd = pinned.get(root)
  if (fd === undefined) return
  const dir = await open(root, constants.O_RDONLY | constants.O_DIRECTORY).catch(() => undefined)
  if (dir === undefined) return
  try {
    const [held, now] = await Promise.all([mountIdOf(fd), mountIdOf(dir.fd)])
    if (held !== undefined && now !== undefined && held !== now && pinned.get(root) === fd) forgetStaging(root)
  } finally {
    await dir.close()
  }
}

function openStaging (root: string, create: boolean): number | undefined {
  const path = stagingRealPath(root)
  for (let attempt = 0; attempt < 4; attempt++) {
    let fd: number
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (!create) return undefined
      if (code === 'ENOENT') {
        try {
          mkdirSync(path, 0o700)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
        }
        continue
      } else {
        if (code !== 'ELOOP' && code !== 'ENOTDIR') throw err
        setAside(root, path) // a symlink or a file where the folder should be
        continue
      }
    }
    const st = fstatSync(fd)
    // A directory of the daemon's own user with mode exactly 0700, as the daemon makes it: nobody else can have
    // put anything inside, whatever it was renamed from (a looser mode is never repaired: a root-owned 1777 drop
    // box renamed into place must not be adopted).
    if (st.isDirectory() && st.uid === process.geteuid?.() && (st.mode & 0o5077) === 0 && (st.mode & 0o7777) !== 0o700) {
      // Ours, as private as 0700 but not it: made in a setgid bucket folder (mkdir(2) adds S_ISGID there), or under
      // a default ACL that leaves its owner no x (drw-------+; the folder was then never usable and set aside at
      // every write, sweep 26). Nobody but the daemon's user can have written inside; set right through the descriptor.
      fchmodSync(fd, 0o700)
      st.mode = (st.mode & ~0o7777) | 0o700
    }
    if (st.isDirectory() && st.uid === process.geteuid?.() && (st.mode & 0o7777) === 0o700) return fd
    closeSync(fd) // not handed out yet, so closing cannot orphan a path
    if (!create) return undefined
    setAside(root, path) // a folder the daemon did not make: not to be trusted
  }
  throw new Error(`staging folder ${path} keeps being replaced; refusing to use it`)
}

/** Moves an untrusted entry out of the staging folder's name (rename never follows the entry itself). */
function setAside (root: string, path: string): void {
  try {
    renameSync(path, join(root, `${STAGING_DIR}.untrusted-${Date.now()}-${randomBytes(4).toString('hex')}`))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}
