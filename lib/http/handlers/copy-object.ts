// CopyObject: same or another bucket, metadata COPY or REPLACE, x-amz-copy-source-if-* conditions.
import { expirationHeader } from '../lifecycle.js'
import { S3Error } from '../../errors/s3-error.js'
import { checkedFile, headObject, openObject, prefetchForRead, putObject, type BucketRef } from '../../storage/objects.js'
import { updateObjectMeta } from '../../storage/object-tags.js'
import type { PrefetchedWalk } from '../../storage/path-walk.js'
import { effectiveETag, isStoredMetaCurrent, stampOf, type StoredMeta } from '../../storage/xattrs.js'
import { isCompositeChecksum } from '../../storage/multipart.js'
import { isDirectoryKey, parseObjectKey } from '../../storage/paths.js'
import type { ObjectInfo, ObjectKey, ObjectMeta } from '../../storage/types.js'
import { bucketRecord, bucketRef, writeOptions } from '../bucket-access.js'
import { aclHeadersDecide, checkAclHeadersAllowed, requireUploadHeaderActions } from '../acl-headers.js'
import { decide, relPath, requireAccess } from '../authorize.js'
import { createNeed } from '../../access/fs-needs.js'
import { checkWriteConditionHeaders, guardConditionalWrite, isEtagCondition } from '../conditional-write.js'
import { checkConditions, checkEncryptionHeaders, checkObjectLockHeaders, checkWriteConditions, checksumAlgorithmHeader, checksumElement, conditionsFrom, metaFromHeaders, websiteRedirectFrom, type ConditionHeaders } from '../s3-headers.js'
import { renderXml } from '../xml/render.js'
import { tagsFromHeader } from '../tagging.js'
import type { S3Reply, S3Request, Services } from '../types.js'
import { readNeeds, requestKey, requireReadForEtagCondition } from './objects.js'
import { checksumTap } from '../../auth/checksums.js'

const MAX_COPY_SOURCE_BYTES = 5 * 1024 ** 3

/** AWS copies at most 5 GB in one CopyObject; larger objects go through UploadPartCopy. */
function checkCopySourceSize (size: number): void {
  if (size > MAX_COPY_SOURCE_BYTES) {
    throw new S3Error('InvalidRequest', {}, { message: `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_SOURCE_BYTES}` })
  }
}

const nonEmptyTags = <T>(tags: T[] | undefined): T[] | undefined => tags !== undefined && tags.length > 0 ? tags : undefined

