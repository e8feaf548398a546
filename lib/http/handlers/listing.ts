// Listing handlers: ListObjects (v1), ListObjectsV2, and ListObjectVersions as an unversioned bucket answers it.
import { S3Error } from '../../errors/s3-error.js'
import { listObjects, type ListPage } from '../../storage/listing.js'
import type { ObjectInfo } from '../../storage/types.js'
import { bucketRecord, bucketRef, ownerXml } from '../bucket-access.js'
import { requireAccess } from '../authorize.js'
import { posixAccess } from '../../storage/posix-access.js'
import { relative } from 'node:path'
import { renderXml, type XmlNode } from '../xml/render.js'
import type { S3Reply, S3Request, Services } from '../types.js'
import { ownerNameIn } from '../owner-names.js'

const MAX_KEYS = 1000

function maxKeys (q: URLSearchParams): number {
  const raw = q.get('max-keys')
  if (raw === null) return MAX_KEYS
  if (!/^\d+$/.test(raw)) throw new S3Error('InvalidArgument', { ArgumentName: 'max-keys', ArgumentValue: raw }, { message: 'Provided max-keys not an integer or within integer range' })
  return Math.min(Number(raw), MAX_KEYS)
}

function encodingType (q: URLSearchParams): 'url' | undefined {
  const e = q.get('encoding-type')
  if (e === null) return undefined
  if (e.toLowerCase() !== 'url') throw new S3Error('InvalidArgument', { ArgumentName: 'encoding-type', ArgumentValue: e }, { message: 'Invalid Encoding Method specified in Request' })
  return 'url'
}

