// Multipart handlers: Create, UploadPart(Copy), Complete, Abort, ListParts, ListMultipartUploads, and ?partNumber reads.
import { abortHeaders, expirationHeader } from '../lifecycle.js'
import { dirname } from 'node:path'
import { aclsDisabled } from '../../access/object-ownership.js'
import { S3Error } from '../../errors/s3-error.js'
import type { BucketRecord } from '../../state/types.js'
import { posixAccess } from '../../storage/posix-access.js'
import { keyEncoder } from './listing.js'
import { checkPartOrder, completeUpload, type CompletedPartRef } from '../../storage/multipart-complete.js'
import { slowXmlReply } from '../slow-reply.js'
import { listUploads } from '../../storage/multipart-list.js'
import { selectObjectPart, type PartSelection } from '../../storage/multipart-read.js'
import {
  getUpload,
  abortUpload, copiedModeCap, createUpload, listParts as readParts, MAX_PART_NUMBER, MAX_PART_SIZE_BYTES, parsePartNumber,
  parseUploadId, recordCopiedMode, uploadPart as storePart, isCompositeChecksum, type UploadChecksum, type UploadRecord,
} from '../../storage/multipart.js'
import { CHECKSUM_ALGORITHMS } from '../../auth/checksums.js'
import { headObject as statObject, openObject, prefetchForRead, type BucketRef } from '../../storage/objects.js'
import { isDirectoryKey, parseObjectKey } from '../../storage/paths.js'
import type { ObjectKey } from '../../storage/types.js'
import { decide, relPath, requireAccess } from '../authorize.js'
import { createNeed } from '../../access/fs-needs.js'
import { bucketRecord, bucketRef, objectUrl, ownerXml, writeOptions } from '../bucket-access.js'
import { checkConditions, checkDeclaredLength, checksumAlgorithmHeader, checksumElement, conditionsFrom, metaFromHeaders, quoteETag } from '../s3-headers.js'
import { children, parseXml, texts } from '../xml/parse.js'
import { aclHeadersDecide, checkAclHeadersAllowed, requireUploadHeaderActions } from '../acl-headers.js'
import { checkWriteConditionHeaders, guardConditionalWrite, isEtagCondition } from '../conditional-write.js'
import { requireReadForEtagCondition } from './objects.js'
import { renderXml, type XmlNode } from '../xml/render.js'
import type { S3Reply, S3Request, Services } from '../types.js'
import { parseCopySource } from './copy-object.js'

/** Uploads or parts listed per answer at most (ListMultipartUploads, ListParts, GetObjectAttributes). */
export const MAX_LISTED = 1000
/** 10,000 <Part> elements with quoted ETags and checksums stay well below this. */
const MAX_COMPLETE_BODY_BYTES = 4 * 1024 * 1024
const CHECKSUM_HEADERS = ['x-amz-checksum-crc32', 'x-amz-checksum-crc32c', 'x-amz-checksum-crc64nvme', 'x-amz-checksum-sha1', 'x-amz-checksum-sha256']

function uploadKey (req: S3Request): ObjectKey {
  return parseObjectKey(req.rawKey ?? '')
}

function uploadIdOf (req: S3Request): string {
  return parseUploadId(req.query.get('uploadId'))
}

function limitParam (q: URLSearchParams, name: string): number {
  return Math.min(countParam(name, q.get(name) ?? undefined, MAX_LISTED), MAX_LISTED)
}

/** A count or marker from the query or a header (max-parts, x-amz-part-number-marker...): `absent` when not given. */
export function countParam (name: string, raw: string | undefined, absent: number): number {
  if (raw === undefined) return absent
  if (!/^\d{1,9}$/.test(raw)) throw new S3Error('InvalidArgument', { ArgumentName: name, ArgumentValue: raw }, { message: `Provided ${name} not an integer or within integer range` })
  return Number(raw)
}

