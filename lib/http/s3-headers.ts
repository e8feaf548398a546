// S3 headers: metadata in, object headers out, conditional requests and byte ranges.
import { isUtf8 } from 'node:buffer'
import type { IncomingHttpHeaders } from 'node:http'
import { CHECKSUM_ALGORITHMS, isChecksumAlgorithm, type ChecksumAlgorithm } from '../auth/checksums.js'
import { S3Error } from '../errors/s3-error.js'
import { isCompositeChecksum } from '../storage/multipart.js'
import type { ObjectInfo, ObjectMeta } from '../storage/types.js'
import { decodeHeaderValue, encodeHeaderValue } from './mime-words.js'
import { tagsFromHeader } from './tagging.js'

const MAX_USER_META_BYTES = 2048

function header (headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v.join(',') : v
}

/** The storage classes AWS names; the bridge stores every object alike, but refuses names AWS would refuse. */
export const STORAGE_CLASSES = new Set(['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER',
  'DEEP_ARCHIVE', 'OUTPOSTS', 'GLACIER_IR', 'SNOW', 'EXPRESS_ONEZONE'])

/**
 * Server-side encryption headers. Objects are plain files on the NAS: SSE-S3 (AES256) is accepted as the
 * request of encryption at rest the storage provides, but SSE-C and SSE-KMS cannot be honoured, and storing the
 * data in the clear while the client believes it encrypted would be worse than refusing: 501 NotImplemented.
 */
export function checkEncryptionHeaders (headers: IncomingHttpHeaders): void {
  const sse = header(headers, 'x-amz-server-side-encryption')
  if (sse !== undefined && sse !== 'AES256') {
    if (sse === 'aws:kms' || sse === 'aws:kms:dsse') throw new S3Error('NotImplemented', { Header: 'x-amz-server-side-encryption' }, { message: 'Server-side encryption with KMS keys is not implemented.' })
    throw new S3Error('InvalidArgument', { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: sse }, { message: 'The encryption method specified is not supported' })
  }
  for (const name of ['x-amz-server-side-encryption-customer-algorithm', 'x-amz-copy-source-server-side-encryption-customer-algorithm']) {
    if (header(headers, name) !== undefined) throw new S3Error('NotImplemented', { Header: name }, { message: 'Server-side encryption with customer-provided keys is not implemented.' })
  }
}

/**
 * Object Lock headers. No bucket of the bridge has Object Lock (a file on the NAS can be changed or removed over
 * NFS whatever S3 promised), so a write asking for retention or a legal hold is refused as AWS refuses it on a
 * bucket without an Object Lock configuration (versitygw#1751 records AWS's text for PutObject, CopyObject and
 * CreateMultipartUpload), rather than stored unprotected while the client believes it protected.
 */
export function checkObjectLockHeaders (headers: IncomingHttpHeaders): void {
  for (const name of ['x-amz-object-lock-mode', 'x-amz-object-lock-retain-until-date', 'x-amz-object-lock-legal-hold']) {
    if (header(headers, name) !== undefined) throw new S3Error('InvalidRequest', {}, { message: 'Bucket is missing ObjectLockConfiguration' })
  }
}

/**
 * x-amz-website-redirect-location of a PUT, POST, copy or CreateMultipartUpload: must start with "/", "http://"
 * or "https://" (API reference, PutObject; AWS's InvalidRedirectLocation otherwise) and be at most 2 KB.
 */
export function websiteRedirectFrom (headers: IncomingHttpHeaders): string | undefined {
  const v = header(headers, 'x-amz-website-redirect-location')
  if (v === undefined) return undefined
  if (!/^(\/|http:\/\/|https:\/\/)/.test(v) || Buffer.byteLength(v) > 2048) throw new S3Error('InvalidRedirectLocation')
  return v
}

