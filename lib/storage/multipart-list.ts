// Finding uploads on disk: ListMultipartUploads, the admin listing, and the stale-upload sweep.
import { randomBytes } from 'node:crypto'
import { lstat, readdir, rename, rm } from 'node:fs/promises'
import { lockHolderState } from './complete-lock.js'
import { join } from 'node:path'
import { compareKeys } from './key-order.js'
import { existingUploadsDir, isUploadId, putBack, reclaimUpload, partNumbers, readPart, readUploadRecord, uploadPath, type UploadRecord } from './multipart.js'
import type { BucketRef } from './objects.js'

export interface UploadsQuery {
  prefix: string
  delimiter?: string
  keyMarker?: string
  uploadIdMarker?: string
  maxUploads: number
}

export interface UploadsPage {
  uploads: UploadRecord[]
  commonPrefixes: string[]
  isTruncated: boolean
  nextKeyMarker?: string
  nextUploadIdMarker?: string
}

/** Live uploads of a bucket (not those being completed or aborted), by key then by id (= by initiation). */
export async function liveUploads (root: string): Promise<UploadRecord[]> {
  const dir = existingUploadsDir(root)
  const names = dir === undefined ? [] : await readdir(dir).catch(() => [] as string[])
  // Uploads whose Complete died with its daemon are listed again (put back).
  for (const name of [...names]) {
    const id = name.endsWith('.completing') ? name.slice(0, -'.completing'.length) : ''
    if (isUploadId(id) && await reclaimUpload(root, id)) names.push(id)
  }
  const records: UploadRecord[] = []
  for (const name of names.filter(isUploadId)) {
    const record = await readUploadRecord(uploadPath(root, name))
    if (record && record.uploadId === name) records.push(record)
  }
  return records.sort((a, b) => compareKeys(a.key, b.key) || (a.uploadId < b.uploadId ? -1 : a.uploadId > b.uploadId ? 1 : 0))
}

/** AWS's markers: keys after key-marker, or the same key with an upload id after upload-id-marker. */
function isAfterMarkers (u: UploadRecord, q: UploadsQuery): boolean {
  if (q.keyMarker === undefined || q.keyMarker === '') return true
  const c = compareKeys(u.key, q.keyMarker)
  if (c !== 0) return c > 0
  return q.uploadIdMarker !== undefined && q.uploadIdMarker !== '' && u.uploadId > q.uploadIdMarker
}

/** One page of ListMultipartUploads; a common prefix counts as one entry, as in ListObjects. */
export async function listUploads (bucket: BucketRef, q: UploadsQuery, visible?: (u: UploadRecord) => Promise<boolean>): Promise<UploadsPage> {
  let all = (await liveUploads(bucket.root)).filter(u => u.key.startsWith(q.prefix) && isAfterMarkers(u, q))
  if (visible !== undefined) {
    const shown = await Promise.all(all.map(visible))
    all = all.filter((_, i) => shown[i])
  }
  const page: UploadsPage = { uploads: [], commonPrefixes: [], isTruncated: false }
  let last: UploadRecord | undefined
  if (q.maxUploads === 0) return page // as ListObjects answers max-keys=0: nothing, and not truncated
  for (let i = 0; i < all.length; i++) {
    const u = all[i] as UploadRecord
    if (page.uploads.length + page.commonPrefixes.length === q.maxUploads) {
      page.isTruncated = true
      break
    }
    const cut = q.delimiter ? u.key.indexOf(q.delimiter, q.prefix.length) : -1
    if (cut < 0 || q.delimiter === undefined) {
      page.uploads.push(u)
      last = u
      continue
    }
    const common = u.key.slice(0, cut + q.delimiter.length)
    page.commonPrefixes.push(common)
    // Skip the rest of the group; the markers point at its last upload so the next page starts after it.
    while (i + 1 < all.length && (all[i + 1] as UploadRecord).key.startsWith(common)) i++
    last = all[i]
  }
  if (page.isTruncated && last) {
    page.nextKeyMarker = last.key
    page.nextUploadIdMarker = last.uploadId
  }
  return page
}

