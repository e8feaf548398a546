// Object metadata in the file's user.* xattrs, and the ETag rule for files changed behind the bridge's back.
import * as crypto from 'node:crypto'
import type { BigIntStats } from 'node:fs'
import type { ObjectMeta } from './types.js'
import * as xattr from './xattr.js'

/** MD5 hex of a string: crypto.hash (Node 20.12+, a quarter of createHash's cost, which listings pay per key), else createHash. */
const md5Hex: (s: string) => string = typeof crypto.hash === 'function'
  ? s => crypto.hash('md5', s)
  : s => crypto.createHash('md5').update(s).digest('hex')

export const META_XATTR = 'user.s3bridge.meta'
/** Set on directories the bridge made only to hold a key, so deletes may remove them again when empty. */
export const IMPLICIT_DIR_XATTR = 'user.s3bridge.implicit'

/** What is stored on a file: its metadata, and the content stamp the ETag belongs to. */
export interface StoredMeta extends ObjectMeta {
  etag: string
  partCount?: number
  /** size and mtime (ns) when the ETag was computed; a different stat means the content changed. */
  stampSize: string
  stampMtimeNs: string
}

/** The path to use for xattr calls on an open descriptor: no race with a rename or symlink swap. */
export function fdPath (fd: number): string {
  return `/proc/self/fd/${fd}`
}

export async function readStoredMeta (path: string): Promise<StoredMeta | undefined> {
  let raw: Buffer
  try {
    raw = await xattr.getAttribute(path, META_XATTR)
  } catch {
    return undefined // ENODATA, ENOTSUP: a file written over NFS, or a filesystem without user xattrs
  }
  return parseStoredMeta(raw.toString('utf8'))
}

/** The META_XATTR value as readStoredMeta reads it: undefined unless it is JSON holding a string etag. */
export function parseStoredMeta (text: string): StoredMeta | undefined {
  try {
    const value = JSON.parse(text) as StoredMeta
    return typeof value.etag === 'string' ? value : undefined
  } catch {
    return undefined
  }
}

export async function writeStoredMeta (path: string, meta: StoredMeta): Promise<void> {
  await xattr.setAttribute(path, META_XATTR, JSON.stringify(meta))
}

export async function removeStoredMeta (path: string): Promise<void> {
  await xattr.removeAttribute(path, META_XATTR).catch(() => undefined)
}

export async function markImplicitDir (path: string): Promise<void> {
  await xattr.setAttribute(path, IMPLICIT_DIR_XATTR, '1').catch(() => undefined)
}

export async function isImplicitDir (path: string): Promise<boolean> {
  return xattr.getAttribute(path, IMPLICIT_DIR_XATTR).then(() => true, () => false)
}

export function stampOf (st: Pick<BigIntStats, 'size' | 'mtimeNs'>): { stampSize: string, stampMtimeNs: string } {
  return { stampSize: st.size.toString(), stampMtimeNs: st.mtimeNs.toString() }
}

/**
 * The ETag a client sees. The stored MD5 holds only while size and mtime are those it was computed for;
 * otherwise (written or rewritten over NFS) derive one from inode, size and mtime, shaped like a
 * multipart ETag ("…-1") so clients never mistake it for an MD5 of the content.
 */
export function effectiveETag (st: Pick<BigIntStats, 'size' | 'mtimeNs' | 'dev' | 'ino'>, stored: StoredMeta | undefined): string {
  if (stored && stored.stampSize === st.size.toString() && stored.stampMtimeNs === st.mtimeNs.toString()) {
    return stored.etag
  }
  const digest = md5Hex(`${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`)
  return `${digest}-1`
}

export function isStoredMetaCurrent (st: Pick<BigIntStats, 'size' | 'mtimeNs'>, stored: StoredMeta | undefined): boolean {
  return stored !== undefined && stored.stampSize === st.size.toString() && stored.stampMtimeNs === st.mtimeNs.toString()
}