/**
 * A metadata value as its sender meant it. Header bytes reach us as latin-1 characters; when they are valid UTF-8
 * (boto3, the SDKs and curl send non-ASCII that way) they are read as UTF-8, so the NFS side's xattr and a GET
 * give back the characters that were sent. AWS reads them as latin-1 and returns mojibake (minio/minio#21282);
 * bytes that are not UTF-8 stay latin-1, as there. Form fields (POST Object) are text already.
 */
function metaValue (raw: string, fromForm: boolean): string {
  let v = raw
  if (!fromForm && /[\x80-\xff]/.test(v)) {
    const bytes = Buffer.from(v, 'latin1')
    if (isUtf8(bytes)) v = bytes.toString('utf8')
  }
  // Encoded-words are decoded before storing, as S3 does; GET and HEAD encode again what is not plain ASCII.
  return decodeHeaderValue(v)
}

/** Standard headers and x-amz-meta-* of a PUT/POST/copy with REPLACE (fromForm: the fields of a POST Object form). */
export function metaFromHeaders (headers: IncomingHttpHeaders, opts: { fromForm?: boolean } = {}): ObjectMeta {
  checkEncryptionHeaders(headers)
  checkObjectLockHeaders(headers)
  const storageClass = header(headers, 'x-amz-storage-class')
  if (storageClass !== undefined && !STORAGE_CLASSES.has(storageClass)) throw new S3Error('InvalidStorageClass', { StorageClassRequested: storageClass })
  const user: Record<string, string> = {}
  let size = 0
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue
    const v = metaValue(Array.isArray(value) ? value.join(',') : value, opts.fromForm === true)
    const k = name.slice('x-amz-meta-'.length)
    user[k] = v
    size += Buffer.byteLength(k) + Buffer.byteLength(v)
  }
  if (size > MAX_USER_META_BYTES) throw new S3Error('MetadataTooLarge', { Size: size, MaxSizeAllowed: MAX_USER_META_BYTES })
  const checksums: Record<string, string> = {}
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = header(headers, `x-amz-checksum-${alg}`)
    if (v) checksums[alg] = v
  }
  return {
    user,
    contentType: header(headers, 'content-type') ?? 'binary/octet-stream',
    contentEncoding: stripAwsChunked(header(headers, 'content-encoding')),
    contentDisposition: header(headers, 'content-disposition'),
    contentLanguage: header(headers, 'content-language'),
    cacheControl: header(headers, 'cache-control'),
    expires: header(headers, 'expires'),
    checksums: Object.keys(checksums).length ? checksums : undefined,
    tags: nonEmpty(tagsFromHeader(headers['x-amz-tagging'])),
    websiteRedirectLocation: websiteRedirectFrom(headers),
  }
}

const nonEmpty = <T>(list: T[] | undefined): T[] | undefined => list !== undefined && list.length > 0 ? list : undefined

/** aws-chunked is transfer framing, not a property of the stored object. */
function stripAwsChunked (value: string | undefined): string | undefined {
  if (!value) return undefined
  const rest = value.split(',').map(s => s.trim()).filter(s => s !== '' && s !== 'aws-chunked')
  return rest.length ? rest.join(',') : undefined
}

/** An upload must declare its length (or be chunked) and stay within maxBytes (decoded length for aws-chunked). */
export function checkDeclaredLength (headers: IncomingHttpHeaders, maxBytes: number): void {
  if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) throw new S3Error('MissingContentLength')
  const declared = Number(headers['x-amz-decoded-content-length'] ?? headers['content-length'] ?? 0)
  if (declared > maxBytes) throw new S3Error('EntityTooLarge', { ProposedSize: declared, MaxSizeAllowed: maxBytes })
}

export function quoteETag (etag: string): string {
  return `"${etag}"`
}

/** What node:http refuses in a header value (its checkInvalidHeaderChar): controls other than tab, and past latin-1. */
const UNSENDABLE = /[^\t\x20-\x7e\x80-\xff]/

