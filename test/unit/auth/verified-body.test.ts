// verifiedBody() checks x-amz-content-sha256, Content-MD5 and x-amz-checksum-* headers, failing before 'end'.
import { Crc32c } from '@aws-crypto/crc32c'
import { Crc64Nvme } from '@aws-sdk/crc64-nvme'
import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { crc32 } from 'node:zlib'
import t from 'tap'
import { type Authenticated, verifiedBody } from '../../../lib/auth/authenticate.js'

const data = Buffer.from('The quick brown fox jumps over the lazy dog')
const b64 = (alg: string): string => createHash(alg).update(data).digest('base64')
const u32 = (n: number): string => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b.toString('base64') }

function auth(payload: Authenticated['payload']): Authenticated {
  return { accessKeyId: 'AKID', signatureVersion: 'AWS4-HMAC-SHA256', authType: 'REST-HEADER', signedAt: new Date(), payload }
}

async function read(authenticated: Authenticated | null, headers: IncomingHttpHeaders, body: Buffer = data): Promise<Record<string, string>> {
  const verified = verifiedBody(Readable.from([body.subarray(0, 10), body.subarray(10)]), authenticated, headers)
  let ended = false
  verified.body.on('end', () => { ended = true })
  const out: Buffer[] = []
  try {
    for await (const chunk of verified.body) out.push(chunk as Buffer)
  } catch (err) {
    if (ended) throw new Error('end was emitted before the error')
    throw err
  }
  if (!Buffer.concat(out).equals(body)) throw new Error('body bytes changed')
  return verified.checksums()
}

t.test('a matching signed payload hash, Content-MD5 and checksum header pass and are reported', async t => {
  const sha256Hex = createHash('sha256').update(data).digest('hex')
  const checksums = await read(auth({ kind: 'signed', sha256Hex }), { 'content-md5': b64('md5'), 'x-amz-checksum-sha1': b64('sha1') })
  t.match(checksums, { md5: b64('md5'), sha1: b64('sha1'), sha256: b64('sha256') })
})

t.test('a body that does not hash to x-amz-content-sha256 is XAmzContentSHA256Mismatch', async t => {
  await t.rejects(read(auth({ kind: 'signed', sha256Hex: 'f'.repeat(64) }), {}), {
    code: 'XAmzContentSHA256Mismatch', fields: { ClientComputedContentSHA256: 'f'.repeat(64) },
  })
})

t.test('a wrong Content-MD5 is BadDigest and a malformed one is InvalidDigest', async t => {
  await t.rejects(read(null, { 'content-md5': createHash('md5').update('x').digest('base64') }), { code: 'BadDigest' })
  t.throws(() => verifiedBody(Readable.from([data]), null, { 'content-md5': 'not-base64!' }), { code: 'InvalidDigest' })
  t.throws(() => verifiedBody(Readable.from([data]), null, { 'content-md5': Buffer.alloc(15).toString('base64') }), { code: 'InvalidDigest' })
})

t.test('every x-amz-checksum algorithm is verified against its header', async t => {
  const crc32c = new Crc32c().update(data).digest()
  // CRC-64/NVME reference value from the AWS SDK's own implementation.
  const crc64 = new Crc64Nvme()
  crc64.update(data)
  const right: Record<string, string> = {
    crc32: u32(crc32(data)), crc32c: u32(crc32c), sha1: b64('sha1'), sha256: b64('sha256'),
    crc64nvme: Buffer.from(await crc64.digest()).toString('base64'),
  }
  for (const [algorithm, value] of Object.entries(right)) {
    t.match(await read(auth({ kind: 'unsigned' }), { [`x-amz-checksum-${algorithm}`]: value }), { [algorithm]: value }, algorithm)
    const wrong = Buffer.from(value, 'base64')
    wrong[0] = (wrong[0] ?? 0) ^ 1
    await t.rejects(read(auth({ kind: 'unsigned' }), { [`x-amz-checksum-${algorithm}`]: wrong.toString('base64') }), {
      code: 'BadDigest', message: `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
    }, algorithm)
  }
})

t.test('the crc32 of the empty string and of "123456789" match the standard check values', async t => {
  t.match(await read(null, { 'x-amz-checksum-crc32': 'AAAAAA==' }, Buffer.alloc(0)), { crc32: 'AAAAAA==' })
  t.match(await read(null, { 'x-amz-checksum-crc32': u32(0xcbf43926) }, Buffer.from('123456789')), { crc32: u32(0xcbf43926) })
  t.match(await read(null, { 'x-amz-checksum-crc32c': u32(0xe3069283) }, Buffer.from('123456789')), { crc32c: u32(0xe3069283) })
  const nvme = Buffer.from('ae8b14860a799888', 'hex').toString('base64')
  t.match(await read(null, { 'x-amz-checksum-crc64nvme': nvme }, Buffer.from('123456789')), { crc64nvme: nvme })
})

t.test('malformed or multiple checksum headers are InvalidRequest before any byte is read', async t => {
  t.throws(() => verifiedBody(Readable.from([data]), null, { 'x-amz-checksum-crc32': 'AAAA' }), { code: 'InvalidRequest', message: 'Value for x-amz-checksum-crc32 header is invalid.' })
  t.throws(() => verifiedBody(Readable.from([data]), null, { 'x-amz-checksum-crc32': 'AAAAAA==', 'x-amz-checksum-sha1': b64('sha1') }), { code: 'InvalidRequest' })
})

t.test('x-amz-sdk-checksum-algorithm without a value is computed and reported', async t => {
  t.match(await read(null, { 'x-amz-sdk-checksum-algorithm': 'CRC32C' }), { crc32c: u32(new Crc32c().update(data).digest()) })
})

// RequestTimeout is for a client that stops sending, not for a server that stopped reading: a PUT whose file
// writes were held up (a frozen filesystem: sweep 15b waited 35 s) must not blame the client when writes resume.
t.test('the idle timer runs only while the server is reading: a paused body is not timed out', async t => {
  const { PassThrough } = await import('node:stream')
  const { randomBytes } = await import('node:crypto')
  const whole = randomBytes(4 * 1024 * 1024)
  const raw = new PassThrough()
  const verified = verifiedBody(raw, null, { 'content-length': String(whole.length) }, { idleTimeoutMs: 150 })
  for (let at = 0; at < whole.length; at += 65536) raw.write(whole.subarray(at, at + 65536)) // the client sent everything
  raw.end()
  await new Promise(resolve => setTimeout(resolve, 600)) // the server's sink is busy: nothing reads the body
  const out: Buffer[] = []
  for await (const chunk of verified.body) out.push(chunk as Buffer)
  t.ok(Buffer.concat(out).equals(whole), 'the whole body, no RequestTimeout')

  const stalled = new PassThrough()
  const idle = verifiedBody(stalled, null, { 'content-length': '100' }, { idleTimeoutMs: 150 })
  stalled.write(Buffer.alloc(10)) // and then nothing, while the server waits to read
  const alive = setInterval(() => undefined, 50) // the idle timer is unref'd: a daemon's listener keeps the loop running
  await t.rejects((async () => { for await (const c of idle.body) void c })(), { code: 'RequestTimeout' }, 'a client that stops sending still times out')
  clearInterval(alive)
})
