// Object handlers: PutObject, GetObject, HeadObject, DeleteObject.
import { expirationHeader } from '../lifecycle.js'
import { S3Error } from '../../errors/s3-error.js'
import { deleteObject as removeObject, headObject as statObject, ObjectReplaced, openObjectToServe, prefetchForRead, putObject as storeObject } from '../../storage/objects.js'
import { isDirectoryKey, parseObjectKey } from '../../storage/paths.js'
import type { ObjectKey, ServedObject } from '../../storage/types.js'
import type { BucketRecord } from '../../state/types.js'
import type { AccessNeeds } from '../authorize.js'
import { createNeed, deleteNeed } from '../../access/fs-needs.js'
import { bucketRecord, bucketRef, folderCheck, writeOptions } from '../bucket-access.js'
import { checkAclHeadersAllowed, requireUploadHeaderActions } from '../acl-headers.js'
import { checkWriteConditionHeaders, deleteGuard, guardConditionalWrite, isEtagCondition } from '../conditional-write.js'
import { relPath, requireAccess } from '../authorize.js'
import { checkConditions, checkDeclaredLength, checkResponseOverrideValues, RESPONSE_OVERRIDE_PARAMS, checksumHeaders, conditionsFrom, metaFromHeaders, objectHeaders, parseRange, quoteETag } from '../s3-headers.js'
import type { S3Reply, S3Request, Services } from '../types.js'
import type { PrefetchedWalk } from '../../storage/path-walk.js'
import { requestedPart } from './multipart.js'
import { folderMarkerAcl } from './acl.js'

const MAX_PUT_BYTES = 5 * 1024 ** 4

export function requestKey (req: S3Request): ObjectKey {
  return parseObjectKey(req.rawKey ?? '')
}

/** Reading a file needs search on its folders and read on it; a folder marker needs search and read on the folder. */
export function readNeeds (operation: string, record: BucketRecord, key: ObjectKey): AccessNeeds {
  return { operation, bucket: record, key, fs: [{ check: key.endsWith('/') ? 'list' : 'read', path: relPath(key), bucketRoot: record.path }] }
}

/**
 * An ETag in If-Match compares the object's content digest, i.e. reads it, so it needs what GetObject needs (AWS
 * asks s3:GetObject for conditional deletes; here also read on the file): else a user allowed to replace or delete
 * a file it may not read could confirm guesses of its content one 412 at a time. `*` only asks that it exist.
 */
export async function requireReadForEtagCondition (req: S3Request, s: Services, record: BucketRecord, key: ObjectKey, ifMatch: string | undefined, prefetched?: PrefetchedWalk): Promise<void> {
  if (isEtagCondition(ifMatch)) await requireAccess(req, s, { ...readNeeds('GetObject', record, key), prefetched })
}

export async function putObject (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = requestKey(req)
  await requireAccess(req, s, { operation: 'PutObject', bucket: record, key, fs: [createNeed(record.path, key)] })
  checkDeclaredLength(req.headers, MAX_PUT_BYTES)
  checkAclHeadersAllowed(req, s, record)
  await requireUploadHeaderActions(req, s, { operation: 'PutObject', bucket: record, key }, { tagging: true })
  const meta = metaFromHeaders(req.headers)
  const bucket = bucketRef(record)
  const conditions = conditionsFrom(req.headers)
  checkWriteConditionHeaders(conditions, 'PutObject')
  const options = writeOptions(req, s, record)
  // One walk for the read check and the first comparison, so the ETag is compared on the file the check judged.
  const checked = isEtagCondition(conditions.ifMatch) ? prefetchForRead(bucket, key, { read: false }) : undefined
  await requireReadForEtagCondition(req, s, record, key, conditions.ifMatch, checked)
  await guardConditionalWrite(bucket, key, conditions, options, checked)
  const markerAcl = isDirectoryKey(key) ? await folderMarkerAcl(req, s, record) : undefined
  const wasMarked = markerAcl !== undefined && await statObject(bucket, key).then(() => true, () => false)
  const result = await storeObject(bucket, key, req.body(), meta, options, { lateChecksums: () => req.trailerChecksum() })
  // Taken back as a DELETE of the marker would be (through the held folder, never a path an NFS user could have
  // re-linked meanwhile: review 18 had a by-path undo strip another file's metadata), with the caller's rights.
  await markerAcl?.(async () => { if (!wasMarked) await removeObject(bucket, key, undefined, folderCheck(req)).catch(() => undefined) })
  return { headers: { ETag: quoteETag(result.info.etag), ...checksumHeaders(result.info), 'x-amz-expiration': expirationHeader(record.lifecycle, result.info) } }
}


