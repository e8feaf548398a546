// Object metadata in the file's user.* xattrs, and the ETag rule for files changed behind the bridge's back.
import * as crypto from 'node:crypto'
import type { BigIntStats } from 'node:fs'
import { statfs } from 'node:fs/promises'
import type { ObjectMeta } from './types.js'
import * as xattr from './xattr.js'
import { S3Error } from '../errors/s3-error.js'

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

/**
 * The META_XATTR value as readStoredMeta reads it: undefined unless it is JSON with the ETag and stamps the bridge
 * writes. Any NFS user who can write a file can also set its user.* attributes, so nothing here is trusted beyond
 * its shape: an ETag that is not hex (a control character in it broke the XML of every listing page), stamps that
 * are not integers, malformed checksums, tags or part runs make the whole attribute count as absent (the file is
 * then served like one written over NFS); a user-metadata name that is no header token, or a header field that is
 * not a string, is dropped alone (values are sent encoded when they are not printable ASCII: mime-words.ts).
 */
export function parseStoredMeta (text: string): StoredMeta | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  return storedMetaOf(value)
}

const ETAG = /^[0-9a-f]{32}(-[1-9][0-9]{0,4})?$/
const INTEGER = /^-?[0-9]{1,20}$/
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/
const CHECKSUM = /^[A-Za-z0-9+/]+={0,2}(-[1-9][0-9]{0,4})?$/
const ALGORITHM = /^[a-z0-9]{1,16}$/
const HEADER_FIELDS = ['contentType', 'contentEncoding', 'contentDisposition', 'contentLanguage', 'cacheControl', 'expires', 'websiteRedirectLocation'] as const

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function storedMetaOf (v: unknown): StoredMeta | undefined {
  if (!isPlainObject(v)) return undefined
  if (typeof v.etag !== 'string' || !ETAG.test(v.etag)) return undefined
  if (typeof v.stampSize !== 'string' || !INTEGER.test(v.stampSize)) return undefined
  if (typeof v.stampMtimeNs !== 'string' || !INTEGER.test(v.stampMtimeNs)) return undefined
  if (v.partCount !== undefined && !(Number.isInteger(v.partCount) && (v.partCount as number) >= 1 && (v.partCount as number) <= 10_000)) return undefined
  if (v.checksums !== undefined && !(isPlainObject(v.checksums) && Object.entries(v.checksums).every(([k, x]) => ALGORITHM.test(k) && typeof x === 'string' && CHECKSUM.test(x)))) return undefined
  if (v.tags !== undefined && !(Array.isArray(v.tags) && v.tags.every(t => isPlainObject(t) && typeof t.key === 'string' && typeof t.value === 'string'))) return undefined
  if (v.parts !== undefined && !(Array.isArray(v.parts) && v.parts.every(r => Array.isArray(r) && r.length === 2 && r.every(n => Number.isSafeInteger(n) && n >= 0)))) return undefined
  const meta = { ...v } as unknown as StoredMeta & Record<string, unknown>
  // Optional extras (the parts' checksums of a multipart object): a malformed one is dropped, not the metadata.
  if (meta.partChecksums !== undefined && !(Array.isArray(meta.partChecksums) && meta.partChecksums.length <= 10_000 && meta.partChecksums.every(x => typeof x === 'string' && CHECKSUM.test(x)))) delete meta.partChecksums
  meta.user = isPlainObject(v.user) ? Object.fromEntries(Object.entries(v.user).filter(([k, x]) => HEADER_NAME.test(k) && typeof x === 'string')) as Record<string, string> : {}
  for (const f of HEADER_FIELDS) if (meta[f] !== undefined && typeof meta[f] !== 'string') delete meta[f]
  return meta
}

export async function writeStoredMeta (path: string, meta: StoredMeta, opts: { createOnly?: boolean } = {}): Promise<void> {
  try {
    if (opts.createOnly === true) await xattr.createAttribute(path, META_XATTR, JSON.stringify(meta))
    else await xattr.setAttribute(path, META_XATTR, JSON.stringify(meta))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new S3Error('PreconditionFailed', { Condition: 'If-None-Match' })
    if (opts.createOnly === true && (err as NodeJS.ErrnoException).code === 'ENOTSUP') {
      throw new S3Error('NotImplemented', {}, { message: 'Conditional writes (If-None-Match) of folder markers need the bridge\'s native addon, which is not built on this host.' })
    }
    throw await metaWriteError(err, path)
  }
}