function initiatorXml (u: UploadRecord): { Initiator: XmlNode, Owner: XmlNode } {
  return { Initiator: ownerXml(u.initiator.name), Owner: ownerXml(u.initiator.name) }
}

/**
 * x-amz-checksum-algorithm (and x-amz-checksum-type) of CreateMultipartUpload. CRC32, CRC32C, SHA1 and SHA256 are
 * COMPOSITE unless FULL_OBJECT is asked for (the CRCs only); CRC64NVME is always FULL_OBJECT.
 */
function uploadChecksum (req: S3Request): UploadChecksum | undefined {
  const rawType = req.headers['x-amz-checksum-type']
  const type = typeof rawType === 'string' ? rawType.trim().toUpperCase() : undefined
  if (type !== undefined && type !== 'COMPOSITE' && type !== 'FULL_OBJECT') {
    throw new S3Error('InvalidRequest', {}, { message: 'Value for x-amz-checksum-type header is invalid.' })
  }
  const algorithm = checksumAlgorithmHeader(req.headers)
  if (algorithm === undefined) {
    if (type !== undefined) throw new S3Error('InvalidRequest', {}, { message: 'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.' })
    return undefined
  }
  if ((algorithm === 'sha1' || algorithm === 'sha256') && type === 'FULL_OBJECT') {
    throw new S3Error('InvalidRequest', {}, { message: `The FULL_OBJECT checksum type cannot be used with the ${algorithm} checksum algorithm.` })
  }
  if (algorithm === 'crc64nvme') {
    if (type === 'COMPOSITE') throw new S3Error('InvalidRequest', {}, { message: 'The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.' })
    return { algorithm, type: 'FULL_OBJECT' }
  }
  return { algorithm, type: type === 'FULL_OBJECT' ? 'FULL_OBJECT' : 'COMPOSITE' }
}

/** x-amz-checksum-type of an upload's record. */
function checksumTypeOf (upload: UploadRecord): 'COMPOSITE' | 'FULL_OBJECT' | undefined {
  if (upload.checksumAlgorithm === undefined) return undefined
  return upload.checksumType ?? 'COMPOSITE'
}

export async function createMultipartUpload (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = uploadKey(req)
  await requireAccess(req, s, { operation: 'CreateMultipartUpload', bucket: record, key, fs: [createNeed(record.path, key)] })
  if (isDirectoryKey(key)) throw new S3Error('InvalidRequest', { Key: key }, { message: 'A key ending in "/" is a folder on this bridge and cannot hold data.' })
  checkAclHeadersAllowed(req, s, record)
  await requireUploadHeaderActions(req, s, { operation: 'CreateMultipartUpload', bucket: record, key }, { tagging: true })
  const initiator = { name: req.principal.name, uid: req.principal.uid, gid: req.principal.gid }
  const aclHeaders = Object.fromEntries(Object.entries(req.headers).filter(([k, v]) => (k === 'x-amz-acl' || k.startsWith('x-amz-grant-')) && typeof v === 'string')) as Record<string, string>
  const checksum = uploadChecksum(req)
  const upload = await createUpload(bucketRef(record), key, metaFromHeaders(req.headers), initiator, s.now(), Object.keys(aclHeaders).length ? aclHeaders : undefined, checksum)
  return {
    headers: {
      ...(checksum === undefined ? {} : { 'x-amz-checksum-algorithm': checksum.algorithm.toUpperCase(), 'x-amz-checksum-type': checksum.type }),
      ...abortHeaders(record.lifecycle, key, new Date(upload.initiated)),
    },
    xml: renderXml('InitiateMultipartUploadResult', { Bucket: record.name, Key: key, UploadId: upload.uploadId }),
  }
}

