// Multipart uploads on disk: each upload is a folder in the bucket's staging area, so any daemon can serve it.
import { createHash, randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { lstat, mkdir, open, readdir, readFile, rename, rm, unlink, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { type Readable } from 'node:stream'
import { checksumTap, createHasher } from '../auth/checksums.js'
import { S3Error, s3ErrorFromErrno } from '../errors/s3-error.js'
import { inStaging, type BucketRef } from './objects.js'
import { checkStorableKey, existingStagingDir, stagingDir } from './paths.js'
import { fdPath, writeStoredMeta, type StoredMeta } from './xattrs.js'
import type { ObjectKey, ObjectMeta } from './types.js'
import { writeHashed } from './hashed-write.js'
import { lockHolderState } from './complete-lock.js'
import * as xattr from './xattr.js'


export const MIN_PART_NUMBER = 1
export const MAX_PART_NUMBER = 10_000
export const MAX_PART_SIZE_BYTES = 5 * 1024 ** 3
export const MIN_PART_SIZE_BYTES = 5 * 1024 ** 2
const PART_XATTR = 'user.s3bridge.part'
const UPLOAD_FILE = 'upload.json'
/**
 * 12 hex digits of creation time (ms), then 24 random bytes as base64url: unguessable, safe as a file name
 * (no '.', no '/'), and sorting ids sorts a key's uploads by initiation, as ListMultipartUploads needs.
 */
const UPLOAD_ID = /^[0-9a-f]{12}[A-Za-z0-9_-]{32}$/
const PART_FILE = /^part-(\d{5})$/

/** Who started an upload: the bridge user (for Initiator/Owner) and the identity the object will belong to. */
export interface UploadInitiator { name: string, uid: number, gid: number }

/** What upload.json holds. */
export interface UploadRecord {
  uploadId: string
  key: ObjectKey
  initiated: string
  initiator: UploadInitiator
  meta: ObjectMeta
  /** x-amz-acl / x-amz-grant-* sent with CreateMultipartUpload, applied to the object at Complete. */
  aclHeaders?: Record<string, string>
  /** x-amz-checksum-algorithm of CreateMultipartUpload: every part keeps one, and so does the object. */
  checksumAlgorithm?: UploadChecksumAlgorithm
  /** How the object's checksum is made: absent for COMPOSITE (a checksum of the part checksums, "-N"). */
  checksumType?: 'FULL_OBJECT'
}

/** x-amz-checksum-algorithm and x-amz-checksum-type of CreateMultipartUpload. */
export interface UploadChecksum { algorithm: UploadChecksumAlgorithm, type: 'COMPOSITE' | 'FULL_OBJECT' }

/**
 * Algorithms a multipart upload can keep as a COMPOSITE checksum: the checksum of the parts' binary checksums,
 * then "-N" (S3 user guide, "Checking object integrity", multipart uploads). The CRCs can instead be FULL_OBJECT
 * (CRC64NVME only that way): the CRC of the whole object, combined from the parts' CRCs (crc-combine.ts).
 */
export const COMPOSITE_ALGORITHMS = ['crc32', 'crc32c', 'sha1', 'sha256'] as const
export type CompositeAlgorithm = typeof COMPOSITE_ALGORITHMS[number]
export type UploadChecksumAlgorithm = CompositeAlgorithm | 'crc64nvme'

export function isCompositeAlgorithm (v: string): v is CompositeAlgorithm {
  return (COMPOSITE_ALGORITHMS as readonly string[]).includes(v)
}

/** A stored checksum that is a COMPOSITE one ("...-N"), not one over the whole body. */
export function isCompositeChecksum (value: string): boolean {
  return /-\d+$/.test(value)
}

/** The COMPOSITE checksum of parts whose base64 checksums are given, in part order. */
export async function compositeChecksum (algorithm: CompositeAlgorithm, partChecksums: string[]): Promise<string> {
  const hasher = createHasher(algorithm)
  for (const c of partChecksums) hasher.update(Buffer.from(c, 'base64'))
  return `${await hasher.digestBase64()}-${partChecksums.length}`
}

export interface PartRecord {
  partNumber: number
  etag: string
  size: number
  lastModified: Date
  /** Base64 checksum under the upload's checksumAlgorithm, when it has one. */
  checksum?: string
}

/** Part sizes of a multipart object, run-length encoded ([size, count] pairs) so they fit in one xattr. */
export type PartSizeRuns = Array<[number, number]>

/** StoredMeta of an object published by CompleteMultipartUpload. */
export interface MultipartStoredMeta extends StoredMeta {
  parts?: PartSizeRuns
  /** Each part's checksum under the upload's algorithm, in part order (GetObjectAttributes lists them). */
  partChecksums?: string[]
}

export function uploadsDir (root: string): string {
  return join(stagingDir(root), 'uploads')
}

/** uploadsDir for readers (listings, sweeps, metrics): undefined when the bucket has no trusted staging folder. */
export function existingUploadsDir (root: string): string | undefined {
  const staging = existingStagingDir(root)
  return staging === undefined ? undefined : join(staging, 'uploads')
}

/** Throws NoSuchUpload for anything that is not an id we could have made: it never reaches the filesystem. */
export function parseUploadId (raw: string | null | undefined): string {
  if (typeof raw !== 'string' || !UPLOAD_ID.test(raw)) throw new S3Error('NoSuchUpload', { UploadId: raw ?? '' })
  return raw
}

export function newUploadId (now: Date): string {
  return now.getTime().toString(16).padStart(12, '0') + randomBytes(24).toString('base64url')
}

export function isUploadId (name: string): boolean {
  return UPLOAD_ID.test(name)
}

export function parsePartNumber (raw: string | null | undefined): number {
  const n = raw !== null && raw !== undefined && /^\d{1,5}$/.test(raw) ? Number(raw) : NaN
  if (!(n >= MIN_PART_NUMBER && n <= MAX_PART_NUMBER)) {
    throw new S3Error('InvalidArgument', { ArgumentName: 'partNumber', ArgumentValue: raw ?? '' }, { message: 'Part number must be an integer between 1 and 10000, inclusive' })
  }
  return n
}

export function partFileName (partNumber: number): string {
  return `part-${String(partNumber).padStart(5, '0')}`
}

export function uploadPath (root: string, uploadId: string): string {
  return join(uploadsDir(root), uploadId)
}

function noSuchUpload (uploadId: string): S3Error {
  return new S3Error('NoSuchUpload', { UploadId: uploadId })
}

/** Reads upload.json from an upload folder; undefined when the folder or file is gone. */
export async function readUploadRecord (dir: string): Promise<UploadRecord | undefined> {
  let text: string
  try {
    text = await readFile(join(dir, UPLOAD_FILE), 'utf8')
  } catch {
    return undefined
  }
  try {
    const v = JSON.parse(text) as UploadRecord
    return typeof v.key === 'string' && typeof v.uploadId === 'string' ? v : undefined
  } catch {
    return undefined
  }
}

/** The upload's record, if it is live and belongs to this key; NoSuchUpload otherwise (as AWS, for a key mismatch too). */
export async function getUpload (bucket: BucketRef, key: ObjectKey, uploadId: string): Promise<UploadRecord> {
  const record = await liveUploadRecord(bucket.root, parseUploadId(uploadId))
  if (!record || record.key !== key) throw noSuchUpload(uploadId)
  return record
}

/** The record of a live upload, after putting it back if its Complete died with its daemon (reclaimUpload). */
export async function liveUploadRecord (root: string, uploadId: string): Promise<UploadRecord | undefined> {
  const live = uploadPath(root, uploadId)
  return await readUploadRecord(live) ?? (await reclaimUpload(root, uploadId) ? await readUploadRecord(live) : undefined)
}

/**
 * Puts an upload back whose Complete died with its daemon (the lock "<id>.completing" held by a process of this
 * machine that no longer runs): the client's retried Complete, ListParts, UploadPart or Abort find it again at once.
 * A Complete that had already published the object publishes the same bytes again. Whether it did.
 */
export async function reclaimUpload (root: string, uploadId: string): Promise<boolean> {
  const dir = existingUploadsDir(root)
  if (dir === undefined || !isUploadId(uploadId)) return false
  if (await lockHolderState(join(dir, `${uploadId}.completing`)) !== 'gone') return false
  return putBack(dir, uploadId)
}

/**
 * Renames an upload's Complete lock back to the live upload, without the file the interrupted Complete was
 * assembling (possibly gigabytes: a retry assembles its own). rename(2) will not replace a non-empty folder, so a
 * live upload of that id (none should exist) is left alone. Whether it was put back.
 */
export async function putBack (uploadsDir: string, uploadId: string): Promise<boolean> {
  const live = join(uploadsDir, uploadId)
  if (!await rename(join(uploadsDir, `${uploadId}.completing`), live).then(() => true, () => false)) return false
  for (const name of await readdir(live).catch(() => [] as string[])) {
    if (name.startsWith('assembled-')) await unlink(join(live, name)).catch(() => undefined)
  }
  return true
}

async function ensureUploadsDir (root: string): Promise<string> {
  // Not recursive: a recursive mkdir reports ENOENT for an ENOSPC (no free inode), which read as NoSuchKey.
  const made = async (): Promise<string> => {
    const dir = uploadsDir(root) // in the verified staging folder (stagingDir makes it when missing)
    await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err })
    return dir
  }
  return await inStaging(root, made).catch((err: NodeJS.ErrnoException) => { throw s3ErrorFromErrno(err) ?? err })
}