/** AWS honours response-* overrides only on signed requests; an anonymous GET with one is refused. */
function checkResponseOverrides (req: S3Request): void {
  if (req.principal.kind !== 'user' && RESPONSE_OVERRIDE_PARAMS.some(q => req.query.has(q))) {
    throw new S3Error('InvalidRequest', {}, { message: 'Request specific response headers cannot be used for anonymous GET requests.' })
  }
  // Before the object is opened: refused after, a large file's descriptor waited for the garbage collector.
  checkResponseOverrideValues(req.query)
}

/**
 * GetObject's check and open. One filesystem job reads what the permission check needs and, for a small file, the
 * object itself; the bytes are only served once every layer has allowed, and only if they are the file that was
 * checked. A file replaced over NFS between the check and the open (large files are opened after the check) is
 * checked again, a few times, before the client is asked to retry.
 */
async function checkAndOpen (req: S3Request, s: Services, record: BucketRecord, key: ObjectKey): Promise<ServedObject & { partCount?: number }> {
  const bucket = bucketRef(record)
  for (let attempt = 1; ; attempt++) {
    const prefetched = prefetchForRead(bucket, key)
    await requireAccess(req, s, { ...readNeeds(req.operation, record, key), prefetched }, { missingIsNoSuchKey: true })
    checkResponseOverrides(req)
    const part = await requestedPart(req, bucket, key)
    try {
      // Conditions and the range are decided on the version actually opened (NFS users may replace it meanwhile).
      const opened = await openObjectToServe(bucket, key, info => {
        checkConditions(conditionsFrom(req.headers), info, { isRead: true, notModified: 'NotModified' })
        if (part === undefined) return parseRange(req.headers.range, info.size)
        // The part table was read in a lookup of its own: a file renamed in since then may be shorter.
        if (part.range !== undefined && part.range.end >= info.size) throw new ObjectReplaced(key)
        return part.range
      }, prefetched)
      return { ...opened, partCount: part?.partCount }
    } catch (err) {
      if (!(err instanceof ObjectReplaced) || attempt >= 3) throw err
    }
  }
}

export async function getObject (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = requestKey(req)
  const opened = await checkAndOpen(req, s, record, key)
  const range = opened.range
  const headers: Record<string, string | number | undefined> = { ...objectHeaders(opened.info, req.query), ...checksumHeaders(opened.info, { headers: req.headers, isRanged: range !== undefined }), 'x-amz-expiration': expirationHeader(record.lifecycle, opened.info) }
  if (opened.partCount !== undefined) headers['x-amz-mp-parts-count'] = opened.partCount
  if (range) {
    headers['Content-Range'] = `bytes ${range.start}-${range.end}/${opened.info.size}`
    return { status: 206, headers, body: opened.body, length: range.end - range.start + 1 }
  }
  return { status: 200, headers, body: opened.body, length: opened.info.size }
}

export async function headObject (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = requestKey(req)
  const bucket = bucketRef(record)
  const prefetched = prefetchForRead(bucket, key, { read: false }) // one job for the permission walk and the stat
  await requireAccess(req, s, { ...readNeeds(req.operation, record, key), prefetched }, { missingIsNoSuchKey: true })
  const info = await statObject(bucket, key, prefetched)
  checkConditions(conditionsFrom(req.headers), info, { isRead: true, notModified: 'NotModified' })
  const part = await requestedPart(req, bucket, key)
  const range = part ? part.range : parseRange(req.headers.range, info.size)
  const headers: Record<string, string | number | undefined> = { ...objectHeaders(info, req.query), ...checksumHeaders(info, { headers: req.headers, isRanged: range !== undefined }), 'x-amz-expiration': expirationHeader(record.lifecycle, info) }
  if (part?.partCount !== undefined) headers['x-amz-mp-parts-count'] = part.partCount
  if (range) {
    headers['Content-Range'] = `bytes ${range.start}-${range.end}/${info.size}`
    return { status: 206, headers, length: range.end - range.start + 1 }
  }
  return { status: 200, headers, length: info.size }
}

export async function deleteObject (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = requestKey(req)
  const bucket = bucketRef(record)
  const prefetched = prefetchForRead(bucket, key, { read: false }) // one job for the permission walk and the lookup
  await requireAccess(req, s, { operation: 'DeleteObject', bucket: record, key, fs: [deleteNeed(record.path, key)], prefetched })
  const version = req.query.get('versionId')
  // Only the null version exists: deleting any other is deleting nothing (and must not touch the object).
  if (version !== null && version !== 'null') return { status: 204, headers: { 'x-amz-version-id': version } }
  const ifMatch = typeof req.headers['if-match'] === 'string' ? req.headers['if-match'] : undefined
  await requireReadForEtagCondition(req, s, record, key, ifMatch, prefetched)
  await removeObject(bucket, key, prefetched, folderCheck(req), deleteGuard(ifMatch, key))
  return { status: 204 }
}