export async function uploadPart (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = uploadKey(req)
  await requireAccess(req, s, { operation: 'UploadPart', bucket: record, key, fs: [createNeed(record.path, key)] })
  const partNumber = parsePartNumber(req.query.get('partNumber'))
  const uploadId = uploadIdOf(req)
  checkDeclaredLength(req.headers, MAX_PART_SIZE_BYTES)
  const part = await storePart(bucketRef(record), key, uploadId, partNumber, req.body())
  const headers: Record<string, string> = { ETag: quoteETag(part.etag) }
  // The body was verified against these (sent as headers or as its trailer); echoing them lets SDKs carry them
  // into Complete.
  for (const name of CHECKSUM_HEADERS) {
    const v = req.headers[name]
    if (typeof v === 'string') headers[name] = v
  }
  for (const [alg, v] of Object.entries(req.trailerChecksum() ?? {})) headers[`x-amz-checksum-${alg}`] = v
  // The upload's own checksum of the part, which Complete will ask for.
  if (part.checksumAlgorithm !== undefined && part.checksum !== undefined) headers[`x-amz-checksum-${part.checksumAlgorithm}`] = part.checksum
  return { headers }
}

/** x-amz-copy-source-range: "bytes=first-last", both offsets inside the source. */
function copyRange (value: string | string[] | undefined, size: number): { start: number, end: number } | undefined {
  if (value === undefined) return undefined
  // AWS's three answers, as LocalStack's AWS-recorded tests (parse_copy_source_range_header) and versitygw#610 show them.
  const argument = { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: String(value) }
  const malformed = (): S3Error => new S3Error('InvalidArgument', argument, { message: 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy' })
  const m = typeof value === 'string' ? /^bytes=(\d+)-(\d+)$/.exec(value.trim()) : null
  if (!m) throw malformed()
  const start = Number(m[1])
  const end = Number(m[2])
  if (start > end) throw malformed()
  if (start >= size) throw new S3Error('InvalidRequest', {}, { message: 'The specified copy range is invalid for the source object size' })
  if (end >= size) throw new S3Error('InvalidArgument', argument, { message: `Range specified is not valid for source object of size: ${size}` })
  return { start, end }
}

export async function uploadPartCopy (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = uploadKey(req)
  await requireAccess(req, s, { operation: 'UploadPartCopy', bucket: record, key, fs: [createNeed(record.path, key)] })
  const partNumber = parsePartNumber(req.query.get('partNumber'))
  const uploadId = uploadIdOf(req)
  const src = parseCopySource(req.headers['x-amz-copy-source'])
  const srcRecord = bucketRecord({ ...req, bucketName: src.bucket }, s)
  const readSource = { check: 'read' as const, path: relPath(src.key), bucketRoot: srcRecord.path }
  const srcBucket: BucketRef = bucketRef(srcRecord)
  // The source is opened as the very file its read check walked to (openObject compares).
  const srcChecked = prefetchForRead(srcBucket, src.key, { read: false })
  await requireAccess(req, s, { operation: 'GetObject', bucket: srcRecord, key: src.key, fs: [readSource], prefetched: srcChecked }, { missingIsNoSuchKey: true })
  const range = copyRange(req.headers['x-amz-copy-source-range'], (await statObject(srcBucket, src.key, srcChecked)).size)
  const opened = await openObject(srcBucket, src.key, range, srcChecked)
  try {
    checkConditions(conditionsFrom(req.headers, 'x-amz-copy-source-'), opened.info, { isRead: false, notModified: 'PreconditionFailed' })
    await recordCopiedMode(bucketRef(record), uploadId, opened.info.mode)
    const part = await storePart(bucketRef(record), key, uploadId, partNumber, opened.body, { holes: true })
    // The upload's checksum of the part, which Complete asks for (API reference, CopyPartResult: "present if the
    // multipart upload request was created with the CRC32 checksum algorithm", and so on).
    const checksum = part.checksumAlgorithm === undefined || part.checksum === undefined ? {} : { [checksumElement(part.checksumAlgorithm)]: part.checksum }
    return { xml: renderXml('CopyPartResult', { LastModified: part.lastModified, ETag: quoteETag(part.etag), ...checksum }) }
  } finally {
    opened.body.destroy()
  }
}

/** The <CompleteMultipartUpload> body: its <Part>s, each with PartNumber and ETag. */
export async function parseCompleteBody (text: string): Promise<CompletedPartRef[]> {
  const doc = await parseXml(text)
  if (!('CompleteMultipartUpload' in doc)) throw new S3Error('MalformedXML')
  const refs = children(doc.CompleteMultipartUpload, 'Part').map(part => {
    const [number] = texts(part, 'PartNumber')
    const [etag] = texts(part, 'ETag')
    if (number === undefined || etag === undefined || etag.trim() === '') throw new S3Error('MalformedXML')
    const checksums: Record<string, string> = {}
    for (const algorithm of CHECKSUM_ALGORITHMS) {
      const [value] = texts(part, checksumElement(algorithm))
      if (value !== undefined) checksums[algorithm] = value.trim()
    }
    return { partNumber: parsePartNumber(number.trim()), etag: etag.trim(), checksums }
  })
  if (refs.length > MAX_PART_NUMBER) throw new S3Error('MalformedXML')
  checkPartOrder(refs)
  return refs
}

/** The checksum Complete made (COMPOSITE "...-N" or FULL_OBJECT) as CompleteMultipartUploadResult elements. */
function checksumXml (upload: UploadRecord | undefined, checksums: Record<string, string> | undefined): Record<string, string> {
  const algorithm = upload?.checksumAlgorithm
  const value = algorithm === undefined ? undefined : checksums?.[algorithm]
  if (algorithm === undefined || value === undefined) return {}
  return { [checksumElement(algorithm)]: value, ChecksumType: isCompositeChecksum(value) ? 'COMPOSITE' : 'FULL_OBJECT' }
}

/** The full-object checksums sent as Complete's headers (x-amz-checksum-crc32 ...), by algorithm. */
function sentChecksums (req: S3Request): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of CHECKSUM_HEADERS) {
    const v = req.headers[name]
    if (typeof v === 'string') out[name.slice('x-amz-checksum-'.length)] = v.trim()
  }
  return out
}

