// Hostile and broken requests: malformed XML, huge or duplicate headers, broken auth, truncated aws-chunked
// bodies, lying lengths, stalled bodies, key limits, bad paths. Each answer is an S3 error and the daemon survives.
import { createHash } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { sendSigned, type RawResponse } from '../fixtures/clients/raw-request.js'
import { startBridge, type Bridge, type Credentials } from '../fixtures/daemon.js'
import { startChildBridge } from '../fixtures/robustness/child-bridge-process.js'
import {
  assertNoStack, assertS3Error, assertStillServing, exchange, requestHead, settledTmpEntries, signHeaders,
  signedChunkedBody, sleep, unsignedTrailerBody, type WireResponse,
} from '../fixtures/robustness/wire.js'

// A short grace and idle timeout: the stalled-body cases would otherwise hold the test (and teardown) for 20-30 s.
const b: Bridge = await startBridge(t, { shutdownGraceSeconds: 1, requestIdleTimeoutSeconds: 2 })
// Cases that leak temp files use their own bucket, so the health checks on demo stay meaningful.
const scratchDir = await b.addBucket('scratch', 'tester')
const admin = await b.addUser('boss', 2000, 2000, 'admin')
await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'existing', Body: 'hello' }))

const md5 = (body: string): string => createHash('md5').update(body).digest('base64')
const crc32Base64 = (data: Buffer): string => {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(crc32(data) >>> 0)
  return out.toString('base64')
}
const objectFile = (key: string): string => join(b.bucketDir, ...key.split('/'))

/** Runs one bad request as a subtest: its S3 error, then the daemon still serves and staging tmp is empty. */
function errorCase (name: string, codes: string | string[], statuses: number | number[], send: () => Promise<RawResponse>): void {
  t.test(name, async t => {
    const res = await send()
    assertS3Error(t, res, codes, statuses)
    await assertStillServing(t, b.endpoint, b.creds, b.bucketDir)
  })
}

t.test('malformed XML bodies', async t => {
  const upload = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mpu' }))
  await b.s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'mpu', UploadId: upload.UploadId, PartNumber: 1, Body: 'part' }))
  const bodies: Record<string, string> = {
    truncated: '<Delete><Object><Key>a</Key></Object>',
    garbage: '\u0000\u0001 this is not xml {"json": true}',
    'unclosed tag': '<Root><Inner>text</Root>',
    'entity bomb': '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Root>&b;&b;&b;</Root>',
  }
  for (const [label, body] of Object.entries(bodies)) {
    const sends: Array<[string, () => Promise<RawResponse>, string[]]> = [
      ['DeleteObjects', () => sendSigned(b.endpoint, b.creds, { method: 'POST', path: '/demo?delete', headers: { 'content-md5': md5(body) }, body }), ['MalformedXML']],
      ['CompleteMultipartUpload', () => sendSigned(b.endpoint, b.creds, { method: 'POST', path: `/demo/mpu?uploadId=${encodeURIComponent(upload.UploadId ?? '')}`, body }), ['MalformedXML']],
      // AWS answers MalformedACLError for an ACL body that is not well-formed XML.
      ['PutBucketAcl', () => sendSigned(b.endpoint, b.creds, { method: 'PUT', path: '/demo?acl', body }), ['MalformedXML', 'MalformedACLError']],
      ['CreateBucket', () => sendSigned(b.endpoint, admin, { method: 'PUT', path: '/fresh-bucket', body }), ['MalformedXML']],
    ]
    for (const [op, send, codes] of sends) {
      const res = await send()
      assertS3Error(t, res, codes, 400, `${op} with ${label} body:`)
    }
  }
  t.notOk(existsSync(join(b.dir, 'buckets', 'fresh-bucket')), 'CreateBucket with a bad body leaves no directory')
  t.notOk(existsSync(objectFile('mpu')), 'no object published from a bad CompleteMultipartUpload')
  await assertStillServing(t, b.endpoint, b.creds, b.bucketDir)
})