/** AWS's encoding-type=url: percent-encoding with spaces as '+', '/' kept (clients decode with unquote_plus). */
function encoder (type: 'url' | undefined): (s: string) => string {
  if (!type) return s => s
  return s => encodeURIComponent(s).replace(/%2F/g, '/').replace(/%20/g, '+').replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

async function page (req: S3Request, s: Services, after: string | undefined): Promise<{ result: ListPage, prefix: string, delimiter?: string, max: number }> {
  const record = bucketRecord(req, s)
  const prefix = req.query.get('prefix') ?? ''
  const delimiter = req.query.get('delimiter') || undefined
  const max = maxKeys(req.query)
  // r+x on the bucket root is required (403 otherwise); deeper folders the principal cannot list, or that are
  // not real folders (a symlink planted over NFS), are skipped like any unreadable folder: an empty listing.
  await requireAccess(req, s, { operation: req.operation, bucket: record, fs: [{ check: 'list', path: '', bucketRoot: record.path }] })
  const p = req.principal
  const posix = posixAccess({ bucketRoot: record.path, principal: p, rootHasRights: p.hasRootRights })
  // Folders the principal cannot list are skipped, as an NFS user's `find` would skip them.
  // A folder renamed or removed while we walk (NFS users at work) is skipped like an unreadable one.
  const canEnter = async (dirPath: string): Promise<boolean> => (await posix.canList(relative(record.path, dirPath)).catch(() => undefined))?.allowed === true
  const result = await listObjects(bucketRef(record), { prefix, delimiter, after, maxKeys: max, canEnter })
  // max-keys=0 asks for nothing: AWS answers an empty page that is not truncated (s3-tests list_maxkeys_zero).
  if (max === 0) result.isTruncated = false
  return { result, prefix, delimiter, max }
}

function owners (s: Services): (uid: number) => string {
  const users = s.state.snapshot().users
  return uid => ownerNameIn(users, uid)
}

function contents (objects: ObjectInfo[], enc: (s: string) => string, ownerName: ((uid: number) => string) | undefined): XmlNode[] {
  return objects.map(o => ({
    Key: enc(o.key),
    LastModified: o.lastModified,
    ETag: `"${o.etag}"`,
    Size: o.size,
    Owner: ownerName ? ownerXml(ownerName(o.ownerUid)) : undefined,
    StorageClass: 'STANDARD',
  }))
}

export async function listObjectsV1 (req: S3Request, s: Services): Promise<S3Reply> {
  const enc = encoder(encodingType(req.query))
  const marker = req.query.get('marker') ?? ''
  const { result, prefix, delimiter, max } = await page(req, s, marker || undefined)
  return {
    xml: renderXml('ListBucketResult', {
      Name: req.bucketName,
      Prefix: enc(prefix),
      Marker: enc(marker),
      NextMarker: result.isTruncated && delimiter && result.lastReturned ? enc(result.lastReturned) : undefined,
      MaxKeys: max,
      Delimiter: delimiter ? enc(delimiter) : undefined,
      IsTruncated: result.isTruncated,
      EncodingType: req.query.get('encoding-type') ? 'url' : undefined,
      Contents: contents(result.objects, enc, owners(s)),
      CommonPrefixes: result.commonPrefixes.map(p => ({ Prefix: enc(p) })),
    }),
  }
}

function decodeToken (token: string): string {
  const key = Buffer.from(token, 'base64url').toString('utf8')
  if (!key.startsWith('k:')) throw new S3Error('InvalidArgument', { ArgumentName: 'continuation-token', ArgumentValue: token }, { message: 'The continuation token provided is incorrect' })
  return key.slice(2)
}

export async function listObjectsV2 (req: S3Request, s: Services): Promise<S3Reply> {
  const enc = encoder(encodingType(req.query))
  const token = req.query.get('continuation-token')
  const startAfter = req.query.get('start-after') ?? undefined
  const after = token !== null ? decodeToken(token) : startAfter || undefined
  const { result, prefix, delimiter, max } = await page(req, s, after)
  const next = result.isTruncated && result.lastReturned ? Buffer.from('k:' + result.lastReturned).toString('base64url') : undefined
  return {
    xml: renderXml('ListBucketResult', {
      Name: req.bucketName,
      Prefix: enc(prefix),
      Delimiter: delimiter ? enc(delimiter) : undefined,
      MaxKeys: max,
      EncodingType: req.query.get('encoding-type') ? 'url' : undefined,
      KeyCount: result.objects.length + result.commonPrefixes.length,
      IsTruncated: result.isTruncated,
      ContinuationToken: token ?? undefined,
      NextContinuationToken: next,
      StartAfter: startAfter !== undefined ? enc(startAfter) : undefined,
      Contents: contents(result.objects, enc, req.query.get('fetch-owner') === 'true' ? owners(s) : undefined),
      CommonPrefixes: result.commonPrefixes.map(p => ({ Prefix: enc(p) })),
    }),
  }
}

export async function listObjectVersions (req: S3Request, s: Services): Promise<S3Reply> {
  const enc = encoder(encodingType(req.query))
  const keyMarker = req.query.get('key-marker') ?? ''
  const { result, prefix, delimiter, max } = await page(req, s, keyMarker || undefined)
  return {
    xml: renderXml('ListVersionsResult', {
      Name: req.bucketName,
      Prefix: enc(prefix),
      KeyMarker: enc(keyMarker),
      VersionIdMarker: req.query.get('version-id-marker') ?? '',
      NextKeyMarker: result.isTruncated && result.lastReturned ? enc(result.lastReturned) : undefined,
      NextVersionIdMarker: result.isTruncated ? 'null' : undefined,
      MaxKeys: max,
      Delimiter: delimiter ? enc(delimiter) : undefined,
      IsTruncated: result.isTruncated,
      EncodingType: req.query.get('encoding-type') ? 'url' : undefined,
      Version: result.objects.map(o => ({
        Key: enc(o.key), VersionId: 'null', IsLatest: true, LastModified: o.lastModified, ETag: `"${o.etag}"`, Size: o.size, Owner: ownerXml(owners(s)(o.ownerUid)), StorageClass: 'STANDARD',
      })),
      CommonPrefixes: result.commonPrefixes.map(p => ({ Prefix: enc(p) })),
    }),
  }
}