/**
 * The metadata Complete will write for this upload at its longest (10,000 parts, the longest stamps), without
 * the part sizes it drops when they do not fit. Set on the upload's record when the upload is created: an upload
 * whose metadata and tags the filesystem cannot keep in a file's extended attributes (ext4 keeps them all in one
 * 4 KiB block) is refused then, as MetadataTooLarge, rather than after every part has been sent.
 */
function largestStoredMeta (record: UploadRecord): StoredMeta {
  const parts = '-10000'
  return {
    ...record.meta,
    checksums: record.checksumAlgorithm === undefined ? undefined : { [record.checksumAlgorithm]: `${'A'.repeat(43)}=${parts}` },
    etag: `${'0'.repeat(32)}${parts}`,
    partCount: 10_000,
    stampSize: String(Number.MAX_SAFE_INTEGER),
    stampMtimeNs: String(2n ** 63n - 1n),
  }
}

/**
 * Creates the upload folder under a hidden name, writes upload.json, then renames it to its id:
 * other daemons never see an upload without its record.
 */
export async function createUpload (bucket: BucketRef, key: ObjectKey, meta: ObjectMeta, initiator: UploadInitiator, now: Date, aclHeaders?: Record<string, string>, checksum?: UploadChecksum): Promise<UploadRecord> {
  checkStorableKey(key)
  const dir = await ensureUploadsDir(bucket.root)
  const uploadId = newUploadId(now)
  const record: UploadRecord = {
    uploadId, key, initiated: now.toISOString(), initiator, meta: { ...meta, checksums: undefined }, aclHeaders,
    checksumAlgorithm: checksum?.algorithm, checksumType: checksum?.type === 'FULL_OBJECT' ? 'FULL_OBJECT' : undefined,
  }
  const building = join(dir, `.new-${uploadId}`)
  await mkdir(building, { mode: 0o700 })
  try {
    await writeFile(join(building, UPLOAD_FILE), JSON.stringify(record), { mode: 0o600 })
    await writeStoredMeta(join(building, UPLOAD_FILE), largestStoredMeta(record))
    await rename(building, join(dir, uploadId))
  } catch (err) {
    await rm(building, { recursive: true, force: true })
    throw s3ErrorFromErrno(err, { Key: key }) ?? err
  }
  return record
}