errorCase('DeleteObjects with 1001 keys is MalformedXML', 'MalformedXML', 400, () => {
  const body = `<Delete>${Array.from({ length: 1001 }, (_, i) => `<Object><Key>k${i}</Key></Object>`).join('')}</Delete>`
  return sendSigned(b.endpoint, b.creds, { method: 'POST', path: '/demo?delete', headers: { 'content-md5': md5(body) }, body })
})

// API reference, DeleteObjects: Content-MD5 (or a checksum) is required; AWS answers its absence with this message.
errorCase('DeleteObjects without Content-MD5 or a checksum is InvalidRequest', 'InvalidRequest', 400, async () => {
  const res = await sendSigned(b.endpoint, b.creds, { method: 'POST', path: '/demo?delete', body: '<Delete><Object><Key>existing</Key></Object></Delete>' })
  if (!res.body.includes('<Message>Missing required header for this request: Content-MD5</Message>')) throw new Error(`unexpected body ${res.body}`)
  if (!existsSync(objectFile('existing'))) throw new Error('the key was deleted')
  return res
})

t.test('a 20 KB header is refused and the daemon keeps serving', async t => {
  const headers = await signHeaders(b.endpoint, b.creds, { method: 'GET', path: '/demo/existing', headers: { 'x-amz-meta-big': 'x'.repeat(20 * 1024) } })
  const res = await exchange(b.endpoint, [requestHead('GET', '/demo/existing', headers)])
  t.ok([400, 431].includes(res.status), `status ${res.status} is 400 or 431`)
  assertNoStack(t, res.body)
  await assertStillServing(t, b.endpoint, b.creds, b.bucketDir)
})

t.test('a 20 KB header gets an S3 XML error with a request id', async t => {
  const headers = await signHeaders(b.endpoint, b.creds, { method: 'GET', path: '/demo/existing', headers: { 'x-amz-meta-big': 'x'.repeat(20 * 1024) } })
  const res = await exchange(b.endpoint, [requestHead('GET', '/demo/existing', headers)])
  assertS3Error(t, res, ['RequestHeaderSectionTooLarge', 'BadRequest'], [400, 431])
})

t.test('duplicate headers', async t => {
  const signed = await signHeaders(b.endpoint, b.creds, { method: 'GET', path: '/demo/existing' })
  const entries = Object.entries(signed)
  const cases: Array<[string, Array<[string, string]>, number[]]> = [
    // Node joins repeated x-amz-date values with ", ": the date no longer parses or no longer matches the signature.
    ['x-amz-date', [...entries, ['x-amz-date', signed['x-amz-date'] ?? '']], [400, 403]],
    ['x-amz-content-sha256', [...entries, ['x-amz-content-sha256', 'UNSIGNED-PAYLOAD']], [400, 403]],
    ['authorization (Node keeps the first)', [...entries, ['authorization', 'AWS4-HMAC-SHA256 garbage']], [200, 400, 403]],
    ['host', [...entries, ['host', 'evil.example']], [400]], // RFC 9112 §3.2: one Host, else 400
    ['range', [...entries, ['range', 'bytes=0-1'], ['range', 'bytes=2-3']], [200, 206, 400, 403, 416]],
  ]
  for (const [label, headers, statuses] of cases) {
    const res = await exchange(b.endpoint, [requestHead('GET', '/demo/existing', headers)])
    t.ok(statuses.includes(res.status), `duplicate ${label}: status ${res.status} is one of ${statuses.join('/')}`)
    if (res.status >= 400) assertS3Error(t, res, ['AuthorizationHeaderMalformed', 'SignatureDoesNotMatch', 'InvalidArgument', 'AccessDenied', 'InvalidRequest', 'InvalidRange', 'BadRequest'], statuses, `duplicate ${label}:`)
  }
  // A request target in absolute form is accepted (RFC 9112 §3.2.2) and signs as its origin form.
  const absolute = await exchange(b.endpoint, [requestHead('GET', `${b.endpoint}/demo/existing`, entries)])
  t.equal(absolute.status, 200, `absolute-form target: ${absolute.status}`)
  // Two different Content-Lengths are a request-smuggling vector: the parser must refuse them.
  const put = await signHeaders(b.endpoint, b.creds, { method: 'PUT', path: '/demo/dup-cl' })
  const res = await exchange(b.endpoint, [requestHead('PUT', '/demo/dup-cl', [...Object.entries(put), ['content-length', '3'], ['content-length', '5']]), Buffer.from('abcde')])
  t.equal(res.status, 400, 'conflicting Content-Length headers are a 400')
  t.notOk(existsSync(objectFile('dup-cl')), 'no object from conflicting Content-Lengths')
  await assertStillServing(t, b.endpoint, b.creds, b.bucketDir)
})