export interface UploadSummary extends UploadRecord { partCount: number, bytes: number }

/** Every live upload of a bucket directory with its part count and bytes, for `bridgectl`. */
export async function listAllUploads (bucketRoot: string): Promise<UploadSummary[]> {
  const out: UploadSummary[] = []
  for (const record of await liveUploads(bucketRoot)) {
    const dir = uploadPath(bucketRoot, record.uploadId)
    let bytes = 0
    let partCount = 0
    for (const n of await partNumbers(dir)) {
      const part = await readPart(dir, n)
      if (!part) continue
      partCount++
      bytes += part.size
    }
    out.push({ ...record, partCount, bytes })
  }
  return out
}

export interface SweepResult { abortedUploadIds: string[], removedEntries: string[] }

/** The age of a staging entry: uploads by their initiation, anything else by its last change (a rename sets ctime). */
async function entryTimeMs (dir: string, name: string): Promise<number | undefined> {
  if (isUploadId(name)) {
    const record = await readUploadRecord(join(dir, name))
    if (record) return Date.parse(record.initiated)
  }
  const st = await lstat(join(dir, name)).catch(() => undefined)
  return st ? Math.max(st.mtimeMs, st.ctimeMs) : undefined
}

/**
 * Aborts uploads initiated more than olderThanMs ago, and removes leftovers of the same age: folders of
 * crashed Completes, Aborts or Creates, and the tombstones that answer retried Completes. Safe to run
 * from several daemons at once: each upload is renamed away before it is deleted.
 */
export async function abortStaleUploads (bucketRoot: string, olderThanMs: number, nowMs: number = Date.now()): Promise<SweepResult> {
  const dir = existingUploadsDir(bucketRoot)
  const result: SweepResult = { abortedUploadIds: [], removedEntries: [] }
  if (dir === undefined) return result
  const names = await readdir(dir).catch(() => [] as string[])
  for (const name of names) {
    const t = await entryTimeMs(dir, name)
    if (t === undefined || nowMs - t < olderThanMs) continue
    if (isUploadId(name)) {
      const trash = join(dir, `.aborting-${name}-${randomBytes(6).toString('hex')}`)
      const isMine = await rename(join(dir, name), trash).then(() => true, () => false)
      if (!isMine) continue
      await rm(trash, { recursive: true, force: true }).catch(() => undefined)
      result.abortedUploadIds.push(name)
    } else {
      await rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined)
      result.removedEntries.push(name)
    }
  }
  return result
}

/** A Complete holding its upload's lock ("<id>.completing") this long is taken to have died with its daemon. */
export const INTERRUPTED_COMPLETE_MS = 60 * 60_000

/**
 * Puts back uploads whose Complete was interrupted (the daemon killed while it held the "<id>.completing"
 * lock, renamed at the lock's start: its ctime): the upload is live again, so the client's retried Complete,
 * ListParts or Abort work instead of NoSuchUpload for a week. A Complete that had already published the object
 * publishes the same bytes again when retried. Returns the upload ids put back.
 */
export async function recoverInterruptedCompletes (bucketRoot: string, olderThanMs: number = INTERRUPTED_COMPLETE_MS, nowMs: number = Date.now()): Promise<string[]> {
  const dir = existingUploadsDir(bucketRoot)
  if (dir === undefined) return []
  const recovered: string[] = []
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const id = name.endsWith('.completing') ? name.slice(0, -'.completing'.length) : ''
    if (!isUploadId(id)) continue
    const st = await lstat(join(dir, name)).catch(() => undefined)
    if (!st?.isDirectory()) continue
    // Its daemon was killed (or the machine rebooted) in the middle of the Complete: put it back now, so the
    // client's retry finds it, rather than after the hour a Complete on another machine gets. A holder known to
    // run (a Complete of terabytes) keeps its lock however old.
    const holder = await lockHolderState(join(dir, name))
    if (holder === 'alive' || (holder === 'unknown' && nowMs - st.ctimeMs < olderThanMs)) continue
    if (await putBack(dir, id)) recovered.push(id)
  }
  return recovered
}
