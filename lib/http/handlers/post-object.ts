// PostObject: browser form uploads (multipart/form-data), streamed through the form's policy checks into storage.
import busboy from 'busboy'
import type { IncomingHttpHeaders } from 'node:http'
import { basename } from 'node:path'
import { Readable } from 'node:stream'
import type { Authenticated } from '../../auth/authenticate.js'
import { CHECKSUM_ALGORITHMS } from '../../auth/checksums.js'
import { createVerifiedBody } from '../../auth/verified-body.js'
import { checkPostConditions, parsePostPolicy, verifyPostSignature, type PostFields, type PostSignature, type SizeRange } from '../../auth/post-policy.js'
import { S3Error } from '../../errors/s3-error.js'
import { putObject as storeObject } from '../../storage/objects.js'
import { parseObjectKey } from '../../storage/paths.js'
import { requireAccess } from '../authorize.js'
import { createNeed } from '../../access/fs-needs.js'
import { bucketRecord, bucketRef, objectUrl, writeOptions } from '../bucket-access.js'
import { credentialResolver } from '../middleware/authenticate.js'
import { metaFromHeaders, quoteETag } from '../s3-headers.js'
import { checkAclHeadersAllowed, requireUploadHeaderActions } from '../acl-headers.js'
import { MAX_OBJECT_TAGS, tagsFromXml } from '../tagging.js'
import { renderXml } from '../xml/render.js'
import type { S3Reply, S3Request, Services } from '../types.js'

/** AWS refuses more than 20 KB of form fields before the file. */
const MAX_PRE_DATA_BYTES = 20 * 1024
/** The largest single POST upload AWS accepts. */
const MAX_POST_OBJECT_BYTES = 5 * 1024 ** 3
/**
 * Form fields that mean what the same-named headers mean on PutObject (RESTObjectPOST): metadata, and the
 * encryption and storage class requests, which are checked as PutObject checks them.
 */
const META_FIELDS = new Set([
  'content-type', 'cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires',
  'x-amz-server-side-encryption', 'x-amz-server-side-encryption-customer-algorithm', 'x-amz-storage-class',
  'x-amz-website-redirect-location',
])

interface PostForm {
  fields: Map<string, string>
  file: Readable
  filename: string
  /** Settles when the parser has read the whole request (fields after the file are ignored; a second file fails it). */
  finished: Promise<void>
  /** Stops parsing and drains the rest of the request, after a failure. */
  discard (): void
}

function formBoundaryCheck (headers: IncomingHttpHeaders): void {
  if (!/^multipart\/form-data\s*;/i.test(headers['content-type'] ?? '')) {
    throw new S3Error('PreconditionFailed', { Condition: 'Bucket POST must be of the enclosure-type multipart/form-data' })
  }
}

