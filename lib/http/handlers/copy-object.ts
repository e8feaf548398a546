// CopyObject: same or another bucket, metadata COPY or REPLACE, x-amz-copy-source-if-* conditions.
import { S3Error } from '../../errors/s3-error.js'
import { openObject, prefetchForRead, putObject } from '../../storage/objects.js'
import { isCompositeChecksum } from '../../storage/multipart.js'
import { parseObjectKey } from '../../storage/paths.js'
import type { ObjectKey } from '../../storage/types.js'
import { bucketRecord, bucketRef, writeOptions } from '../bucket-access.js'
import { checkAclHeadersAllowed, requireUploadHeaderActions } from '../acl-headers.js'
import { requireAccess } from '../authorize.js'
import { createNeed } from '../../access/fs-needs.js'
import { checkWriteConditionHeaders, guardConditionalWrite } from '../conditional-write.js'
import { checkConditions, checkEncryptionHeaders, checkObjectLockHeaders, conditionsFrom, metaFromHeaders, websiteRedirectFrom } from '../s3-headers.js'
import { renderXml } from '../xml/render.js'
import { tagsFromHeader } from '../tagging.js'
import type { S3Reply, S3Request, Services } from '../types.js'
import { readNeeds, requestKey } from './objects.js'

const MAX_COPY_SOURCE_BYTES = 5 * 1024 ** 3

const nonEmptyTags = <T>(tags: T[] | undefined): T[] | undefined => tags !== undefined && tags.length > 0 ? tags : undefined

/** Parses x-amz-copy-source: "[/]bucket/key[?versionId=...]", URL-encoded. */
export function parseCopySource (value: string | string[] | undefined): { bucket: string, key: ObjectKey } {
  if (typeof value !== 'string' || value === '') throw new S3Error('InvalidArgument', {}, { message: 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey' })
  let v = value.startsWith('/') ? value.slice(1) : value
  const q = v.indexOf('?')
  if (q >= 0) {
    const version = new URLSearchParams(v.slice(q + 1)).get('versionId')
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
  if (srcRecord.name === destRecord.name && src.key === destKey && directive === 'COPY' && redirect === undefined) {
    throw new S3Error('InvalidRequest', {}, { message: 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.' })
  }
  // The source is opened as the very file its read check walked to (prefetchForRead; openObject compares).
  const srcChecked = prefetchForRead(bucketRef(srcRecord), src.key, { read: false })
  await requireAccess(req, s, { ...readNeeds('GetObject', srcRecord, src.key), prefetched: srcChecked }, { missingIsNoSuchKey: true })
  await requireAccess(req, s, { operation: 'CopyObject', bucket: destRecord, key: destKey, fs: [createNeed(destRecord.path, destKey)] })
  checkAclHeadersAllowed(req, destRecord)
  // Tags from the header are set only under x-amz-tagging-directive REPLACE; COPY keeps the source's.
  await requireUploadHeaderActions(req, s, { operation: 'CopyObject', bucket: destRecord, key: destKey }, { tagging: taggingDirective === 'REPLACE' })
  // If-Match / If-None-Match (no prefix) are conditions on the destination, as for PutObject.
  const destConditions = conditionsFrom(req.headers)
  checkWriteConditionHeaders(destConditions, 'CopyObject')
  const opened = await openObject(bucketRef(srcRecord), src.key, undefined, srcChecked)
  try {
    checkConditions(conditionsFrom(req.headers, 'x-amz-copy-source-'), opened.info, { isRead: false, notModified: 'PreconditionFailed' })
    // AWS copies at most 5 GB in one CopyObject (larger objects go through UploadPartCopy). A longer copy would
    // also send nothing for minutes, and SDKs time out and retry it from the start.
    if (opened.info.size > MAX_COPY_SOURCE_BYTES) {
      throw new S3Error('InvalidRequest', {}, { message: `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_SOURCE_BYTES}` })
    }
  } catch (err) {
    opened.body.destroy()
    throw err
  }
  // The redirect location is never copied with the metadata (API reference, CopyObject): only a new one is set.
  const meta = directive === 'REPLACE' ? metaFromHeaders(req.headers) : { ...opened.info.meta, websiteRedirectLocation: redirect }
  // A multipart source's COMPOSITE checksum ("...-N") describes its parts, which the copy does not have.
  if (meta.checksums !== undefined) {
    const whole = Object.entries(meta.checksums).filter(([, v]) => !isCompositeChecksum(v))
    meta.checksums = whole.length > 0 ? Object.fromEntries(whole) : undefined
  }
  // Tags follow x-amz-tagging-directive, independently of the metadata directive: COPY keeps the source's.
  meta.tags = taggingDirective === 'REPLACE' ? nonEmptyTags(tagsFromHeader(req.headers['x-amz-tagging'])) : opened.info.meta.tags
  const options = writeOptions(req, s, destRecord)
  try {
    await guardConditionalWrite(bucketRef(destRecord), destKey, destConditions, options)
  } catch (err) {
    opened.body.destroy()
    throw err
  }
  const result = await putObject(bucketRef(destRecord), destKey, opened.body, meta, options, { holes: true })
  return {
    xml: renderXml('CopyObjectResult', { LastModified: result.info.lastModified, ETag: `"${result.info.etag}"` }),
  }
}