/**
 * Streams one part into a temp file inside the upload folder, records its MD5 and size in an xattr, and
 * renames it to part-NNNNN. If the upload was completed or aborted meanwhile, the rename finds no folder:
 * NoSuchUpload. Any failure (including a client that disconnects) removes the temp file.
 */
export async function uploadPart (bucket: BucketRef, key: ObjectKey, uploadId: string, partNumber: number, body: Readable, opts: { holes?: boolean } = {}): Promise<PartRecord & { checksumAlgorithm?: UploadChecksumAlgorithm }> {
  const upload = await getUpload(bucket, key, uploadId)
  const algorithm = upload.checksumAlgorithm
  const dir = uploadPath(bucket.root, uploadId)
  const tmp = join(dir, `${partFileName(partNumber)}.${randomBytes(8).toString('hex')}.tmp`)
  let fh: FileHandle
  try {
    fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  } catch (err) {
    body.resume()
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw noSuchUpload(uploadId)
    throw err
  }
  let isPublished = false
  try {
    // The upload's checksum of the part, whether or not the client sent one (a sent one was verified already).
    const hashed = algorithm === undefined ? undefined : checksumTap(algorithm)
    const { bytes: size, md5Hex: etag } = await writeHashed(body, fh, {
      holes: opts.holes,
      through: hashed === undefined ? [] : [hashed.tap],
      limit: { maxBytes: MAX_PART_SIZE_BYTES, tooLarge: bytes => new S3Error('EntityTooLarge', { ProposedSize: bytes, MaxSizeAllowed: MAX_PART_SIZE_BYTES }) },
    })
    const checksum = hashed?.digest()
    await xattr.setAttribute(fdPath(fh.fd), PART_XATTR, JSON.stringify({ etag, size, checksum }))
    const st = await fh.stat()
    await rename(tmp, join(dir, partFileName(partNumber))).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? noSuchUpload(uploadId) : err
    })
    isPublished = true
    return { partNumber, etag, size, lastModified: st.mtime, checksum, checksumAlgorithm: algorithm }
  } finally {
    await fh.close().catch(() => undefined)
    if (!isPublished) await unlink(tmp).catch(() => undefined)
  }
}

