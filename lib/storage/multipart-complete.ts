// CompleteMultipartUpload: lock the upload by renaming its folder, check the part list, assemble, publish with one rename.
import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { lstat, open, readFile, rename, rm, unlink, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { debuglog } from 'node:util'
import { keyConflictError, S3Error, s3ErrorFromErrno } from '../errors/s3-error.js'
import { combineCrcs, isCombinable } from './crc-combine.js'
import { copyFileRange } from './kernel-copy.js'
import {
  compositeChecksum, encodePartSizes, liveUploadRecord, isCompositeAlgorithm, MIN_PART_SIZE_BYTES, multipartETag, parseUploadId, partFileName, readPart,
  uploadPath, uploadsDir, type MultipartStoredMeta, type PartRecord, type UploadRecord,
} from './multipart.js'
import { ensureParents, objectInfo, publishTemp, type BucketRef, type WriteOptions } from './objects.js'
import { keySegments } from './paths.js'
import { fdPath, stampOf, writeStoredMeta } from './xattrs.js'
import { writeLockHolder } from './complete-lock.js'
import type { ObjectInfo, ObjectKey } from './types.js'

const S_ISGID = 0o2000
const debug = debuglog('s3bridge')

/** One <Part> of the client's CompleteMultipartUpload body; checksums by algorithm (ChecksumSHA256 → sha256). */
export interface CompletedPartRef { partNumber: number, etag: string, checksums?: Record<string, string> }

export interface CompleteResult {
  etag: string
  /** Set when this request published the object; absent for a retried Complete answered from the tombstone. */
  info?: ObjectInfo
}

/** Left behind by a finished Complete, so a retry of the same Complete gets the same answer (AWS does this). */
interface Tombstone { key: string, etag: string, completedAt: string }

export function completingPath (root: string, uploadId: string): string {
  return join(uploadsDir(root), `${uploadId}.completing`)
}

export function tombstonePath (root: string, uploadId: string): string {
  return join(uploadsDir(root), `${uploadId}.done`)
}

function noSuchUpload (uploadId: string): S3Error {
  return new S3Error('NoSuchUpload', { UploadId: uploadId })
}

function normalizeETag (etag: string): string {
  return etag.trim().replace(/^"|"$/g, '').toLowerCase()
}

/** Checks the part list's shape before anything is locked: non-empty and strictly ascending. */
export function checkPartOrder (parts: CompletedPartRef[]): void {
  if (parts.length === 0) throw new S3Error('MalformedXML')
  for (let i = 1; i < parts.length; i++) {
    if ((parts[i] as CompletedPartRef).partNumber <= (parts[i - 1] as CompletedPartRef).partNumber) throw new S3Error('InvalidPartOrder')
  }
}

async function readTombstone (root: string, uploadId: string, key: ObjectKey): Promise<Tombstone | undefined> {
  try {
    const t = JSON.parse(await readFile(tombstonePath(root, uploadId), 'utf8')) as Tombstone
    return t.key === key && typeof t.etag === 'string' ? t : undefined
  } catch {
    return undefined
  }
}

/**
 * Every listed part must exist with that ETag; every part but the last must be at least 5 MiB. An upload created
 * with a checksum algorithm needs each part's checksum in the list too, equal to the one kept for the part
 * (AWS's message for a missing one, as aws-sdk-php#2648 quotes it).
 */
async function checkParts (dir: string, upload: UploadRecord, refs: CompletedPartRef[]): Promise<PartRecord[]> {
  const uploadId = upload.uploadId
  const algorithm = upload.checksumAlgorithm
  const parts: PartRecord[] = []
  for (const [i, ref] of refs.entries()) {
    // A FULL_OBJECT upload's parts may be listed without their checksums (they are checked when given).
    if (algorithm !== undefined && upload.checksumType !== 'FULL_OBJECT' && ref.checksums?.[algorithm] === undefined) {
      throw new S3Error('InvalidRequest', {}, { message: `The upload was created using a ${algorithm} checksum. The complete request must include the checksum for each part. It was missing for part ${ref.partNumber} in the request.` })
    }
    const part = await readPart(dir, ref.partNumber)
    if (!part || part.etag !== normalizeETag(ref.etag)) throw new S3Error('InvalidPart', { UploadId: uploadId, PartNumber: ref.partNumber, ETag: ref.etag })
    if (algorithm !== undefined && ref.checksums?.[algorithm] !== undefined && part.checksum !== ref.checksums[algorithm]) throw new S3Error('InvalidPart', { UploadId: uploadId, PartNumber: ref.partNumber, ETag: ref.etag })
    if (i < refs.length - 1 && part.size < MIN_PART_SIZE_BYTES) {
      throw new S3Error('EntityTooSmall', { ProposedSize: part.size, MinSizeAllowed: MIN_PART_SIZE_BYTES, PartNumber: ref.partNumber, ETag: ref.etag })
    }
    parts.push(part)
  }
  return parts
}

/**
 * Concatenates the parts into fh, each copied whole at its offset by the kernel (reflink or copy_file_range)
 * or, without the addon or across filesystems, by a streaming copy: bounded memory whatever the object size.
 */
async function assemble (dir: string, parts: PartRecord[], fh: FileHandle): Promise<void> {
  let offset = 0
  for (const part of parts) {
    const src = await open(join(dir, partFileName(part.partNumber)), constants.O_RDONLY | constants.O_NOFOLLOW)
    try {
      const { size } = await src.stat()
      const method = await copyFileRange(src, 0, fh, offset, size)
      debug('part %d: %d bytes at %d by %s', part.partNumber, size, offset, method)
      offset += size
    } finally {
      await src.close().catch(() => undefined)
    }
  }
  const st = await fh.stat()
  const expected = parts.reduce((n, p) => n + p.size, 0)
  if (st.size !== expected) throw new Error(`assembled ${st.size} bytes, expected ${expected}`)
}

/**
 * Sets owner, mode and metadata on the assembled file, then renames it over the key (same steps as putObject),
 * into the key's parent folder held open (pinned-dir.ts), never through a path an NFS user could re-link.
 */
async function publish (bucket: BucketRef, key: ObjectKey, tmp: string, fh: FileHandle, meta: Omit<MultipartStoredMeta, 'stampSize' | 'stampMtimeNs'>, opts: WriteOptions): Promise<ObjectInfo> {
  const parent = await ensureParents(bucket, key, opts)
  try {
    const name = keySegments(key).at(-1) as string
    await opts.checkFolder?.(parent, { entry: name })
    const target = join(parent.path, name)
    const existing = await lstat(target).catch(() => undefined)
    // A folder, or a FIFO, socket, device or symlink made over NFS: not replaced by an object.
    if (existing !== undefined && !existing.isFile()) throw keyConflictError({ Key: key })
    const parentSt = await parent.stat()
    const isSetgid = (parentSt.mode & S_ISGID) !== 0
    const fileOwner = opts.fileOwner ?? opts.owner
    const owner = { uid: fileOwner.uid, gid: isSetgid ? Number(parentSt.gid) : fileOwner.gid }
    await fh.chown(owner.uid, owner.gid)
    await fh.chmod(opts.fileMode)
    await opts.onCreated?.(fdPath(fh.fd), parent, false, owner)
    if (opts.fsync) await fh.sync()
    const st = await fh.stat({ bigint: true })
    const stored: MultipartStoredMeta = { ...meta, ...stampOf(st) }
    // ext4 keeps all xattrs of a file in one 4 KiB block: drop the parts' checksums, then their sizes, rather
    // than the ETag (GetObjectAttributes then lists no parts; GetObject ?partNumber= needs the sizes).
    for (const optional of ['partChecksums', 'parts', undefined] as const) {
      try {
        await writeStoredMeta(fdPath(fh.fd), stored)
        break
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if ((code !== 'E2BIG' && code !== 'ENOSPC') || optional === undefined) throw err
        delete stored.partChecksums
        if (optional === 'parts') delete stored.parts
      }
    }
    await publishTemp(tmp, target, opts)
    return objectInfo(key, st, stored)
  } finally {
    await parent.close()
  }
}

/**
 * The object's checksum under the upload's algorithm: COMPOSITE ("-N") or FULL_OBJECT (the parts' CRCs combined).
 * A full-object checksum the client sent with Complete must equal the combined one, or nothing is published.
 */
async function objectChecksums (record: UploadRecord, parts: PartRecord[], sent: Record<string, string>): Promise<Record<string, string> | undefined> {
  const algorithm = record.checksumAlgorithm
  if (algorithm === undefined) return record.meta.checksums
  if (record.checksumType !== 'FULL_OBJECT') {
    return isCompositeAlgorithm(algorithm) ? { [algorithm]: await compositeChecksum(algorithm, parts.map(p => p.checksum ?? '')) } : undefined
  }
  if (!isCombinable(algorithm)) return undefined
  const whole = combineCrcs(algorithm, parts.map(p => ({ checksum: p.checksum ?? '', size: p.size })))
  const claimed = sent[algorithm]
  if (claimed !== undefined && claimed !== whole) {
    throw new S3Error('BadDigest', {}, { message: `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.` })
  }
  return { [algorithm]: whole }
}

async function assembleAndPublish (bucket: BucketRef, record: UploadRecord, lockDir: string, parts: PartRecord[], opts: WriteOptions, sentChecksums: Record<string, string>): Promise<CompleteResult> {
  const checksums = await objectChecksums(record, parts, sentChecksums)
  const tmp = join(lockDir, `assembled-${randomBytes(8).toString('hex')}`)
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  let isPublished = false
  try {
    await assemble(lockDir, parts, fh)
    const etag = multipartETag(parts.map(p => p.etag))
    const partChecksums = record.checksumAlgorithm !== undefined && parts.every(p => p.checksum !== undefined) ? parts.map(p => p.checksum as string) : undefined
    const meta = { ...record.meta, checksums, etag, partCount: parts.length, parts: encodePartSizes(parts.map(p => p.size)), partChecksums }
    const info = await publish(bucket, record.key, tmp, fh, meta, opts)
    isPublished = true
    return { etag, info }
  } finally {
    await fh.close().catch(() => undefined)
    if (!isPublished) await unlink(tmp).catch(() => undefined)
  }
}

/**
 * Completes an upload exactly once across all daemons: renaming the folder to "<id>.completing" is the
 * lock (a racing Abort, UploadPart or second Complete then finds no folder). A failed check puts the folder
 * back so the client can retry with a corrected list; a retried Complete after success is answered from
 * the tombstone. `onAssembling` is called once the part list has been checked, before the copying starts.
 */
export async function completeUpload (bucket: BucketRef, key: ObjectKey, uploadId: string, refs: CompletedPartRef[], opts: WriteOptions, sentChecksums: Record<string, string> = {}, onAssembling?: () => void): Promise<CompleteResult> {
  parseUploadId(uploadId)
  checkPartOrder(refs)
  const live = uploadPath(bucket.root, uploadId)
  const record = await liveUploadRecord(bucket.root, uploadId)
  // Only the same part list gets the earlier answer: its ETag is derived from exactly those part ETags.
  const retried = async (): Promise<CompleteResult> => {
    const t = await readTombstone(bucket.root, uploadId, key)
    if (t?.etag !== multipartETag(refs.map(r => normalizeETag(r.etag)))) throw noSuchUpload(uploadId)
    return { etag: t.etag }
  }
  if (!record) return retried()
  if (record.key !== key) throw noSuchUpload(uploadId)
  const lockDir = completingPath(bucket.root, uploadId)
  await writeLockHolder(live) // before the lock: it never carries an earlier holder's record
  try {
    await rename(live, lockDir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTEMPTY') return retried()
    throw err
  }
  await writeLockHolder(lockDir) // and again: a Complete racing this one from another process may have written last
  let result: CompleteResult
  try {
    const parts = await checkParts(lockDir, record, refs)
    onAssembling?.() // the part list is good: what remains is copying (the long part) and publishing
    result = await assembleAndPublish(bucket, record, lockDir, parts, opts, sentChecksums)
  } catch (err) {
    await rename(lockDir, live).catch(() => undefined)
    throw s3ErrorFromErrno(err, { Key: key }) ?? err
  }
  const tombstone: Tombstone = { key, etag: result.etag, completedAt: new Date().toISOString() }
  await writeFile(tombstonePath(bucket.root, uploadId), JSON.stringify(tombstone), { mode: 0o600 }).catch(() => undefined)
  await rm(lockDir, { recursive: true, force: true })
  return result
}
