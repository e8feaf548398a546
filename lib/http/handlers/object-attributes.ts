// GetObjectAttributes: the attributes x-amz-object-attributes names (ETag, Checksum, ObjectParts, StorageClass,
// ObjectSize) of one object, without its body; the read conditions of GetObject apply.
import { S3Error } from '../../errors/s3-error.js'
import { headObject as statObject, prefetchForRead } from '../../storage/objects.js'
import { isCompositeChecksum, partCountOf, partsFit, partSize } from '../../storage/multipart.js'
import type { ObjectInfo } from '../../storage/types.js'
import { requireAccess } from '../authorize.js'
import { actionFor } from '../../access/actions.js'
import { bucketRecord, bucketRef } from '../bucket-access.js'
import { checkConditions, conditionsFrom } from '../s3-headers.js'
import type { S3Reply, S3Request, Services } from '../types.js'
import { renderXml, type XmlNode } from '../xml/render.js'
import { readNeeds, requestKey } from './objects.js'
import { countParam, MAX_LISTED } from './multipart.js'

const ATTRIBUTES = new Set(['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'])
const CHECKSUM_ELEMENTS: Record<string, string> = {
  crc32: 'ChecksumCRC32', crc32c: 'ChecksumCRC32C', crc64nvme: 'ChecksumCRC64NVME', sha1: 'ChecksumSHA1', sha256: 'ChecksumSHA256',
}

/** The attribute names asked for; AWS refuses a request without any, or with one it does not know. */
function requestedAttributes (req: S3Request): Set<string> {
  const raw = req.headers['x-amz-object-attributes']
  const names = (Array.isArray(raw) ? raw.join(',') : raw ?? '').split(',').map(s => s.trim()).filter(Boolean)
  // AWS's answer to a missing or empty header (as versitygw#915 records it).
  if (names.length === 0) throw new S3Error('InvalidRequest', {}, { message: 'The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty' })
  for (const name of names) {
    if (!ATTRIBUTES.has(name)) throw new S3Error('InvalidArgument', { ArgumentName: 'x-amz-object-attributes', ArgumentValue: name }, { message: 'Invalid attribute name specified.' })
  }
  return new Set(names)
}

/** x-amz-max-parts (at most 1,000, the default) or x-amz-part-number-marker (default 0). */
function partsHeader (req: S3Request, name: 'x-amz-max-parts' | 'x-amz-part-number-marker'): number {
  const raw = req.headers[name]
  const text = raw === undefined ? undefined : Array.isArray(raw) ? raw.join(',') : raw.trim()
  return name === 'x-amz-max-parts' ? Math.min(countParam(name, text, MAX_LISTED), MAX_LISTED) : countParam(name, text, 0)
}

/**
 * ObjectParts of a multipart object: its parts count, and (as AWS does for an object with an additional checksum)
 * a page of its parts, each with its size and checksum, when Complete could store them with the object (they are
 * dropped when the filesystem's attributes cannot hold them: ext4 keeps about 60 SHA-256 part checksums).
 */
function objectParts (req: S3Request, info: ObjectInfo): XmlNode {
  const maxParts = partsHeader(req, 'x-amz-max-parts')
  const marker = partsHeader(req, 'x-amz-part-number-marker')
  const count = info.partCount as number
  const table = info.partTable
  const algorithm = Object.keys(info.meta.checksums ?? {}).find(alg => CHECKSUM_ELEMENTS[alg] !== undefined)
  const sums = table?.checksums
  if (algorithm === undefined || sums?.length !== count || !partsFit(table?.sizes, info.size) || partCountOf(table.sizes) !== count) return { PartsCount: count }
  const first = marker + 1
  const last = Math.min(count, marker + maxParts)
  const parts: XmlNode[] = []
  for (let n = first; n <= last; n++) parts.push({ [CHECKSUM_ELEMENTS[algorithm]!]: sums[n - 1], PartNumber: n, Size: partSize(table.sizes, n) })
  // max-parts 0 lists nothing and is not truncated, as ListObjects answers max-keys=0 (a client paging until
  // IsTruncated is false would otherwise ask forever).
  const isTruncated = maxParts > 0 && last < count
  return {
    IsTruncated: isTruncated,
    MaxParts: maxParts,
    NextPartNumberMarker: parts.length > 0 ? last : undefined, // the last part listed, as ListParts says it
    PartNumberMarker: marker,
    Part: parts,
    PartsCount: count,
  }
}

export async function getObjectAttributes (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = requestKey(req)
  const wanted = requestedAttributes(req)
  // The attributes (ETag, checksums) of the file the check walked to, not of one renamed in meanwhile (review 7
  // leaked another user's hashes that way).
  const checked = prefetchForRead(bucketRef(record), key, { read: false })
  await requireAccess(req, s, { ...readNeeds('GetObjectAttributes', record, key), prefetched: checked }, { missingIsNoSuchKey: true })
  // AWS asks s3:GetObject as well (s3:GetObjectVersion for a version): the ETag and checksums are the content's,
  // so a policy that denies reading an object denies its attributes too.
  await requireAccess(req, s, { operation: 'GetObjectAttributes', action: req.query.has('versionId') ? 's3:GetObjectVersion' : actionFor('GetObjectAttributes').alsoAction, bucket: record, key, prefetched: checked }, { missingIsNoSuchKey: true })
  const info = await statObject(bucketRef(record), key, checked)
  checkConditions(conditionsFrom(req.headers), info, { isRead: true, notModified: 'NotModified' })
  const body: XmlNode = {}
  if (wanted.has('ETag')) body.ETag = info.etag
  if (wanted.has('Checksum')) {
    const checksums = Object.entries(info.meta.checksums ?? {}).filter(([alg]) => CHECKSUM_ELEMENTS[alg] !== undefined)
    if (checksums.length > 0) {
      const checksum: XmlNode = {}
      for (const [alg, value] of checksums) checksum[CHECKSUM_ELEMENTS[alg]!] = value
      checksum.ChecksumType = checksums.some(([, v]) => isCompositeChecksum(v)) ? 'COMPOSITE' : 'FULL_OBJECT'
      body.Checksum = checksum
    }
  }
  if (wanted.has('ObjectParts') && info.partCount !== undefined) body.ObjectParts = objectParts(req, info)
  if (wanted.has('StorageClass')) body.StorageClass = 'STANDARD'
  if (wanted.has('ObjectSize')) body.ObjectSize = info.size
  return { headers: { 'Last-Modified': info.lastModified.toUTCString() }, xml: renderXml('GetObjectAttributesResponse', body) }
}
