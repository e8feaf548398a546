// Listing handlers: ListObjects (v1), ListObjectsV2, and ListObjectVersions as an unversioned bucket answers it.
import { S3Error } from '../../errors/s3-error.js'
import { listObjects, type FolderIdentity, type ListPage } from '../../storage/listing.js'
import { isCompositeChecksum } from '../../storage/multipart.js'
import type { ObjectInfo } from '../../storage/types.js'
import { bucketRecord, bucketRef, ownerXml } from '../bucket-access.js'
import { requireAccess } from '../authorize.js'
import { posixAccess } from '../../storage/posix-access.js'
import { relative } from 'node:path'
import { escapeXml, RawXml, renderElement, renderXmlBuffer, s3Timestamp } from '../xml/render.js'
import type { S3Reply, S3Request, Services } from '../types.js'
import { ownerNameIn } from '../owner-names.js'

const MAX_KEYS = 1000

function maxKeys (q: URLSearchParams): number {
  const raw = q.get('max-keys')
  if (raw === null) return MAX_KEYS
  // A Java int on AWS's side: beyond 2^31 - 1 it is "not within integer range" either.
  if (!/^\d+$/.test(raw) || Number(raw) > 2147483647) throw new S3Error('InvalidArgument', { ArgumentName: 'max-keys', ArgumentValue: raw }, { message: 'Provided max-keys not an integer or within integer range' })
  return Math.min(Number(raw), MAX_KEYS)
}

function encodingType (q: URLSearchParams): 'url' | undefined {
  const e = q.get('encoding-type')
  if (e === null) return undefined
  if (e.toLowerCase() !== 'url') throw new S3Error('InvalidArgument', { ArgumentName: 'encoding-type', ArgumentValue: e }, { message: 'Invalid Encoding Method specified in Request' })
  return 'url'
}

/** The key encoder a listing's encoding-type asks for (ListObjects, ListObjectVersions, ListMultipartUploads). */
export function keyEncoder (q: URLSearchParams): (s: string) => string {
  return encoder(encodingType(q))
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
  // The answer names the folder judged, which the listing then reads through a descriptor it checks against it.
  const canEnter = async (dirPath: string): Promise<boolean | FolderIdentity> => {
    const answer = await posix.canList(relative(record.path, dirPath)).catch(() => undefined)
    return answer?.allowed === true ? (answer.target ?? true) : false
  }
  const viewer = { who: { uid: p.uid, gid: p.gid, groups: p.groups }, rootHasRights: p.hasRootRights }
  const result = await listObjects(bucketRef(record), { prefix, delimiter, after, maxKeys: max, canEnter, viewer })
  // max-keys=0 asks for nothing: AWS answers an empty page that is not truncated (s3-tests list_maxkeys_zero).
  if (max === 0) result.isTruncated = false
  return { result, prefix, delimiter, max }
}

function owners (s: Services): (uid: number) => string {
  const users = s.state.snapshot().users
  return uid => ownerNameIn(users, uid)
}

/**
 * The page's <Contents> elements, written straight into one string: the generic renderer's per-key objects and
 * property walks cost more than the listing itself at 1,000 keys a page. Renders exactly what
 * renderXml('…', { Contents: [{ Key, LastModified, ETag, ChecksumAlgorithm, ChecksumType, Size, Owner, StorageClass }] })
 * would.
 */
/**
 * An object's checksum as listings name it (API_Object: ChecksumAlgorithm, ChecksumType): the algorithm of the
 * checksum stored with it, FULL_OBJECT or, for a multipart upload's checksum of its parts, COMPOSITE.
 */
function listedChecksum (o: ObjectInfo): { algorithm: string, type: 'FULL_OBJECT' | 'COMPOSITE' } | undefined {
  const checksums = o.meta.checksums
  if (checksums === undefined) return undefined
  for (const [alg, value] of Object.entries(checksums)) {
    return { algorithm: alg.toUpperCase(), type: isCompositeChecksum(value) ? 'COMPOSITE' : 'FULL_OBJECT' }
  }
  return undefined
}