/** Reads form fields up to the file part and hands the file over as a stream; nothing is buffered whole. */
function readFormUntilFile (req: S3Request): Promise<PostForm> {
  formBoundaryCheck(req.headers)
  const body = req.body()
  let parser: busboy.Busboy
  try {
    // defParamCharset: a part's filename arrives as raw UTF-8 from browsers, curl and requests (busboy: latin-1).
    parser = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { fieldSize: MAX_PRE_DATA_BYTES + 1, parts: 1000 } })
  } catch {
    throw new S3Error('MalformedPOSTRequest')
  }
  /** A second file part (AWS takes one file per form): the upload fails before its object is published. */
  let isSecondFile = false
  const finished = new Promise<void>((resolve, reject) => {
    parser.on('close', () => isSecondFile ? reject(oneFileOnly()) : resolve())
    parser.on('error', () => reject(new S3Error('MalformedPOSTRequest')))
  })
  finished.catch(() => undefined) // observed by the caller only once the file is stored
  const discard = (): void => {
    body.unpipe(parser)
    body.resume()
  }
  return new Promise<PostForm>((resolve, reject) => {
    const fields = new Map<string, string>()
    let preDataBytes = 0
    let isSettled = false
    /** Text fields sent as file parts, still being read: the upload waits for them. */
    const reading: Array<Promise<void>> = []
    const settle = (file: Readable, filename: string): void => {
      isSettled = true
      Promise.all(reading).then(() => resolve({ fields, file, filename, finished, discard }), () => undefined)
    }
    const fail = (err: S3Error): void => {
      isSettled = true
      discard()
      reject(err)
    }
    // More parts than busboy reads (1,000) before the file: the file would never be seen ("one file" was the
    // answer); it is the fields before the file that are too many.
    parser.on('partsLimit', () => { if (!isSettled) fail(new S3Error('MaxPostPreDataLengthExceededError')) })
    parser.on('field', (name, value, info) => {
      if (isSettled) { // fields after the file are ignored, as AWS does; a second file is not
        if (name.toLowerCase() === 'file') isSecondFile = true
        return
      }
      // curl -F file=text sends the file as a plain field: it is still the upload.
      if (name.toLowerCase() === 'file') return settle(Readable.from([Buffer.from(value)]), '')
      preDataBytes += Buffer.byteLength(name) + Buffer.byteLength(value)
      if (preDataBytes > MAX_PRE_DATA_BYTES || info.valueTruncated) return fail(new S3Error('MaxPostPreDataLengthExceededError'))
      fields.set(name.toLowerCase(), value)
    })
    parser.on('file', (name, stream, info) => {
      if (isSettled) {
        if (name.toLowerCase() === 'file') isSecondFile = true
        stream.resume()
        return
      }
      if (name.toLowerCase() === 'file') return settle(stream, basename(info.filename ?? ''))
      // A text field sent as a file part (`Content-Disposition: form-data; name="key"; filename="key"`, as
      // Python's requests sends every entry of files=): AWS reads it as the field, within the same size limit.
      const read = new Promise<void>((done, failed) => {
        // Its data comes after busboy has announced the next part (the file, maybe): settle waits for it.
        const chunks: Buffer[] = []
        let tooLong = false
        stream.on('data', (chunk: Buffer) => {
          if (tooLong) return
          preDataBytes += chunk.length
          if (preDataBytes + Buffer.byteLength(name) > MAX_PRE_DATA_BYTES) {
            tooLong = true
            fail(new S3Error('MaxPostPreDataLengthExceededError'))
            failed(new Error('too long'))
            return
          }
          chunks.push(chunk)
        })
        stream.on('end', () => {
          if (tooLong) return
          preDataBytes += Buffer.byteLength(name)
          fields.set(name.toLowerCase(), Buffer.concat(chunks).toString('utf8'))
          done()
        })
        stream.on('error', failed)
      })
      read.catch(() => undefined) // the form failed already (fail above, or the parser's error)
      reading.push(read)
    })
    parser.on('close', () => {
      if (!isSettled) fail(oneFileOnly(0))
    })
    parser.on('error', () => { if (!isSettled) fail(new S3Error('MalformedPOSTRequest')) })
    body.on('error', err => parser.destroy(err))
    body.pipe(parser)
  })
}

function oneFileOnly (files = 2): S3Error {
  return new S3Error('InvalidArgument', { ArgumentName: 'file', ArgumentValue: String(files) }, { message: 'POST requires exactly one file upload per request.' })
}

/**
 * Counts the file's bytes as they pass: too many fails at once, too few at the end, both before the object
 * is published; so does the rest of the form (a second file, a malformed end), read before the stream ends.
 * Pulled lazily, so nothing flows (or fails) before storage reads it.
 */
async function * formFile (form: PostForm, range: SizeRange): AsyncGenerator<Buffer> {
  let bytes = 0
  for await (const chunk of form.file) {
    bytes += (chunk as Buffer).length
    if (bytes > range.max) throw new S3Error('EntityTooLarge', { MaxSizeAllowed: range.max })
    yield chunk as Buffer
  }
  if (bytes < range.min) throw new S3Error('EntityTooSmall', { ProposedSize: bytes, MinSizeAllowed: range.min })
  await form.finished
}

function asAuthenticated (sig: PostSignature): Authenticated {
  return {
    accessKeyId: sig.accessKeyId,
    signatureVersion: sig.signatureVersion,
    authType: 'POST', // s3:authType's value for browser-based uploads
    signedAt: sig.signedAt,
    region: sig.region,
    service: sig.service,
    securityToken: sig.securityToken,
    payload: { kind: 'none-declared' },
  }
}

/** The key with ${filename} replaced by the uploaded file's base name. */
function formKey (fields: PostFields, filename: string): string {
  const raw = fields.get('key')
  if (raw === undefined) {
    throw new S3Error('InvalidArgument', { ArgumentName: 'key', ArgumentValue: '' }, { message: 'Bucket POST must contain a field named \'key\'.  If it is specified, please check the order of the fields.' })
  }
  return raw.split('${filename}').join(filename)
}

/** The digests a form may declare for its file (RESTObjectPOST: "Amazon S3 checks the object against" Content-MD5). */
const DIGEST_FIELDS = ['content-md5', ...CHECKSUM_ALGORITHMS.map(a => `x-amz-checksum-${a}`)]