export async function completeMultipartUpload (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = uploadKey(req)
  await requireAccess(req, s, { operation: 'CompleteMultipartUpload', bucket: record, key, fs: [createNeed(record.path, key)] })
  const uploadId = uploadIdOf(req)
  const refs = await parseCompleteBody(await req.readText(MAX_COMPLETE_BODY_BYTES))
  const bucket = bucketRef(record)
  const upload = await getUpload(bucket, key, uploadId).catch(() => undefined) // a retried Complete finds none
  // ACL headers came with CreateMultipartUpload; apply them to the assembled object as PutObject would.
  // Under BucketOwnerEnforced, switched on since Create, they say nothing any more (refused now, the upload could
  // never complete; review 26).
  const aclReq = { ...req, headers: aclsDisabled(record) ? {} : { ...(upload?.aclHeaders ?? {}) } }
  // Without ACL headers, an object assembled from copied parts gets no more than their sources' mode bits.
  const cap = aclHeadersDecide(aclReq.headers, record) ? undefined : await copiedModeCap(bucket, uploadId)
  const options = writeOptions(aclReq, s, record, cap === undefined ? {} : { fileModeCap: cap })
  const conditions = conditionsFrom(req.headers)
  // Conditional Complete (API reference, CompleteMultipartUpload, If-Match / If-None-Match): a failure throws from
  // inside completeUpload, which puts the upload back: AWS answers 412 and keeps the upload (only its 409
  // ConditionalRequestConflict asks the client to start a new one). A retried Complete of an upload already
  // completed is answered from the tombstone, not re-evaluated.
  if (upload) {
    checkWriteConditionHeaders(conditions, 'CompleteMultipartUpload')
    const checked = isEtagCondition(conditions.ifMatch) ? prefetchForRead(bucket, key, { read: false }) : undefined
    await requireReadForEtagCondition(req, s, record, key, conditions.ifMatch, checked)
    await guardConditionalWrite(bucket, key, conditions, options, checked)
  }
  // Assembling copies every byte on filesystems without reflinks (~3 s per GiB on a small VM's ext4): once the part
  // list is checked, past completeKeepAliveMs the answer is 200 with white space until the result, as AWS's.
  let assembling!: () => void
  const started = new Promise<void>(resolve => { assembling = resolve })
  let expiration: string | undefined
  const work = completeUpload(bucket, key, uploadId, refs, options, sentChecksums(req), assembling).then(result => {
    if (result.info !== undefined) expiration = expirationHeader(record.lifecycle, result.info)
    return renderXml('CompleteMultipartUploadResult', {
      Location: objectUrl(req, record.name, key), Bucket: record.name, Key: key, ETag: quoteETag(result.etag),
      ...checksumXml(upload, result.info?.meta.checksums),
    })
  })
  const reply = await slowXmlReply(work, started, {
    keepAliveMs: s.config.completeKeepAliveMs, resource: `/${record.name}/${key}`, requestId: req.requestId, hostId: req.hostId, log: s.log,
  })
  // x-amz-expiration as AWS sends it, when the answer waited for the object; a kept-alive 200's headers left before.
  return reply.body === undefined ? { ...reply, headers: { ...reply.headers, 'x-amz-expiration': expiration } } : reply
}

