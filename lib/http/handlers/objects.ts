// Object handlers: PutObject, GetObject, HeadObject, DeleteObject.
import { S3Error } from '../../errors/s3-error.js'
import { deleteObject as removeObject, headObject as statObject, openObject, putObject as storeObject } from '../../storage/objects.js'
import { parseObjectKey } from '../../storage/paths.js'
import type { ObjectKey } from '../../storage/types.js'
import { bucketRecord, bucketRef, requireBucketPermission, writeOptions } from '../bucket-access.js'
import { checkConditions, checksumHeaders, conditionsFrom, metaFromHeaders, objectHeaders, parseRange, quoteETag } from '../s3-headers.js'
import type { S3Reply, S3Request, Services } from '../types.js'

const MAX_PUT_BYTES = 5 * 1024 ** 4

export function requestKey (req: S3Request): ObjectKey {
  return parseObjectKey(req.rawKey ?? '')
}

export async function putObject (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = requestKey(req)
  requireBucketPermission(record, req, 'WRITE')
  const declared = Number(req.headers['x-amz-decoded-content-length'] ?? req.headers['content-length'] ?? 0)
  if (declared > MAX_PUT_BYTES) throw new S3Error('EntityTooLarge', { ProposedSize: declared, MaxSizeAllowed: MAX_PUT_BYTES })
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) throw new S3Error('MissingContentLength')
  const meta = metaFromHeaders(req.headers)
  const result = await storeObject(bucketRef(record), key, req.body(), meta, writeOptions(req, s))
  return { headers: { ETag: quoteETag(result.info.etag), ...checksumHeaders(result.info) } }
}

export async function getObject (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = requestKey(req)
  const bucket = bucketRef(record)
  const info = await statObject(bucket, key)
  checkConditions(conditionsFrom(req.headers), info, { isRead: true, notModified: 'NotModified' })
  const rangeHeader = req.headers.range
  const range = parseRange(rangeHeader, info.size)
  const opened = await openObject(bucket, key, range)
  const headers = { ...objectHeaders(opened.info, req.query), ...checksumHeaders(opened.info) }
  if (range) {
    headers['Content-Range'] = `bytes ${range.start}-${range.end}/${opened.info.size}`
    return { status: 206, headers, body: opened.body, length: range.end - range.start + 1 }
  }
  return { status: 200, headers, body: opened.body, length: opened.info.size }
}

export async function headObject (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = requestKey(req)
  const info = await statObject(bucketRef(record), key)
  checkConditions(conditionsFrom(req.headers), info, { isRead: true, notModified: 'NotModified' })
  const range = parseRange(req.headers.range, info.size)
  const headers = { ...objectHeaders(info, req.query), ...checksumHeaders(info) }
  if (range) {
    headers['Content-Range'] = `bytes ${range.start}-${range.end}/${info.size}`
    return { status: 206, headers, length: range.end - range.start + 1 }
  }
  return { status: 200, headers, length: info.size }
}

export async function deleteObject (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = requestKey(req)
  requireBucketPermission(record, req, 'WRITE')
  await removeObject(bucketRef(record), key)
  return { status: 204 }
}
