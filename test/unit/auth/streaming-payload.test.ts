// aws-chunked bodies (signed chunks, signed trailer, unsigned trailer) decode across any TCP split and fail closed.
import { createHash, createHmac } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { crc32 } from 'node:zlib'
import t from 'tap'
import { type Authenticated, verifiedBody } from '../../../lib/auth/authenticate.js'

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest()
const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')
const EMPTY = sha256('')
const amzDate = '20240310T120000Z'
const scope = '20240310/us-east-1/s3/aws4_request'
const signingKey = hmac(hmac(hmac(hmac('AWS4secret', '20240310'), 'us-east-1'), 's3'), 'aws4_request')
const seedSignature = 'a'.repeat(64)

function crc32Base64(data: Buffer): string {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(crc32(data) >>> 0)
  return out.toString('base64')
}

function signedAuth(trailer: boolean): Authenticated {
  return {
    accessKeyId: 'AKID', signatureVersion: 'AWS4-HMAC-SHA256', authType: 'REST-HEADER', signedAt: new Date(),
    payload: { kind: 'streaming-signed', trailer, seedSignature, signingKey, scope, amzDate },
  }
}
const unsignedTrailerAuth: Authenticated = {
  accessKeyId: 'AKID', signatureVersion: 'AWS4-HMAC-SHA256', authType: 'REST-HEADER', signedAt: new Date(),
  payload: { kind: 'streaming-unsigned-trailer' },
}