/**
 * Abort and ListParts answer to who may create the key, as the upload did. When an NFS user has since put a file
 * where a folder of the key was (the key can no longer be created: a conflict), the upload's own initiator may
 * still list and abort it, else its parts stayed until the stale-upload job (sweep 24c F3); the policies and the
 * bucket ACL still decide.
 */
async function requireUploadAccess (req: S3Request, s: Services, operation: 'AbortMultipartUpload' | 'ListParts', record: BucketRecord, key: ObjectKey): Promise<void> {
  const needs = { operation, bucket: record, key, fs: [createNeed(record.path, key)] }
  const d = await decide(req, s, needs)
  if (!d.allowed && d.isConflict === true) {
    const upload = await getUpload(bucketRef(record), key, uploadIdOf(req))
    const p = req.principal
    if (p.kind === 'user' && upload.initiator.name === p.name && upload.initiator.uid === p.uid) {
      await requireAccess(req, s, { ...needs, fs: [] })
      return
    }
  }
  await requireAccess(req, s, needs)
}

export async function abortMultipartUpload (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = uploadKey(req)
  await requireUploadAccess(req, s, 'AbortMultipartUpload', record, key)
  await abortUpload(bucketRef(record), key, uploadIdOf(req))
  return { status: 204 }
}

export async function listParts (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = uploadKey(req)
  await requireUploadAccess(req, s, 'ListParts', record, key)
  const uploadId = uploadIdOf(req)
  const maxParts = limitParam(req.query, 'max-parts')
  const markerText = req.query.get('part-number-marker') ?? '0'
  if (!/^\d{1,5}$/.test(markerText)) throw new S3Error('InvalidArgument', { ArgumentName: 'part-number-marker', ArgumentValue: markerText }, { message: 'Provided part-number-marker not an integer or within integer range' })
  const page = await readParts(bucketRef(record), key, uploadId, { marker: Number(markerText), maxParts })
  return {
    headers: abortHeaders(record.lifecycle, key, new Date(page.upload.initiated)),
    xml: renderXml('ListPartsResult', {
      Bucket: record.name,
      Key: key,
      UploadId: uploadId,
      ...initiatorXml(page.upload),
      StorageClass: 'STANDARD',
      PartNumberMarker: Number(markerText),
      NextPartNumberMarker: page.nextMarker,
      MaxParts: maxParts,
      IsTruncated: page.isTruncated,
      ChecksumAlgorithm: page.upload.checksumAlgorithm?.toUpperCase(),
      ChecksumType: checksumTypeOf(page.upload),
      Part: page.parts.map(p => ({
        PartNumber: p.partNumber, LastModified: p.lastModified, ETag: quoteETag(p.etag), Size: p.size,
        ...(page.upload.checksumAlgorithm !== undefined && p.checksum !== undefined ? { [checksumElement(page.upload.checksumAlgorithm)]: p.checksum } : {}),
      })),
    }),
  }
}

