// Keys to filesystem paths: the only place a key becomes a path, and the rules that keep it inside its bucket.
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

export function stagingDir (root: string): string {
  return join(root, STAGING_DIR)
}