/** The form's fields as the headers a PutObject would carry: metadata, digests, `acl` as x-amz-acl. */
function formHeaders (fields: PostFields): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {}
  for (const [name, value] of fields) if (META_FIELDS.has(name) || name.startsWith('x-amz-meta-') || DIGEST_FIELDS.includes(name)) headers[name] = value
  const acl = fields.get('acl')
  if (acl !== undefined) headers['x-amz-acl'] = acl
  return headers
}

function successReply (req: S3Request, fields: PostFields, where: { bucket: string, key: string, etag: string }): S3Reply {
  const etag = quoteETag(where.etag)
  const location = objectUrl(req, where.bucket, where.key)
  const headers = { ETag: etag, Location: location }
  const redirect = fields.get('success_action_redirect') ?? fields.get('redirect')
  if (redirect !== undefined && URL.canParse(redirect)) {
    const url = new URL(redirect)
    url.searchParams.append('bucket', where.bucket)
    url.searchParams.append('key', where.key)
    url.searchParams.append('etag', etag)
    return { status: 303, headers: { ...headers, Location: url.toString() } }
  }
  const status = fields.get('success_action_status')
  if (status === '200') return { status: 200, headers }
  if (status === '201') {
    return { status: 201, headers, xml: renderXml('PostResponse', { Location: location, Bucket: where.bucket, Key: where.key, ETag: etag }, null) }
  }
  return { status: 204, headers }
}

export async function postObject (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const form = await readFormUntilFile(req)
  try {
    const now = s.now()
    // A user's key, a service account (its policy narrows the upload) or an STS session (x-amz-security-token field).
    const credentials = credentialResolver(s, form.fields.get('x-amz-security-token'), now)
    const sig = await verifyPostSignature(form.fields, credentials.lookup, now)
    const key = parseObjectKey(formKey(form.fields, form.filename))
    const policy = sig ? parsePostPolicy(form.fields.get('policy') ?? '', now) : undefined
    const range = policy ? checkPostConditions(policy, form.fields, { bucket: record.name, key }) : undefined
    const auth = sig ? asAuthenticated(sig) : null
    const signed = sig ? await credentials.resolve(auth) : undefined
    const signer: S3Request = signed ? { ...req, auth, principal: signed.principal, sessionPolicy: signed.sessionPolicy, tokenIssuedAt: signed.tokenIssuedAt } : req
    // The form's acl, encryption, storage class and tagging count as PutObject's headers do, for policies' condition
    // keys too (s3:x-amz-acl is the form's acl field, not a header of the POST); checked before the file is read,
    // the ACL applied to the new file before it is published. Referer and User-Agent stay the request's.
    const asPut: S3Request = { ...signer, headers: { ...formHeaders(form.fields), referer: req.headers.referer, 'user-agent': req.headers['user-agent'] } }
    const tagging = form.fields.get('tagging')
    const tags = tagging === undefined ? undefined : await tagsFromXml(tagging, MAX_OBJECT_TAGS)
    await requireAccess(asPut, s, { operation: 'PostObject', bucket: record, key, fs: [createNeed(record.path, key)], requestTags: tags })
    const limits = { min: range?.min ?? 0, max: Math.min(range?.max ?? MAX_POST_OBJECT_BYTES, MAX_POST_OBJECT_BYTES) }
    checkAclHeadersAllowed(asPut, s, record)
    await requireUploadHeaderActions(asPut, s, { operation: 'PostObject', bucket: record, key }, { tagging: false }) // the tagging field: below
    const meta = metaFromHeaders(asPut.headers, { fromForm: true })
    if (tags !== undefined) {
      await requireAccess(asPut, s, { operation: 'PostObject', action: 's3:PutObjectTagging', bucket: record, key, requestTags: tags })
      meta.tags = tags
    }
    // The file is checked against the digests the form declares as a PUT's body is against its headers: a mismatch
    // is BadDigest and nothing is stored; a checksum that matched is kept and returned as PutObject's is.
    const file = Readable.from(formFile(form, limits))
    const body = DIGEST_FIELDS.some(f => form.fields.has(f)) ? createVerifiedBody(file, { kind: 'none-declared' }, asPut.headers).body : file
    const result = await storeObject(bucketRef(record), key, body, meta, writeOptions(asPut, s, record))
    return successReply(req, form.fields, { bucket: record.name, key, etag: result.info.etag })
  } catch (err) {
    form.discard()
    throw err
  }
}