/**
 * A response-* parameter's value, sent as its ISO-8859-1 bytes as AWS does ("ü" as 0xFC); one that ISO-8859-1 cannot
 * carry (a character past U+00FF, or a control character that would end the header) is refused with AWS's answer.
 */
function overrideParam (query: URLSearchParams, name: string): string | undefined {
  const v = query.get(name)
  if (v === null) return undefined
  if (UNSENDABLE.test(v)) {
    throw new S3Error('InvalidArgument', { ArgumentName: name, ArgumentValue: v }, { message: 'Header value cannot be represented using ISO-8859-1.' })
  }
  return v
}

/** The response-* parameters of GetObject and HeadObject. */
export const RESPONSE_OVERRIDE_PARAMS = ['response-content-type', 'response-content-encoding', 'response-content-disposition', 'response-content-language', 'response-cache-control', 'response-expires']

/** Refuses, before anything is opened, a response-* value that objectHeaders could not send. */
export function checkResponseOverrideValues (query: URLSearchParams): void {
  for (const name of RESPONSE_OVERRIDE_PARAMS) overrideParam(query, name)
}

/** Headers describing an object, as GET and HEAD send them. */
export function objectHeaders (info: ObjectInfo, query: URLSearchParams): Record<string, string | number | undefined> {
  const m = info.meta
  const h: Record<string, string | number | undefined> = {
    ETag: quoteETag(info.etag),
    'Last-Modified': info.lastModified.toUTCString(),
    'Accept-Ranges': 'bytes',
    'Content-Type': overrideParam(query, 'response-content-type') ?? m.contentType ?? 'binary/octet-stream',
    'Content-Encoding': overrideParam(query, 'response-content-encoding') ?? m.contentEncoding,
    'Content-Disposition': overrideParam(query, 'response-content-disposition') ?? m.contentDisposition,
    'Content-Language': overrideParam(query, 'response-content-language') ?? m.contentLanguage,
    'Cache-Control': overrideParam(query, 'response-cache-control') ?? m.cacheControl,
    Expires: overrideParam(query, 'response-expires') ?? m.expires,
  }
  // A stored value Node cannot put in a header (from a POST form, or written by another tool) is sent RFC
  // 2047-encoded, never refused with a 500; user metadata is encoded whenever it is not plain ASCII, as S3 does.
  for (const name of ['Content-Type', 'Content-Encoding', 'Content-Disposition', 'Content-Language', 'Cache-Control', 'Expires']) {
    const v = h[name]
    if (typeof v === 'string' && UNSENDABLE.test(v)) h[name] = encodeHeaderValue(v)
  }
  for (const [k, v] of Object.entries(m.user)) h[`x-amz-meta-${k}`] = encodeHeaderValue(v)
  if (m.websiteRedirectLocation !== undefined) h['x-amz-website-redirect-location'] = encodeHeaderValue(m.websiteRedirectLocation)
  if (m.tags !== undefined && m.tags.length > 0) h['x-amz-tagging-count'] = m.tags.length
  return h
}

/**
 * Stored x-amz-checksum-* headers, sent (as AWS does) only for whole-object reads that asked with
 * x-amz-checksum-mode: ENABLED, or for the PUT that stored them.
 */
export function checksumHeaders (info: ObjectInfo, request?: { headers: IncomingHttpHeaders, isRanged: boolean }): Record<string, string> {
  const out: Record<string, string> = {}
  if (request && (request.isRanged || String(request.headers['x-amz-checksum-mode'] ?? '').toUpperCase() !== 'ENABLED')) return out
  for (const [alg, v] of Object.entries(info.meta.checksums ?? {})) {
    out[`x-amz-checksum-${alg}`] = v
    out['x-amz-checksum-type'] = isCompositeChecksum(v) ? 'COMPOSITE' : 'FULL_OBJECT'
  }
  return out
}