/** encoding-type=url as ListObjects encodes (AWS encodes uploads' keys the same way, versitygw#2156). */
function encoderFor (q: URLSearchParams): (s: string | undefined) => string | undefined {
  const enc = keyEncoder(q)
  return s => s === undefined ? undefined : enc(s)
}

/**
 * Which uploads a caller is shown: its own, and those whose key it could see in a listing (search down to the
 * key's folder and read on it), so a name in a folder the caller cannot read does not leak through here.
 */
function uploadVisibility (req: S3Request, record: BucketRecord): (u: UploadRecord) => Promise<boolean> {
  const p = req.principal
  const posix = posixAccess({ bucketRoot: record.path, principal: p, rootHasRights: p.hasRootRights })
  const byFolder = new Map<string, Promise<boolean>>()
  return async u => {
    if (p.kind === 'user' && u.initiator.name === p.name) return true
    const folder = dirname(relPath(u.key))
    const dir = folder === '.' ? '' : folder
    let answer = byFolder.get(dir)
    if (answer === undefined) byFolder.set(dir, answer = posix.canList(dir).then(a => a.allowed))
    return answer
  }
}

export async function listMultipartUploads (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'ListMultipartUploads', bucket: record })
  const enc = encoderFor(req.query)
  const q = req.query
  const query = {
    prefix: q.get('prefix') ?? '',
    delimiter: q.get('delimiter') || undefined,
    keyMarker: q.get('key-marker') ?? undefined,
    uploadIdMarker: q.get('upload-id-marker') ?? undefined,
    maxUploads: limitParam(q, 'max-uploads'),
  }
  const page = await listUploads(bucketRef(record), query, uploadVisibility(req, record))
  return {
    xml: renderXml('ListMultipartUploadsResult', {
      Bucket: record.name,
      KeyMarker: enc(query.keyMarker ?? ''),
      UploadIdMarker: query.uploadIdMarker ?? '',
      NextKeyMarker: enc(page.nextKeyMarker),
      NextUploadIdMarker: page.nextUploadIdMarker,
      Delimiter: enc(query.delimiter),
      Prefix: enc(query.prefix),
      EncodingType: q.get('encoding-type') === null ? undefined : 'url',
      MaxUploads: query.maxUploads,
      IsTruncated: page.isTruncated,
      Upload: page.uploads.map(u => ({ Key: enc(u.key), UploadId: u.uploadId, ...initiatorXml(u), StorageClass: 'STANDARD', Initiated: new Date(u.initiated) })),
      CommonPrefixes: page.commonPrefixes.map(p => ({ Prefix: enc(p) })),
    }),
  }
}

/**
 * The part a GetObject/HeadObject names with ?partNumber=N, or undefined when it names none.
 * AWS refuses partNumber together with a Range header.
 */
export async function requestedPart (req: S3Request, bucket: BucketRef, key: ObjectKey): Promise<PartSelection | undefined> {
  const raw = req.query.get('partNumber')
  if (raw === null) return undefined
  const partNumber = parsePartNumber(raw)
  if (req.headers.range !== undefined) throw new S3Error('InvalidRequest', {}, { message: 'Cannot specify both Range header and partNumber query parameter' })
  return selectObjectPart(bucket, key, partNumber)
}
