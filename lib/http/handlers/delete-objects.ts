// DeleteObjects: up to 1000 keys in one POST ?delete, quiet or verbose.
import { S3Error, s3ErrorFromErrno } from '../../errors/s3-error.js'
import { deleteObject, prefetchForRead } from '../../storage/objects.js'
import { parseObjectKey } from '../../storage/paths.js'
import { bucketRecord, bucketRef, folderCheck } from '../bucket-access.js'
import { deleteGuard, isEtagCondition } from '../conditional-write.js'
import { readNeeds } from './objects.js'
import { decide, requireAccess } from '../authorize.js'
import { deleteNeed } from '../../access/fs-needs.js'
import { children, parseXml, rootElement, texts } from '../xml/parse.js'
import { renderXml, type XmlNode } from '../xml/render.js'
import { requireIntegrityHeader } from '../s3-headers.js'
import type { S3Reply, S3Request, Services } from '../types.js'

const MAX_KEYS = 1000

export async function deleteObjects (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'DeleteObjects', bucket: record })
  requireIntegrityHeader(req.headers)
  const doc = await parseXml(await req.readText(2 * 1024 * 1024))
  const root = rootElement(doc, 'Delete')
  const objects = children(root, 'Object')
  if (objects.length === 0 || objects.length > MAX_KEYS) throw new S3Error('MalformedXML')
  // An xs:boolean: true/1 or false/0 (any case, as before); anything else does not validate against the schema.
  const quietText = texts(root, 'Quiet')[0]?.trim().toLowerCase()
  if (quietText !== undefined && !['true', 'false', '1', '0'].includes(quietText)) throw new S3Error('MalformedXML')
  const quiet = quietText === 'true' || quietText === '1'
  const deleted: XmlNode[] = []
  const errors: XmlNode[] = []
  const bucket = bucketRef(record)
  for (const obj of objects) {
    const raw = texts(obj, 'Key')[0]
    if (raw === undefined) throw new S3Error('MalformedXML')
    const version = texts(obj, 'VersionId')[0]
    try {
      const key = parseObjectKey(raw)
      const d = await decide(req, s, { operation: 'DeleteObject', bucket: record, key, fs: [deleteNeed(record.path, key)] })
      if (!d.allowed && !d.isMissing) throw new S3Error('AccessDenied')
      // Only the null version exists: any other named version is already gone, and the object stays.
      const etag = texts(obj, 'ETag')[0]
      // An ETag condition reads the object (as DeleteObject's If-Match): one walk for that check and the delete's
      // first look, so the ETag is compared on the file the check judged.
      const checked = isEtagCondition(etag) ? prefetchForRead(bucket, key, { read: false }) : undefined
      if (isEtagCondition(etag)) {
        const read = await decide(req, s, { ...readNeeds('GetObject', record, key), prefetched: checked })
        if (!read.allowed && !read.isMissing) throw new S3Error('AccessDenied')
      }
      if (version === undefined || version === 'null') await deleteObject(bucket, key, checked, folderCheck(req), deleteGuard(etag, key))
      if (!quiet) deleted.push({ Key: raw, VersionId: version })
    } catch (err) {
      // As a single DeleteObject would answer it (errorResponse): a filesystem error by its S3 code, anything else
      // InternalError, logged, since the batch's 200 would otherwise hide it from the operator.
      const e = err instanceof S3Error ? err : s3ErrorFromErrno(err) ?? new S3Error('InternalError')
      if (e.code === 'InternalError') s.log.error({ err, requestId: req.requestId, key: raw }, 'DeleteObjects: internal error')
      errors.push({ Key: raw, VersionId: version, Code: e.code, Message: e.message })
    }
  }
  return { xml: renderXml('DeleteResult', { Deleted: deleted, Error: errors }) }
}