/** Marks an upload that took a part copied from a file of these mode bits (see copiedModeCap). */
const COPIED_MODE = /^copied-mode-([0-7]{1,3})$/

/**
 * UploadPartCopy: notes the source file's permission bits in the upload folder, as an empty file named after them
 * (created once per mode, so concurrent copies need no read-modify-write of a shared record).
 */
export async function recordCopiedMode (bucket: BucketRef, uploadId: string, mode: number): Promise<void> {
  const path = join(uploadPath(bucket.root, uploadId), `copied-mode-${(mode & 0o777).toString(8)}`)
  await writeFile(path, '', { flag: 'wx', mode: 0o600 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') return
    throw err.code === 'ENOENT' ? noSuchUpload(uploadId) : err
  })
}

/**
 * The permission bits every file copied into the upload had in common (undefined: no part was copied). Complete
 * gives the object no more than these, as CopyObject does with its source's: `aws s3 cp`/`mv` copy objects of
 * 8 MB and more with UploadPartCopy.
 */
export async function copiedModeCap (bucket: BucketRef, uploadId: string): Promise<number | undefined> {
  let cap: number | undefined
  for (const name of await readdir(uploadPath(bucket.root, uploadId)).catch(() => [] as string[])) {
    const m = COPIED_MODE.exec(name)
    if (m?.[1] !== undefined) cap = (cap ?? 0o777) & parseInt(m[1], 8)
  }
  return cap
}

/** Reads one stored part's record; undefined when the file or its xattr is missing. */
export async function readPart (dir: string, partNumber: number): Promise<PartRecord | undefined> {
  const path = join(dir, partFileName(partNumber))
  try {
    const [raw, st] = await Promise.all([xattr.getAttribute(path, PART_XATTR), lstat(path)])
    const v = JSON.parse(raw.toString('utf8')) as { etag?: unknown, size?: unknown, checksum?: unknown }
    if (typeof v.etag !== 'string' || typeof v.size !== 'number' || !st.isFile() || st.size !== v.size) return undefined
    return { partNumber, etag: v.etag, size: v.size, lastModified: st.mtime, checksum: typeof v.checksum === 'string' ? v.checksum : undefined }
  } catch {
    return undefined
  }
}