/**
 * What a refused metadata write means. ENOSPC from setxattr is either a full disk or a full attribute block (ext4
 * keeps all of a file's extended attributes in one 4 KiB block: ten maximal tags do not fit beside the metadata).
 * With free blocks left it is the latter, re-coded E2BIG (too large for this filesystem, as XFS says it), which
 * clients get as 400 MetadataTooLarge rather than 507, read as a full disk. `path` is any path on the filesystem.
 */
export async function metaWriteError (err: unknown, path: string): Promise<unknown> {
  const e = err as NodeJS.ErrnoException | undefined
  if (e?.code !== 'ENOSPC' && e?.code !== 'E2BIG') return err
  if (e.code === 'ENOSPC') {
    const fs = await statfs(path).catch(() => undefined)
    // The disk is full (as root, who may use the reserved blocks) when what is free is no more than what ext4
    // keeps back for itself: min(2% of the blocks, 4096 clusters) for metadata, plus the per-CPU slack of its
    // free-block counter (here 2048 blocks, generous). A full ext4 still showed up to 16 MiB free and the answer
    // was "metadata too large" (sweep 24c F1); a too-large value on a nearly full disk is now 507, the lesser harm.
    const kept = Math.min(Math.ceil((fs?.blocks ?? 0) * 0.02), 4096) + 2048
    if (fs === undefined || fs.bfree <= kept) return err
  }
  const tooLarge: NodeJS.ErrnoException = new Error("E2BIG: the file's extended attributes cannot hold the metadata, setxattr")
  tooLarge.code = 'E2BIG'
  tooLarge.syscall = 'setxattr'
  tooLarge.cause = err
  return tooLarge
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

const INT64_MAX = 2n ** 63n - 1n
const INT64_MIN = -(2n ** 63n)
const NS_PER_S = 1_000_000_000n
/** Whole seconds from which native/common.h s3b_time_ns clamps (it compares seconds, not nanoseconds). */
const CLAMP_FROM_S = INT64_MAX / NS_PER_S

/**
 * An mtime in nanoseconds as the addon reports it: clamped to int64 (April 2262 onwards is its last instant,
 * native/common.h s3b_time_ns). Node's own stat is exact there, and the ETag derived from the mtime must not
 * depend on which of the two read the file.
 */
export function mtimeNsOf (st: Pick<BigIntStats, 'mtimeNs'>): bigint {
  const ns = st.mtimeNs
  const floorS = ns / NS_PER_S - (ns % NS_PER_S < 0n ? 1n : 0n) // tv_sec of the timespec
  return floorS >= CLAMP_FROM_S ? INT64_MAX : floorS <= -CLAMP_FROM_S ? INT64_MIN : ns
}

export function stampOf (st: Pick<BigIntStats, 'size' | 'mtimeNs'>): { stampSize: string, stampMtimeNs: string } {
  return { stampSize: st.size.toString(), stampMtimeNs: mtimeNsOf(st).toString() }
}

/**
 * The ETag a client sees. The stored MD5 holds only while size and mtime are those it was computed for;
 * otherwise (written or rewritten over NFS) derive one from inode, size and mtime, shaped like a
 * multipart ETag ("…-1") so clients never mistake it for an MD5 of the content.
 */
export function effectiveETag (st: Pick<BigIntStats, 'size' | 'mtimeNs' | 'ino'>, stored: StoredMeta | undefined): string {
  if (isStoredMetaCurrent(st, stored)) return (stored as StoredMeta).etag
  // Not the device number: it changes across reboots and remounts (NFS, loop and dm devices), and every file
  // written over NFS would then look changed to sync tools and If-Match.
  const digest = md5Hex(`${st.ino}:${st.size}:${mtimeNsOf(st)}`)
  return `${digest}-1`
}

export function isStoredMetaCurrent (st: Pick<BigIntStats, 'size' | 'mtimeNs'>, stored: StoredMeta | undefined): boolean {
  return stored !== undefined && stored.stampSize === st.size.toString() && stored.stampMtimeNs === mtimeNsOf(st).toString()
}