t.test('invalid, truncated and garbled Authorization headers', async t => {
  const signed = await signHeaders(b.endpoint, b.creds, { method: 'GET', path: '/demo/existing' })
  const auth = signed.authorization ?? ''
  const sigAt = auth.indexOf('Signature=') + 'Signature='.length
  const withAuth = (authorization: string | undefined): Array<[string, string]> => {
    const rest = Object.entries(signed).filter(([k]) => k !== 'authorization')
    return authorization === undefined ? rest : [...rest, ['authorization', authorization]]
  }
  const flip = (s: string, at: number): string => s.slice(0, at) + (s[at] === '0' ? '1' : '0') + s.slice(at + 1)
  const cases: Array<[string, Array<[string, string]>, string | string[], number]> = [
    ['unknown scheme', withAuth('Bearer abc.def'), 'InvalidArgument', 400],
    // AWS says AuthorizationHeaderMalformed; a bare algorithm name reads as an unknown scheme here (InvalidArgument).
    ['algorithm only', withAuth('AWS4-HMAC-SHA256 '), ['AuthorizationHeaderMalformed', 'InvalidArgument'], 400],
    ['cut inside Credential', withAuth(auth.slice(0, auth.indexOf('Credential=') + 20)), 'AuthorizationHeaderMalformed', 400],
    ['cut before Signature', withAuth(auth.slice(0, auth.indexOf(', Signature='))), 'AuthorizationHeaderMalformed', 400],
    ['short credential scope', withAuth(auth.replace(/\/us-east-1\/s3\/aws4_request/, '/us-east-1')), 'AuthorizationHeaderMalformed', 400],
    ['empty Signature', withAuth(auth.slice(0, sigAt)), ['AuthorizationHeaderMalformed', 'SignatureDoesNotMatch'], -1],
    ['signature cut to 32 hex', withAuth(auth.slice(0, sigAt + 32)), 'SignatureDoesNotMatch', 403],
    ['one hex digit changed', withAuth(flip(auth, sigAt + 7)), 'SignatureDoesNotMatch', 403],
    ['non-hex signature', withAuth(auth.slice(0, sigAt) + 'z'.repeat(64)), 'SignatureDoesNotMatch', 403],
    ['unknown access key', withAuth(auth.replace(b.creds.accessKeyId, 'AKIANOTAREALKEY00000')), 'InvalidAccessKeyId', 403],
    ['x-amz-date missing', withAuth(auth).filter(([k]) => k !== 'x-amz-date'), 'AccessDenied', 403],
    ['SigV2 with a bad signature', withAuth(`AWS ${b.creds.accessKeyId}:AAAAAAAAAAAAAAAAAAAAAAAAAAA=`).filter(([k]) => k !== 'x-amz-content-sha256' && k !== 'x-amz-date').concat([['date', new Date().toUTCString()]]), 'SignatureDoesNotMatch', 403],
    ['SigV2 without a colon', withAuth('AWS justonetoken'), ['AuthorizationHeaderMalformed', 'InvalidArgument'], 400],
  ]
  for (const [label, headers, codes, status] of cases) {
    const res = await exchange(b.endpoint, [requestHead('GET', '/demo/existing', headers)])
    assertS3Error(t, res, codes, status === -1 ? [400, 403] : status, `${label}:`)
  }
  // Anonymous callers read world-readable files by design (docs/design.md), but may not list a private bucket.
  const anon = await exchange(b.endpoint, [requestHead('GET', '/demo', { host: new URL(b.endpoint).host })])
  assertS3Error(t, anon, 'AccessDenied', 403, 'anonymous list:')
  await assertStillServing(t, b.endpoint, b.creds, b.bucketDir)
})