/** Part numbers present in an upload folder, ascending. */
export async function partNumbers (dir: string): Promise<number[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  const out: number[] = []
  for (const name of names) {
    const m = PART_FILE.exec(name)
    if (m?.[1] !== undefined) out.push(Number(m[1]))
  }
  return out.sort((a, b) => a - b)
}

export interface PartsPage { upload: UploadRecord, parts: PartRecord[], isTruncated: boolean, nextMarker?: number }

export async function listParts (bucket: BucketRef, key: ObjectKey, uploadId: string, opts: { marker: number, maxParts: number }): Promise<PartsPage> {
  const upload = await getUpload(bucket, key, uploadId)
  const dir = uploadPath(bucket.root, uploadId)
  const numbers = (await partNumbers(dir)).filter(n => n > opts.marker)
  const parts: PartRecord[] = []
  for (const n of numbers) {
    if (parts.length === opts.maxParts) break
    const part = await readPart(dir, n)
    if (part) parts.push(part)
  }
  const last = parts[parts.length - 1]
  const isTruncated = last !== undefined && numbers.some(n => n > last.partNumber)
  return { upload, parts, isTruncated, nextMarker: last?.partNumber }
}

/**
 * Renames the folder away first, so a concurrent UploadPart or Complete finds nothing, then deletes it.
 * Exactly one of Abort and Complete can win that rename.
 */
export async function abortUpload (bucket: BucketRef, key: ObjectKey, uploadId: string): Promise<void> {
  await getUpload(bucket, key, uploadId)
  const dir = uploadPath(bucket.root, uploadId)
  const trash = join(uploadsDir(bucket.root), `.aborting-${uploadId}-${randomBytes(6).toString('hex')}`)
  try {
    await rename(dir, trash)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw noSuchUpload(uploadId)
    throw err
  }
  await rm(trash, { recursive: true, force: true })
}

/** The ETag S3 gives a multipart object: MD5 of the concatenated binary part MD5s, then "-N". */
export function multipartETag (partETags: string[]): string {
  const hash = createHash('md5')
  for (const e of partETags) hash.update(Buffer.from(e, 'hex'))
  return `${hash.digest('hex')}-${partETags.length}`
}

export function encodePartSizes (sizes: number[]): PartSizeRuns {
  const runs: PartSizeRuns = []
  for (const size of sizes) {
    const last = runs[runs.length - 1]
    if (last && last[0] === size) last[1]++
    else runs.push([size, 1])
  }
  return runs
}

/** Byte range of part N (1-based) given the runs; undefined when N is past the last part. */
export function partByteRange (runs: PartSizeRuns, partNumber: number): { start: number, end: number } | undefined {
  let start = 0
  let index = 1
  for (const [size, count] of runs) {
    if (partNumber < index + count) {
      const begin = start + (partNumber - index) * size
      return { start: begin, end: begin + size - 1 }
    }
    start += size * count
    index += count
  }
  return undefined
}

export function partCountOf (runs: PartSizeRuns): number {
  return runs.reduce((n, [, count]) => n + count, 0)
}

/**
 * Whether a stored part table is well formed and adds up to the file's size. The table is in a user.* attribute
 * that whoever may write the file can rewrite, so it is checked before anything is derived from it.
 */
export function partsFit (runs: unknown, size: number): runs is PartSizeRuns {
  if (!Array.isArray(runs) || runs.length === 0) return false
  let total = 0
  let parts = 0
  for (const run of runs) {
    if (!Array.isArray(run) || run.length !== 2) return false
    const [bytes, count] = run as unknown[]
    if (!Number.isSafeInteger(bytes) || !Number.isSafeInteger(count) || (bytes as number) < 0 || (count as number) < 1) return false
    total += (bytes as number) * (count as number)
    parts += count as number
  }
  return parts <= 10_000 && total === size
}

/** The size of part N (1-based) from the runs; undefined when N is past the last part. */
export function partSize (runs: PartSizeRuns, partNumber: number): number | undefined {
  const range = partByteRange(runs, partNumber)
  return range === undefined ? undefined : range.end - range.start + 1
}
