// Keys to filesystem paths: the only place a key becomes a path, and the rules that keep it inside its bucket.
import { randomBytes } from 'node:crypto'
import { closeSync, constants, fchmodSync, fstatSync, mkdirSync, openSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { S3Error } from '../errors/s3-error.js'
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
 * that an NFS user may own, who could rename it away and put a symlink to anywhere in its place between a check
 * and a use; the daemon runs as root. So the folder is opened once without following links and checked (a
 * directory of the daemon's own user that nobody else may write), and every file operation below it resolves
 * through that descriptor: whatever later happens to the name, temp files, uploads and sweeps stay inside the
 * folder the daemon made (which, being 0700 and root's, nobody else can change).
 *
 * Descriptors are never closed, so a path computed from one can never come to name something else through a
 * reused descriptor number; a bucket re-pinned after its folder vanished keeps one stale descriptor.
 */
export function stagingDir (root: string): string {
  let fd = pinned.get(root)
  if (fd === undefined) {
    fd = openStaging(root)
    pinned.set(root, fd)
  }
  return `/proc/self/fd/${fd}`
}

/** Drops the verified folder of a bucket (gone, or deleted with its bucket): the next use opens it again. */
export function forgetStaging (root: string): void {
  pinned.delete(root)
}

function openStaging (root: string): number {
  const path = stagingRealPath(root)
  for (let attempt = 0; attempt < 4; attempt++) {
    let fd: number
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT') {
        try {
          mkdirSync(path, 0o700)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
        }
        continue
      }
      if (code !== 'ELOOP' && code !== 'ENOTDIR') throw err
      setAside(root, path) // a symlink or a file where the folder should be
      continue
    }
    const st = fstatSync(fd)
    if (st.isDirectory() && st.uid === process.geteuid?.()) {
      if ((st.mode & 0o077) !== 0) fchmodSync(fd, 0o700) // ours, with a looser mode than it was made with
      return fd
    }
    closeSync(fd) // not handed out yet, so closing cannot orphan a path
    setAside(root, path) // a folder someone else made: not ours to trust
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