/** Builds a signed aws-chunked body; `trailers` adds the signed trailer section. */
function signedWire(chunks: Buffer[], trailers?: Record<string, string>): Buffer {
  let previous = seedSignature
  const parts: Buffer[] = []
  for (const data of [...chunks, Buffer.alloc(0)]) {
    const sts = ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previous, EMPTY, sha256(data)].join('\n')
    previous = hmac(signingKey, sts).toString('hex')
    parts.push(Buffer.from(`${data.length.toString(16)};chunk-signature=${previous}\r\n`), data)
    if (data.length > 0) parts.push(Buffer.from('\r\n'))
  }
  if (trailers === undefined) return Buffer.concat([...parts, Buffer.from('\r\n')])
  const canonical = Object.entries(trailers).map(([k, v]) => `${k}:${v}\n`).join('')
  const trailerSig = hmac(signingKey, ['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, previous, sha256(canonical)].join('\n')).toString('hex')
  const lines = Object.entries(trailers).map(([k, v]) => `${k}:${v}\r\n`).join('')
  return Buffer.concat([...parts, Buffer.from(`${lines}x-amz-trailer-signature:${trailerSig}\r\n\r\n`)])
}

/** The framing @aws-sdk/client-s3 sends for STREAMING-UNSIGNED-PAYLOAD-TRAILER. */
function unsignedTrailerWire(chunks: Buffer[], checksum: string): Buffer {
  const parts = chunks.flatMap(c => [Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')])
  return Buffer.concat([...parts, Buffer.from(`0\r\nx-amz-checksum-crc32:${checksum}\r\n\r\n`)])
}

function headersFor(kind: string, decodedLength: number, extra: IncomingHttpHeaders = {}): IncomingHttpHeaders {
  return { 'x-amz-content-sha256': kind, 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(decodedLength), ...extra }
}

/** Reads the body; rejects with its error, and records whether 'end' was emitted. */
async function collect(pieces: Buffer[], auth: Authenticated, headers: IncomingHttpHeaders): Promise<{ data: Buffer, checksums: Record<string, string> }> {
  const { body, checksums } = verifiedBody(Readable.from(pieces), auth, headers)
  let ended = false
  body.on('end', () => { ended = true })
  const out: Buffer[] = []
  try {
    for await (const chunk of body) out.push(chunk as Buffer)
  } catch (err) {
    if (ended) throw new Error('end was emitted before the error')
    throw err
  }
  return { data: Buffer.concat(out), checksums: checksums() }
}

function everySplit(wire: Buffer): Buffer[][] {
  const splits: Buffer[][] = [[wire], [...wire].map(b => Buffer.from([b]))]
  for (let i = 1; i < wire.length; i++) splits.push([wire.subarray(0, i), wire.subarray(i)])
  return splits
}

const payload = [Buffer.from('hello'), Buffer.from(', wo'), Buffer.from('rld!\r\n')]
const whole = Buffer.concat(payload)

t.test('signed chunks decode identically however the wire is split', async t => {
  const wire = signedWire(payload)
  const headers = headersFor('STREAMING-AWS4-HMAC-SHA256-PAYLOAD', whole.length)
  for (const pieces of everySplit(wire)) t.same((await collect(pieces, signedAuth(false), headers)).data, whole)
})

t.test('a corrupted chunk signature or chunk byte is SignatureDoesNotMatch', async t => {
  const wire = signedWire(payload)
  const headers = headersFor('STREAMING-AWS4-HMAC-SHA256-PAYLOAD', whole.length)
  const badSig = Buffer.from(wire)
  const at = wire.indexOf('chunk-signature=', wire.indexOf('chunk-signature=') + 1) + 'chunk-signature='.length
  badSig[at] = badSig[at] === 0x30 ? 0x31 : 0x30
  await t.rejects(collect([badSig], signedAuth(false), headers), { code: 'SignatureDoesNotMatch' })
  const badData = Buffer.from(wire)
  badData[wire.indexOf('hello')] = 0x48
  await t.rejects(collect([badData], signedAuth(false), headers), { code: 'SignatureDoesNotMatch' })
  const wrongSeed = { ...signedAuth(false), payload: { ...signedAuth(false).payload, seedSignature: 'b'.repeat(64) } } as Authenticated
  await t.rejects(collect([wire], wrongSeed, headers), { code: 'SignatureDoesNotMatch' })
})

t.test('signed chunks with a signed crc32 trailer decode across every split', async t => {
  const wire = signedWire(payload, { 'x-amz-checksum-crc32': crc32Base64(whole) })
  const headers = headersFor('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', whole.length, { 'x-amz-trailer': 'x-amz-checksum-crc32' })
  for (const pieces of everySplit(wire)) {
    const result = await collect(pieces, signedAuth(true), headers)
    t.same(result.data, whole)
    t.equal(result.checksums.crc32, crc32Base64(whole))
  }
})

t.test('a tampered trailer signature is SignatureDoesNotMatch; a correctly signed wrong checksum is BadDigest', async t => {
  const headers = headersFor('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', whole.length, { 'x-amz-trailer': 'x-amz-checksum-crc32' })
  const wire = signedWire(payload, { 'x-amz-checksum-crc32': crc32Base64(whole) })
  const at = wire.indexOf('x-amz-trailer-signature:') + 'x-amz-trailer-signature:'.length
  const badSig = Buffer.from(wire)
  badSig[at] = badSig[at] === 0x30 ? 0x31 : 0x30
  await t.rejects(collect([badSig], signedAuth(true), headers), { code: 'SignatureDoesNotMatch' })
  const wrongCrc = signedWire(payload, { 'x-amz-checksum-crc32': crc32Base64(Buffer.from('other')) })
  await t.rejects(collect([wrongCrc], signedAuth(true), headers), {
    code: 'BadDigest', message: 'The CRC32 you specified did not match the calculated checksum.',
  })
})

t.test('unsigned-trailer bodies decode across every split and report the crc32', async t => {
  const wire = unsignedTrailerWire(payload, crc32Base64(whole))
  const headers = headersFor('STREAMING-UNSIGNED-PAYLOAD-TRAILER', whole.length, { 'x-amz-trailer': 'x-amz-checksum-crc32' })
  for (const pieces of everySplit(wire)) {
    const result = await collect(pieces, unsignedTrailerAuth, headers)
    t.same(result.data, whole)
    t.equal(result.checksums.crc32, crc32Base64(whole))
  }
  t.same((await collect([wire], null as unknown as Authenticated, headers)).data, whole, 'anonymous unsigned-trailer bodies decode too')
})

t.test('an unsigned trailer with the wrong crc32 is BadDigest', async t => {
  const wire = unsignedTrailerWire(payload, crc32Base64(Buffer.from('other')))
  const headers = headersFor('STREAMING-UNSIGNED-PAYLOAD-TRAILER', whole.length, { 'x-amz-trailer': 'x-amz-checksum-crc32' })
  await t.rejects(collect([wire], unsignedTrailerAuth, headers), { code: 'BadDigest' })
})

t.test('x-amz-decoded-content-length must equal the decoded bytes', async t => {
  const wire = unsignedTrailerWire(payload, crc32Base64(whole))
  const extra = { 'x-amz-trailer': 'x-amz-checksum-crc32' }
  await t.rejects(collect([wire], unsignedTrailerAuth, headersFor('STREAMING-UNSIGNED-PAYLOAD-TRAILER', whole.length + 1, extra)), { code: 'IncompleteBody' })
  await t.rejects(collect([wire], unsignedTrailerAuth, headersFor('STREAMING-UNSIGNED-PAYLOAD-TRAILER', whole.length - 1, extra)), { code: 'InvalidRequest' })
  t.throws(() => verifiedBody(Readable.from([wire]), unsignedTrailerAuth, { 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' }), { code: 'MissingContentLength' })
})

t.test('truncated or malformed framing fails with IncompleteBody or InvalidRequest', async t => {
  const wire = signedWire(payload)
  const headers = headersFor('STREAMING-AWS4-HMAC-SHA256-PAYLOAD', whole.length)
  for (let cut = 0; cut < wire.length - 2; cut += 7) {
    await t.rejects(collect([wire.subarray(0, cut)], signedAuth(false), headers), { code: 'IncompleteBody' }, `cut at ${cut}`)
  }
  const longLine = Buffer.from('5;' + 'x'.repeat(10_000))
  await t.rejects(collect([longLine], signedAuth(false), headers), { code: 'InvalidRequest' })
  const badSize = Buffer.from('zz\r\nhello\r\n')
  await t.rejects(collect([badSize], unsignedTrailerAuth, headersFor('STREAMING-UNSIGNED-PAYLOAD-TRAILER', 5)), { code: 'InvalidRequest' })
  const noCrlf = Buffer.from('5\r\nhelloXX0\r\n\r\n')
  await t.rejects(collect([noCrlf], unsignedTrailerAuth, headersFor('STREAMING-UNSIGNED-PAYLOAD-TRAILER', 5)), { code: 'InvalidRequest' })
  const unsignedChunk = Buffer.from('5\r\nhello\r\n0\r\n\r\n')
  await t.rejects(collect([unsignedChunk], signedAuth(false), headersFor('STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 5)), { code: 'InvalidRequest' })
})