export function contents (objects: ObjectInfo[], enc: (s: string) => string, ownerName: ((uid: number) => string) | undefined): RawXml {
  // Each element is written into one buffer as it is made: a 200 KiB string built with += is a rope, and
  // flattening and encoding it cost more than building it.
  let buf = Buffer.allocUnsafe(Math.max(1024, objects.length * 320))
  let at = 0
  let lastMs = NaN
  let lastIso = ''
  const ownerOf = new Map<number, string>()
  for (const o of objects) {
    const ms = o.lastModified.getTime()
    if (ms !== lastMs) { lastMs = ms; lastIso = s3Timestamp(o.lastModified) }
    let owner = ''
    if (ownerName) {
      const hit = ownerOf.get(o.ownerUid)
      if (hit === undefined) {
        owner = renderElement('Owner', ownerXml(ownerName(o.ownerUid)))
        ownerOf.set(o.ownerUid, owner)
      } else {
        owner = hit
      }
    }
    const checksum = listedChecksum(o)
    const xml = '<Contents><Key>' + escapeXml(enc(o.key)) + '</Key><LastModified>' + lastIso + '</LastModified><ETag>&quot;' +
      escapeXml(o.etag) + '&quot;</ETag>' +
      (checksum === undefined ? '' : '<ChecksumAlgorithm>' + checksum.algorithm + '</ChecksumAlgorithm><ChecksumType>' + checksum.type + '</ChecksumType>') +
      '<Size>' + o.size + '</Size>' + owner + '<StorageClass>STANDARD</StorageClass></Contents>'
    if (at + xml.length * 3 > buf.length) { // a UTF-16 unit is at most 3 bytes of UTF-8
      const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, at + xml.length * 3))
      buf.copy(bigger, 0, 0, at)
      buf = bigger
    }
    at += buf.write(xml, at)
  }
  return new RawXml(buf.subarray(0, at))
}

export async function listObjectsV1 (req: S3Request, s: Services): Promise<S3Reply> {
  const enc = encoder(encodingType(req.query))
  const marker = req.query.get('marker') ?? ''
  const { result, prefix, delimiter, max } = await page(req, s, marker || undefined)
  return xmlReply(renderXmlBuffer('ListBucketResult', {
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
  }))
}

/**
 * The page as a Buffer with its length: a 200 KiB string would be scanned by Koa for its byte length and then
 * encoded again on write. Same bytes and headers as a reply's `xml`.
 */
function xmlReply (body: Buffer): S3Reply {
  return { body, length: body.length, headers: { 'Content-Type': 'application/xml' } }
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
  return xmlReply(renderXmlBuffer('ListBucketResult', {
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
  }))
}

export async function listObjectVersions (req: S3Request, s: Services): Promise<S3Reply> {
  const enc = encoder(encodingType(req.query))
  const keyMarker = req.query.get('key-marker') ?? ''
  // Every object has the one version "null": any other marker names no version (AWS's two answers, versitygw#2174, #1811).
  const versionMarker = req.query.get('version-id-marker') ?? ''
  if (versionMarker !== '') {
    const argument = { ArgumentName: 'version-id-marker', ArgumentValue: versionMarker }
    if (keyMarker === '') throw new S3Error('InvalidArgument', argument, { message: 'A version-id marker cannot be specified without a key marker.' })
    if (versionMarker !== 'null') throw new S3Error('InvalidArgument', argument, { message: 'Invalid version id specified' })
  }
  const { result, prefix, delimiter, max } = await page(req, s, keyMarker || undefined)
  return xmlReply(renderXmlBuffer('ListVersionsResult', {
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
    Version: result.objects.map(o => {
      const checksum = listedChecksum(o)
      return {
        Key: enc(o.key), VersionId: 'null', IsLatest: true, LastModified: o.lastModified, ETag: `"${o.etag}"`,
        ChecksumAlgorithm: checksum?.algorithm, ChecksumType: checksum?.type,
        Size: o.size, Owner: ownerXml(owners(s)(o.ownerUid)), StorageClass: 'STANDARD',
      }
    }),
    CommonPrefixes: result.commonPrefixes.map(p => ({ Prefix: enc(p) })),
  }))
}