/**
 * x-amz-checksum-algorithm of CreateMultipartUpload and CopyObject: the algorithm the object (or upload) is to
 * have a checksum of; undefined when the header is absent, 400 InvalidRequest when AWS does not know it.
 */
export function checksumAlgorithmHeader (headers: IncomingHttpHeaders): ChecksumAlgorithm | undefined {
  const raw = headers['x-amz-checksum-algorithm']
  if (typeof raw !== 'string') return undefined
  const algorithm = raw.trim().toLowerCase()
  if (!isChecksumAlgorithm(algorithm)) {
    throw new S3Error('InvalidRequest', {}, { message: 'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]' })
  }
  return algorithm
}

/** XML element of a checksum: sha256 → ChecksumSHA256. */
export function checksumElement (algorithm: string): string {
  return `Checksum${algorithm.toUpperCase()}`
}

function etagMatches (list: string, etag: string): boolean {
  return list.split(',').map(s => s.trim()).some(t => t === '*' || t.replace(/^W\//, '').replace(/^"|"$/g, '') === etag)
}

function parseHttpDate (v: string | undefined): number | undefined {
  if (!v) return undefined
  const t = Date.parse(v)
  return Number.isNaN(t) ? undefined : t
}

export interface ConditionHeaders {
  ifMatch?: string
  ifNoneMatch?: string
  ifModifiedSince?: string
  ifUnmodifiedSince?: string
  /** Prefix of the header names, as the <Condition> of a 412 names them ("x-amz-copy-source-If-Match"). */
  prefix?: string
}

export function conditionsFrom (headers: IncomingHttpHeaders, prefix = ''): ConditionHeaders {
  return {
    prefix: prefix === '' ? undefined : prefix,
    ifMatch: header(headers, `${prefix}if-match`),
    ifNoneMatch: header(headers, `${prefix}if-none-match`),
    ifModifiedSince: header(headers, `${prefix}if-modified-since`),
    ifUnmodifiedSince: header(headers, `${prefix}if-unmodified-since`),
  }
}

/**
 * AWS's precedence: If-Match (else If-Unmodified-Since) failing is 412; then If-None-Match
 * (else If-Modified-Since) failing is 304 for reads. Dates compare at one-second resolution.
 */
export function checkConditions (c: ConditionHeaders, info: ObjectInfo, opts: { isRead: boolean, notModified: 'NotModified' | 'PreconditionFailed' }): void {
  const modified = Math.floor(info.lastModified.getTime() / 1000) * 1000
  const failed = (name: string): S3Error => new S3Error('PreconditionFailed', { Condition: (c.prefix ?? '') + name })
  if (c.ifMatch !== undefined) {
    if (!etagMatches(c.ifMatch, info.etag)) throw failed('If-Match')
  } else {
    const t = parseHttpDate(c.ifUnmodifiedSince)
    if (t !== undefined && modified > t) throw failed('If-Unmodified-Since')
  }
  if (c.ifNoneMatch !== undefined) {
    if (etagMatches(c.ifNoneMatch, info.etag)) {
      if (opts.isRead && opts.notModified === 'NotModified') throw notModified(info)
      throw failed('If-None-Match')
    }
  } else {
    const t = parseHttpDate(c.ifModifiedSince)
    if (t !== undefined && t <= Date.now() && modified <= t) {
      if (opts.notModified === 'NotModified') throw notModified(info)
      throw failed('If-Modified-Since')
    }
  }
}

/**
 * 304 Not Modified with the validators and freshness headers the 200 would have carried (RFC 9110 section
 * 15.4.5: ETag, Cache-Control, Expires; and Last-Modified, as S3 sends it), so caches can refresh their copy.
 */
function notModified (info: ObjectInfo): S3Error {
  const headers: Record<string, string> = { ETag: quoteETag(info.etag), 'Last-Modified': info.lastModified.toUTCString() }
  if (info.meta.cacheControl !== undefined) headers['Cache-Control'] = info.meta.cacheControl
  if (info.meta.expires !== undefined) headers.Expires = info.meta.expires
  for (const [name, value] of Object.entries(headers)) if (UNSENDABLE.test(value)) headers[name] = encodeHeaderValue(value)
  return new S3Error('NotModified', {}, { headers })
}

/**
 * Conditional writes (PutObject), evaluated against the current version: If-None-Match (`*`, which AWS documents,
 * or ETags) fails with 412 when the key exists with a listed ETag; If-Match fails with 412 when the key exists
 * without a listed ETag, and with 404 NoSuchKey when there is no object at all. Not RFC 7232's 412: the S3 user
 * guide (conditional-writes.html, "Conditional write behavior") says of If-Match "If there's no current object
 * version with the same name, or if the current object version is a delete marker, the operation fails with a
 * 404 Not Found error." Read conditions (checkConditions) never get here: a missing key is NoSuchKey before them.
 */
export function checkWriteConditions (c: ConditionHeaders, existing: ObjectInfo | undefined, key: string): void {
  if (c.ifMatch !== undefined) {
    if (!existing) throw new S3Error('NoSuchKey', { Key: key })
    if (!etagMatches(c.ifMatch, existing.etag)) throw new S3Error('PreconditionFailed', { Condition: 'If-Match', Key: key })
  }
  if (c.ifNoneMatch !== undefined && existing && etagMatches(c.ifNoneMatch, existing.etag)) {
    throw new S3Error('PreconditionFailed', { Condition: 'If-None-Match', Key: key })
  }
}

/** Parses one byte range; undefined means "serve the whole object" (absent or syntactically invalid, as AWS). */
export function parseRange (value: string | undefined, size: number): { start: number, end: number } | undefined {
  if (!value) return undefined
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim())
  if (!m || (m[1] === '' && m[2] === '')) return undefined
  let start: number
  let end: number
  // 416 carries the size in Content-Range (RFC 9110 section 15.5.17), which clients read it from.
  const unsatisfiable = (): S3Error => new S3Error('InvalidRange', { RangeRequested: value, ActualObjectSize: size }, { headers: { 'Content-Range': `bytes */${size}` } })
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0) throw unsatisfiable()
    // The last N bytes of an empty object are the whole (empty) object: 200, as S3 answers (arrow-rs-object-store#846).
    if (size === 0) return undefined
    start = Math.max(0, size - suffix)
    end = size - 1
  } else {
    start = Number(m[1])
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
    if (m[2] !== '' && Number(m[2]) < start) return undefined
  }
  if (start >= size || size === 0) throw unsatisfiable()
  return { start, end }
}

/** The headers that carry a digest of the body (not x-amz-checksum-algorithm, -type or -mode, which carry none). */
const DIGEST_HEADERS = new Set(['x-amz-checksum-crc32', 'x-amz-checksum-crc32c', 'x-amz-checksum-crc64nvme', 'x-amz-checksum-sha1', 'x-amz-checksum-sha256'])

/**
 * API reference, DeleteObjects: "The Content-MD5 or x-amz-sdk-checksum-algorithm header is required for all Multi-Object
 * Delete requests" (PutBucketCors likewise); a request with neither (nor an x-amz-checksum-* value, which the SDKs now
 * send instead) is refused with AWS's message before the body is read. The body is then verified against it like any other.
 */
export function requireIntegrityHeader (h: IncomingHttpHeaders): void {
  const trailer = typeof h['x-amz-trailer'] === 'string' && h['x-amz-trailer'].toLowerCase().startsWith('x-amz-checksum-')
  if (h['content-md5'] !== undefined || trailer || Object.keys(h).some(n => DIGEST_HEADERS.has(n))) return
  throw new S3Error('InvalidRequest', {}, { message: 'Missing required header for this request: Content-MD5' })
}