/** Parses x-amz-copy-source: "[/]bucket/key[?versionId=...]", URL-encoded. */
export function parseCopySource (value: string | string[] | undefined): { bucket: string, key: ObjectKey } {
  if (typeof value !== 'string' || value === '') throw new S3Error('InvalidArgument', {}, { message: 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey' })
  let v = value.startsWith('/') ? value.slice(1) : value
  const q = v.indexOf('?')
  if (q >= 0) {
    const version = new URLSearchParams(v.slice(q + 1)).get('versionId')
    // As on GET (dispatch's checkVersionId): an empty version id is malformed, not a version that is missing.
    if (version === '') throw new S3Error('InvalidArgument', { ArgumentName: 'versionId', ArgumentValue: '' }, { message: 'Version id cannot be the empty string' })
    if (version !== null && version !== 'null') throw new S3Error('NoSuchVersion', { VersionId: version })
    v = v.slice(0, q)
  }
  let decoded: string
  try {
    decoded = decodeURIComponent(v)
  } catch {
    throw new S3Error('InvalidArgument', {}, { message: 'Invalid copy source encoding' })
  }
  const slash = decoded.indexOf('/')
  if (slash <= 0 || slash === decoded.length - 1) throw new S3Error('InvalidArgument', {}, { message: 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey' })
  return { bucket: decoded.slice(0, slash), key: parseObjectKey(decoded.slice(slash + 1)) }
}

export async function copyObject (req: S3Request, s: Services): Promise<S3Reply> {
  const destRecord = bucketRecord(req, s)
  const destKey = requestKey(req)
  const src = parseCopySource(req.headers['x-amz-copy-source'])
  const srcRecord = bucketRecord({ ...req, bucketName: src.bucket }, s)
  checkEncryptionHeaders(req.headers)
  checkObjectLockHeaders(req.headers)
  const redirect = websiteRedirectFrom(req.headers) // checked before the source is opened
  const directive = String(req.headers['x-amz-metadata-directive'] ?? 'COPY').toUpperCase()
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', {}, { message: 'Unknown metadata directive.' })
  const taggingDirective = String(req.headers['x-amz-tagging-directive'] ?? 'COPY').toUpperCase()
  if (taggingDirective !== 'COPY' && taggingDirective !== 'REPLACE') throw new S3Error('InvalidArgument', { ArgumentName: 'x-amz-tagging-directive', ArgumentValue: taggingDirective }, { message: 'Unknown tagging directive.' })
  // The checksum the copy is to have, computed over the bytes copied (AWS's way to give an object a checksum).
  const askedChecksum = checksumAlgorithmHeader(req.headers)
  const selfCopy = srcRecord.name === destRecord.name && src.key === destKey
  // A copy onto itself must change something; a storage class or encryption asked for counts, as on AWS (`aws s3
  // cp s3://b/k s3://b/k --storage-class ...` re-tiers that way): accepted, here with nothing else to change.
  // So does a checksum algorithm: the copy gets that checksum.
  const asksClassOrEncryption = req.headers['x-amz-storage-class'] !== undefined || req.headers['x-amz-server-side-encryption'] !== undefined
  if (selfCopy && directive === 'COPY' && redirect === undefined && !asksClassOrEncryption && askedChecksum === undefined) {
    throw new S3Error('InvalidRequest', {}, { message: 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.' })
  }
  // The source is opened as the very file its read check walked to (prefetchForRead; openObject compares).
  const srcChecked = prefetchForRead(bucketRef(srcRecord), src.key, { read: false })
  await requireAccess(req, s, { ...readNeeds('GetObject', srcRecord, src.key), prefetched: srcChecked }, { missingIsNoSuchKey: true })
  // A copy onto itself without ACL headers (s3fs's chmod, chown and touch, rclone's modification-time update) by
  // a caller who may write the file changes its metadata in place: the file keeps its inode, mode, owner, POSIX
  // ACL and modification time, as chmod or setfattr over NFS would. Anything else makes a new file, which needs
  // create rights in the folder, as a PUT, and gets a new file's mode and owner; so does a copy that asks for a
  // checksum, which is computed from the bytes as they are copied.
  const inPlace = selfCopy && !isDirectoryKey(destKey) && !aclHeadersDecide(req.headers, destRecord) && askedChecksum === undefined &&
    (await decide(req, s, { operation: 'CopyObject', bucket: destRecord, key: destKey, fs: [{ check: 'write', path: relPath(destKey), bucketRoot: destRecord.path }], prefetched: srcChecked })).allowed
  if (!inPlace) await requireAccess(req, s, { operation: 'CopyObject', bucket: destRecord, key: destKey, fs: [createNeed(destRecord.path, destKey)] })
  checkAclHeadersAllowed(req, s, destRecord)
  // Tags from the header are set only under x-amz-tagging-directive REPLACE; COPY keeps the source's.
  await requireUploadHeaderActions(req, s, { operation: 'CopyObject', bucket: destRecord, key: destKey }, { tagging: taggingDirective === 'REPLACE' })
  // If-Match / If-None-Match (no prefix) are conditions on the destination, as for PutObject.
  const destConditions = conditionsFrom(req.headers)
  checkWriteConditionHeaders(destConditions, 'CopyObject')
  if (inPlace) return copyOntoItself(req, bucketRef(destRecord), destKey, srcChecked, { directive, redirect, taggingDirective, destConditions })
  const opened = await openObject(bucketRef(srcRecord), src.key, undefined, srcChecked)
  try {
    checkConditions(conditionsFrom(req.headers, 'x-amz-copy-source-'), opened.info, { isRead: false, notModified: 'PreconditionFailed' })
    // AWS copies at most 5 GB in one CopyObject (larger objects go through UploadPartCopy). A longer copy would
    // also send nothing for minutes, and SDKs time out and retry it from the start.
    checkCopySourceSize(opened.info.size)
  } catch (err) {
    opened.body.destroy()
    throw err
  }
  const meta = copiedMeta(req, opened.info, { directive, redirect, taggingDirective })
  // A multipart source's COMPOSITE checksum ("...-N") describes its parts, which the copy does not have. With
  // x-amz-checksum-algorithm the copy has that one checksum, of the bytes copied.
  if (meta.checksums !== undefined) {
    const whole = Object.entries(meta.checksums).filter(([, v]) => !isCompositeChecksum(v))
    meta.checksums = whole.length > 0 && askedChecksum === undefined ? Object.fromEntries(whole) : undefined
  }
  const hashed = askedChecksum === undefined ? undefined : checksumTap(askedChecksum)
  // A copy without ACL headers gets no more than its source's mode bits, as cp(1) does: `aws s3 mv`/`cp` of a
  // private file made it fileCreateMode (0644 in the sample), readable by everyone and anonymously, where AWS
  // makes a copy private. The destination folder's default ACL still applies, within that mode. ACL headers
  // decide for themselves.
  const options = writeOptions(req, s, destRecord, aclHeadersDecide(req.headers, destRecord) ? {} : { fileModeCap: opened.info.mode & 0o777 })
  try {
    const checked = isEtagCondition(destConditions.ifMatch) ? prefetchForRead(bucketRef(destRecord), destKey, { read: false }) : undefined
    await requireReadForEtagCondition(req, s, destRecord, destKey, destConditions.ifMatch, checked)
    await guardConditionalWrite(bucketRef(destRecord), destKey, destConditions, options, checked)
  } catch (err) {
    opened.body.destroy()
    throw err
  }
  const result = await putObject(bucketRef(destRecord), destKey, opened.body, meta, options,
    hashed === undefined ? { holes: true } : { holes: true, through: [hashed.tap], lateChecksums: hashed.checksums })
  return { headers: { 'x-amz-expiration': expirationHeader(destRecord.lifecycle, result.info) }, xml: renderXml('CopyObjectResult', { LastModified: result.info.lastModified, ETag: `"${result.info.etag}"`, ...checksumResult(result.info) }) }
}

/** CopyObjectResult's ChecksumType and Checksum<ALG>: the whole-object checksums the copy has. */
function checksumResult (info: ObjectInfo): Record<string, string> {
  const whole = Object.entries(info.meta.checksums ?? {}).filter(([, v]) => !isCompositeChecksum(v))
  if (whole.length === 0) return {}
  return { ChecksumType: 'FULL_OBJECT', ...Object.fromEntries(whole.map(([alg, v]) => [checksumElement(alg), v])) }
}

/**
 * The metadata a copy asks for: the request's under metadata directive REPLACE, else the source's, but never its
 * redirect location (API reference, CopyObject: only a new one is set). Tags follow x-amz-tagging-directive,
 * independently of the metadata directive: COPY keeps the source's.
 */
function copiedMeta (req: S3Request, source: ObjectInfo, o: { directive: string, redirect: string | undefined, taggingDirective: string }): ObjectMeta {
  // Checksums describe the bytes, which are the source's: never the request's x-amz-checksum-* headers, which
  // nothing here could verify.
  const meta = o.directive === 'REPLACE' ? { ...metaFromHeaders(req.headers), checksums: source.meta.checksums } : { ...source.meta, websiteRedirectLocation: o.redirect }
  meta.tags = o.taggingDirective === 'REPLACE' ? nonEmptyTags(tagsFromHeader(req.headers['x-amz-tagging'])) : source.meta.tags
  return meta
}

/**
 * CopyObject onto itself, in place: the metadata record of the very file the read check walked to is rewritten
 * (updateObjectMeta); the bytes, and so the ETag, checksums and part count, are unchanged, and so is the file's
 * modification time (Last-Modified), which a rewrite of the bytes alone would change over NFS.
 */
async function copyOntoItself (req: S3Request, bucket: BucketRef, key: ObjectKey, checked: PrefetchedWalk | undefined,
  o: { directive: string, redirect: string | undefined, taggingDirective: string, destConditions: ConditionHeaders }): Promise<S3Reply> {
  const current = await headObject(bucket, key, checked)
  checkConditions(conditionsFrom(req.headers, 'x-amz-copy-source-'), current, { isRead: false, notModified: 'PreconditionFailed' })
  checkCopySourceSize(current.size)
  checkWriteConditions(o.destConditions, current, key)
  const asked = copiedMeta(req, current, o)
  const info = await updateObjectMeta(bucket, key, (stored, st) => {
    // What describes the bytes stays; a record an NFS edit made stale describes other bytes and is dropped.
    const base: StoredMeta = stored !== undefined && isStoredMetaCurrent(st, stored) ? stored : { user: {}, etag: effectiveETag(st, stored), ...stampOf(st) }
    return {
      ...base,
      user: asked.user,
      contentType: asked.contentType,
      contentEncoding: asked.contentEncoding,
      contentDisposition: asked.contentDisposition,
      contentLanguage: asked.contentLanguage,
      cacheControl: asked.cacheControl,
      expires: asked.expires,
      websiteRedirectLocation: asked.websiteRedirectLocation,
      tags: asked.tags,
    }
  }, await checkedFile(checked, bucket, key))
  return { xml: renderXml('CopyObjectResult', { LastModified: info.lastModified, ETag: `"${info.etag}"`, ...checksumResult(info) }) }
}