/** Sends a PUT of an aws-chunked body whose Content-Length is honest but whose framing stops early. */
async function putChunked (target: { endpoint: string, creds: Credentials }, key: string, kind: 'unsigned-trailer' | 'signed', cut: (wire: Buffer) => Buffer, stopWhen?: () => boolean): Promise<{ res: WireResponse, data: Buffer }> {
  const data = Buffer.alloc(3 * 8192, 'abcdefgh')
  const chunks = [data.subarray(0, 8192), data.subarray(8192, 16384), data.subarray(16384)]
  const path = `/demo/${key}`
  const common = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length) }
  let headers: Record<string, string>
  let wire: Buffer
  if (kind === 'unsigned-trailer') {
    headers = await signHeaders(target.endpoint, target.creds, { method: 'PUT', path, payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', headers: { ...common, 'x-amz-trailer': 'x-amz-checksum-crc32' } })
    wire = unsignedTrailerBody(chunks, crc32Base64(data))
  } else {
    headers = await signHeaders(target.endpoint, target.creds, { method: 'PUT', path, payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', headers: common })
    const seed = /Signature=([0-9a-f]{64})/.exec(headers.authorization ?? '')?.[1] ?? ''
    wire = signedChunkedBody(chunks, seed, target.creds.secretAccessKey, headers['x-amz-date'] ?? '')
  }
  const body = cut(wire)
  const res = await exchange(target.endpoint, [requestHead('PUT', path, { ...headers, 'content-length': String(body.length) }), body], { waitMs: 3_000, ...(stopWhen ? { stopWhen } : {}) })
  return { res, data }
}

const CHUNK_CUTS: Array<[string, (w: Buffer) => Buffer]> = [
  ['inside a chunk', w => w.subarray(0, Math.floor(w.length / 2))],
  ['inside a chunk header', w => w.subarray(0, w.indexOf('\r\n', 8200) - 3)],
  ['before the final chunk', w => w.subarray(0, w.lastIndexOf(Buffer.from('\r\n0')) + 2)],
]
const CHUNK_KINDS = ['unsigned-trailer', 'signed'] as const

// The truncated bodies go to a bridged in its own process that reports uncaught exceptions instead of dying of
// them: a crash is a finding, not the end of this file.
const chunkedOutcomes: Array<{ label: string, res: WireResponse, uncaught: string[] }> = []
t.test('truncated aws-chunked bodies publish nothing; an answer, if any, is a 400', async t => {
  const child = await startChildBridge(t)
  for (const kind of CHUNK_KINDS) {
    for (const [cutLabel, cut] of CHUNK_CUTS) {
      const label = `${kind} cut ${cutLabel}`
      const key = `chunked-${kind}-${cutLabel.replace(/ /g, '-')}`
      const before = child.uncaught().length
      const { res } = await putChunked(child, key, kind, cut, () => child.uncaught().length > before)
      await sleep(100)
      const uncaught = child.uncaught().slice(before)
      chunkedOutcomes.push({ label, res, uncaught })
      if (uncaught.length > 0) t.comment(`${label}: ${uncaught.join('; ')}`)
      t.notOk(existsSync(join(child.bucketDir, key)), `${label}: no object`)
      if (res.status !== 0) assertS3Error(t, res, ['IncompleteBody', 'InvalidRequest', 'BadRequest', 'InvalidArgument'], 400, `${label}:`)
    }
  }
  // The whole body, untouched, is stored: the framing above was right up to the cut.
  for (const kind of CHUNK_KINDS) {
    const { res, data } = await putChunked(child, `chunked-${kind}-whole`, kind, w => w)
    t.equal(res.status, 200, `${kind} whole body is stored`)
    const get = await sendSigned(child.endpoint, child.creds, { method: 'GET', path: `/demo/chunked-${kind}-whole` })
    t.equal(get.body, data.toString(), `${kind} whole body reads back`)
  }
})

t.test('truncated aws-chunked bodies are answered 400 IncompleteBody and the daemon survives', async t => {
  for (const o of chunkedOutcomes) {
    t.same(o.uncaught, [], `${o.label}: no uncaught exception (a real bridged would exit)`)
    assertS3Error(t, o.res, 'IncompleteBody', 400, `${o.label}:`)
  }
})

/** Opens PUTs to scratch that promise 100000 bytes, send 1000, then end as `after` says. */
async function liarPut (key: string, after: 'half-close' | 'destroy' | 'wait', waitMs: number): Promise<WireResponse> {
  const headers = await signHeaders(b.endpoint, b.creds, { method: 'PUT', path: `/scratch/${key}` })
  return exchange(b.endpoint, [requestHead('PUT', `/scratch/${key}`, { ...headers, 'content-length': '100000' }), Buffer.alloc(1000, 'x')], { after, waitMs })
}

const liarOutcomes: Array<{ after: string, res: WireResponse, tmpLeft: string[], inFlight: number }> = []
t.test('a Content-Length that lies (shorter body, then close) publishes nothing', async t => {
  for (const after of ['half-close', 'destroy'] as const) {
    const key = `liar-${after}`
    const res = await liarPut(key, after, 2_000)
    t.not(res.status, 500, `${after}: not a 500`)
    assertNoStack(t, res.body, after)
    const tmpLeft = await settledTmpEntries(scratchDir, 2_000)
    const until = Date.now() + 2_000
    while (b.daemon.inFlight() > 0 && Date.now() < until) await sleep(50)
    liarOutcomes.push({ after, res, tmpLeft, inFlight: b.daemon.inFlight() })
    t.notOk(existsSync(join(scratchDir, key)), `${after}: no object`)
    const head = await sendSigned(b.endpoint, b.creds, { method: 'HEAD', path: `/scratch/${key}` })
    t.equal(head.status, 404, `${after}: HEAD is 404`)
    for (const f of tmpLeft) rmSync(join(scratchDir, '.s3bridge', 'tmp', f), { force: true })
  }
  await assertStillServing(t, b.endpoint, b.creds, b.bucketDir)
})

t.test('a PUT whose client leaves early ends: its temp file is removed and the request is no longer in flight', async t => {
  for (const o of liarOutcomes) {
    t.same(o.tmpLeft, [], `${o.after}: no temp file 2 s after the client left`)
    t.equal(o.inFlight, 0, `${o.after}: no request left in flight`)
  }
})

t.test('a half-closed short body gets an S3 XML error', async t => {
  const o = liarOutcomes.find(x => x.after === 'half-close')
  t.ok(o, 'ran')
  if (o) assertS3Error(t, o.res, 'IncompleteBody', 400, '')
})

t.test('a body that stalls gets no answer while slow and publishes nothing', async t => {
  const res = await liarPut('stalled', 'wait', 1_000)
  t.equal(res.status, 0, 'no answer while the body is merely slow')
  t.notOk(existsSync(join(scratchDir, 'stalled')), 'nothing published while stalled')
  await assertStillServing(t, b.endpoint, b.creds, b.bucketDir)
})

t.test('a stalled body is timed out by the server (RequestTimeout) instead of held forever', async t => {
  const started = Date.now()
  const res = await liarPut('stalled-forever', 'wait', 4_000)
  t.ok(res.closedByServer || res.status !== 0, `server answered or closed within ${Date.now() - started} ms`)
  assertS3Error(t, res, 'RequestTimeout', 400, '')
})

t.test('key length limits', async t => {
  const exact = 'abcdefghi/'.repeat(102) + 'abcd'
  t.equal(Buffer.byteLength(exact), 1024)
  const put = await sendSigned(b.endpoint, b.creds, { method: 'PUT', path: `/demo/${exact}`, body: 'exact' })
  t.equal(put.status, 200, 'a 1024-byte key with short segments is stored')
  t.equal((await sendSigned(b.endpoint, b.creds, { method: 'GET', path: `/demo/${exact}` })).body, 'exact', 'and reads back')
  const tooLong = exact + 'e'
  assertS3Error(t, await sendSigned(b.endpoint, b.creds, { method: 'PUT', path: `/demo/${tooLong}`, body: 'x' }), 'KeyTooLongError', 400, '1025 bytes PUT:')
  assertS3Error(t, await sendSigned(b.endpoint, b.creds, { method: 'GET', path: `/demo/${tooLong}` }), ['KeyTooLongError', 'NoSuchKey'], [400, 404], '1025 bytes GET:')
  // 1024 bytes of two-byte characters: the limit counts UTF-8 bytes, not characters.
  const wide = ('é'.repeat(100) + '/').repeat(5) + 'é'.repeat(7)
  t.equal(Buffer.byteLength(wide), 1019)
  t.equal((await sendSigned(b.endpoint, b.creds, { method: 'PUT', path: `/demo/${encodeURI(wide)}`, body: 'w' })).status, 200, '1019 bytes of é is stored')
  const widest = wide + 'ééé'
  assertS3Error(t, await sendSigned(b.endpoint, b.creds, { method: 'PUT', path: `/demo/${encodeURI(widest)}`, body: 'w' }), 'KeyTooLongError', 400, '1025 bytes of é:')
  // One 300-byte segment cannot be a file name (NAME_MAX 255): an S3 error, never a 500.
  const longSegment = await sendSigned(b.endpoint, b.creds, { method: 'PUT', path: `/demo/${'s'.repeat(300)}`, body: 'x' })
  t.not(longSegment.status, 500, `a 300-byte segment is not a 500 (got ${longSegment.status})`)
  if (longSegment.status >= 400) assertS3Error(t, longSegment, ['KeyTooLongError', 'InvalidArgument', 'InvalidRequest'], 400, '300-byte segment:')
  // Refused before any folder is made: a long last segment under new folders leaves no folders behind.
  const nested = await sendSigned(b.endpoint, b.creds, { method: 'PUT', path: `/demo/new1/new2/${'s'.repeat(256)}`, body: 'x' })
  assertS3Error(t, nested, 'KeyTooLongError', 400, '256-byte last segment:')
  t.notOk(existsSync(join(b.bucketDir, 'new1')), 'no folder was made for the refused key')
  const mpu = await sendSigned(b.endpoint, b.creds, { method: 'POST', path: `/demo/new1/${'m'.repeat(256)}?uploads` })
  assertS3Error(t, mpu, 'KeyTooLongError', 400, 'CreateMultipartUpload with a 256-byte segment:')
  await assertStillServing(t, b.endpoint, b.creds, b.bucketDir)
})

errorCase('invalid UTF-8 in the path is a 400', ['InvalidURI', 'InvalidArgument', 'BadRequest'], 400,
  () => sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/demo/bad%C3%28name' }))

errorCase('invalid UTF-8 in a PUT path is a 400', ['InvalidURI', 'InvalidArgument', 'BadRequest'], 400,
  () => sendSigned(b.endpoint, b.creds, { method: 'PUT', path: '/demo/bad%FFname', body: 'x' }))

errorCase('a Range past the end is 416 InvalidRange', 'InvalidRange', 416,
  () => sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/demo/existing', headers: { range: 'bytes=100-200' } }))

errorCase('an unknown sub-resource (?encryption) is 501 NotImplemented', 'NotImplemented', 501,
  () => sendSigned(b.endpoint, b.creds, { method: 'PUT', path: '/demo?encryption', body: '<ServerSideEncryptionConfiguration/>' }))

errorCase('GET ?lifecycle is 501 NotImplemented (or NoSuchLifecycleConfiguration)', ['NotImplemented', 'NoSuchLifecycleConfiguration'], [501, 404],
  () => sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/demo?lifecycle' }))

errorCase('PATCH on an object is 405 MethodNotAllowed', 'MethodNotAllowed', 405,
  () => sendSigned(b.endpoint, b.creds, { method: 'PATCH', path: '/demo/existing', body: 'x' }))

errorCase('PATCH on a bucket is 405 MethodNotAllowed', 'MethodNotAllowed', 405,
  () => sendSigned(b.endpoint, b.creds, { method: 'PATCH', path: '/demo' }))

t.test('the object written before all this is untouched', async t => {
  await sleep(0)
  t.equal((await sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/demo/existing' })).body, 'hello')
})
