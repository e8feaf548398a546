// DeleteObjects: up to 1000 keys in one POST ?delete, quiet or verbose.
import { S3Error } from '../../errors/s3-error.js'
import { deleteObject } from '../../storage/objects.js'
import { parseObjectKey } from '../../storage/paths.js'
import { bucketRecord, bucketRef } from '../bucket-access.js'
import { decide, relPath, requireAccess } from '../authorize.js'
import { children, parseXml, rootElement, texts } from '../xml/parse.js'
import { renderXml, type XmlNode } from '../xml/render.js'
import type { S3Reply, S3Request, Services } from '../types.js'

const MAX_KEYS = 1000

export async function deleteObjects (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'DeleteObjects', bucket: record })
  const doc = await parseXml(await req.readText(2 * 1024 * 1024))
  const root = rootElement(doc, 'Delete')
  const objects = children(root, 'Object')
  if (objects.length === 0 || objects.length > MAX_KEYS) throw new S3Error('MalformedXML')
  const quiet = texts(root, 'Quiet')[0]?.trim().toLowerCase() === 'true'
  const deleted: XmlNode[] = []
  const errors: XmlNode[] = []
  const bucket = bucketRef(record)
  for (const obj of objects) {
    const raw = texts(obj, 'Key')[0]
    if (raw === undefined) throw new S3Error('MalformedXML')
    const version = texts(obj, 'VersionId')[0]
    try {
      const key = parseObjectKey(raw)
      const d = await decide(req, s, { operation: 'DeleteObject', bucket: record, key, fs: [{ check: 'delete', path: relPath(key), bucketRoot: record.path }] })
      if (!d.allowed && !d.isMissing) throw new S3Error('AccessDenied')
      // Only the null version exists: any other named version is already gone, and the object stays.
      if (version === undefined || version === 'null') await deleteObject(bucket, key)
      if (!quiet) deleted.push({ Key: raw, VersionId: version })
    } catch (err) {
      const e = err instanceof S3Error ? err : new S3Error('InternalError')
      errors.push({ Key: raw, VersionId: version, Code: e.code, Message: e.message })
    }
  }
  return { xml: renderXml('DeleteResult', { Deleted: deleted, Error: errors }) }
}
