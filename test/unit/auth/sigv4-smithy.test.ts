// authenticate() agrees with @smithy/signature-v4 on random S3 requests, and rejects any tampering with the right code.
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'
import type { IncomingHttpHeaders } from 'node:http'
import t from 'tap'
import { authenticate, type SignedRequestInput } from '../../../lib/auth/authenticate.js'

const AKID = 'AKIDSMITHYTEST0001'
const SECRET = 'smithy/secret+key/0123456789abcdefghij'
const OLD_SECRET = 'previous-secret-still-in-rotation-window'
const signingDate = new Date('2024-03-10T12:00:00Z')
const opts = { now: signingDate, maxClockSkewMs: 15 * 60_000, maxPresignExpirySeconds: 604800 }
const lookup = async (key: string): Promise<string[] | undefined> => (key === AKID ? [SECRET, OLD_SECRET] : undefined)

// Deterministic PRNG so a failure names a reproducible case.
function random(seed: number): () => number {
  let s = seed
  return () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 }
}
const KEY_CHARS = ['a', 'Z', '0', '-', '_', '.', '~', ' ', '+', '%', '!', '(', ')', '*', "'", '=', '&', '?', '#', ':', '@', ',', ';', '$', 'é', '日本', '😀', '/']
const METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD']

const escapeUri = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase())

interface Case { method: string, key: string, query: Record<string, string>, strictEncoding: boolean }

function randomCase(rand: () => number): Case {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T
  let key = ''
  const length = 1 + Math.floor(rand() * 12)
  for (let i = 0; i < length; i++) key += pick(KEY_CHARS)
  const query: Record<string, string> = {}
  if (rand() < 0.5) query.uploadId = pick(KEY_CHARS) + 'x' + pick(KEY_CHARS)
  if (rand() < 0.3) query.acl = ''
  if (rand() < 0.3) query['prefix'] = pick(KEY_CHARS) + pick(KEY_CHARS)
  return { method: pick(METHODS), key, query, strictEncoding: rand() < 0.5 }
}

function encodePath(c: Case): string {
  const encode = c.strictEncoding ? escapeUri : encodeURIComponent
  return '/bucket/' + c.key.split('/').map(encode).join('/')
}

function rawQuery(query: Record<string, string | string[] | null>, strict: boolean): string {
  const encode = strict ? escapeUri : encodeURIComponent
  return Object.entries(query).map(([k, v]) => (v === '' ? encode(k) : `${encode(k)}=${encode(String(v))}`)).join('&')
}

const signer = new SignatureV4({
  credentials: { accessKeyId: AKID, secretAccessKey: SECRET }, region: 'us-east-1', service: 's3',
  sha256: Sha256, uriEscapePath: false, applyChecksum: false,
})

function lowerHeaders(headers: Record<string, string>): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
}

async function signedHeaderRequest(c: Case, secret = SECRET): Promise<SignedRequestInput> {
  const path = encodePath(c)
  const s = secret === SECRET ? signer : new SignatureV4({ credentials: { accessKeyId: AKID, secretAccessKey: secret }, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false })
  const signed = await s.sign({
    method: c.method, protocol: 'http:', hostname: 'localhost', port: 9000, path, query: c.query,
    headers: { host: 'localhost:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-meta-note': '  two   spaces ', 'content-type': 'text/plain' },
  }, { signingDate })
  const query = rawQuery(c.query, c.strictEncoding)
  return { method: c.method, rawUrl: path + (query === '' ? '' : '?' + query), headers: lowerHeaders(signed.headers) }
}

async function presignedRequest(c: Case): Promise<SignedRequestInput> {
  const path = encodePath(c)
  const presigned = await signer.presign({
    method: c.method, protocol: 'http:', hostname: 'localhost', port: 9000, path, query: c.query,
    headers: { host: 'localhost:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  }, { signingDate, expiresIn: 3600, unsignableHeaders: new Set(['x-amz-content-sha256']), unhoistableHeaders: new Set(['x-amz-content-sha256']) })
  return { method: c.method, rawUrl: path + '?' + rawQuery(presigned.query ?? {}, c.strictEncoding), headers: { host: 'localhost:9000' } }
}

function flipHexChar(signature: string, at: number): string {
  const c = signature[at] === '0' ? '1' : '0'
  return signature.slice(0, at) + c + signature.slice(at + 1)
}

const rand = random(42)
const cases = Array.from({ length: 60 }, () => randomCase(rand))

t.test('header-signed random requests verify, and any tampering is SignatureDoesNotMatch', async t => {
  for (const c of cases) {
    const req = await signedHeaderRequest(c)
    const label = JSON.stringify(c)
    t.match(await authenticate(req, lookup, opts), { accessKeyId: AKID, authType: 'REST-HEADER', payload: { kind: 'unsigned' } }, label)
    const auth = String(req.headers.authorization)
    const sigAt = auth.indexOf('Signature=') + 'Signature='.length + Math.floor(rand() * 64)
    const tampered: SignedRequestInput[] = [
      { ...req, headers: { ...req.headers, authorization: flipHexChar(auth, sigAt) } },
      { ...req, headers: { ...req.headers, 'x-amz-meta-note': 'changed' } },
      { ...req, headers: { ...req.headers, host: 'localhost:9001' } },
      { ...req, rawUrl: req.rawUrl.replace('/bucket/', '/bucket/x') },
      { ...req, headers: { ...req.headers, 'x-amz-date': '20240310T120001Z' } },
      { ...req, method: c.method === 'GET' ? 'PUT' : 'GET' },
    ]
    for (const bad of tampered) {
      await t.rejects(authenticate(bad, lookup, opts), { code: 'SignatureDoesNotMatch', fields: { AWSAccessKeyId: AKID } }, label)
    }
  }
})

t.test('presigned random requests verify, and any tampering is SignatureDoesNotMatch', async t => {
  for (const c of cases) {
    const req = await presignedRequest(c)
    const label = JSON.stringify(c)
    t.match(await authenticate(req, lookup, opts), { authType: 'REST-QUERY-STRING', payload: { kind: 'unsigned' } }, label)
    const tampered: SignedRequestInput[] = [
      { ...req, rawUrl: req.rawUrl.replace(/X-Amz-Signature=(.)/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`) },
      { ...req, rawUrl: req.rawUrl.replace('X-Amz-Date=20240310T120000Z', 'X-Amz-Date=20240310T120001Z') },
      { ...req, rawUrl: req.rawUrl.replace('/bucket/', '/bucket/x') },
      { ...req, headers: { host: 'evil:9000' } },
      { ...req, rawUrl: req.rawUrl + '&extra=1' },
    ]
    for (const bad of tampered) await t.rejects(authenticate(bad, lookup, opts), { code: 'SignatureDoesNotMatch' }, label)
  }
})

t.test('a request signed with the old secret inside its rotation window verifies', async t => {
  const req = await signedHeaderRequest({ method: 'GET', key: 'k', query: {}, strictEncoding: true }, OLD_SECRET)
  t.match(await authenticate(req, lookup, opts), { accessKeyId: AKID })
})

t.test('SignatureDoesNotMatch carries the canonical request and string to sign but never the secret', async t => {
  const req = await signedHeaderRequest({ method: 'GET', key: 'k', query: {}, strictEncoding: true }, 'wrong-secret')
  const err = await authenticate(req, lookup, opts).catch((e: unknown) => e)
  t.match(err, { code: 'SignatureDoesNotMatch', fields: { CanonicalRequest: /^GET\n\/bucket\/k\n/, StringToSign: /^AWS4-HMAC-SHA256\n20240310T120000Z\n/ } })
  t.notMatch(JSON.stringify(err), SECRET)
})

t.test('a presigned URL outside its validity is rejected before the signature is checked', async t => {
  const req = await presignedRequest({ method: 'GET', key: 'k', query: {}, strictEncoding: true })
  await t.rejects(authenticate(req, lookup, { ...opts, now: new Date('2024-03-10T13:00:01Z') }), { code: 'AccessDenied', message: 'Request has expired' })
  t.ok(await authenticate(req, lookup, { ...opts, now: new Date('2024-03-10T13:00:00Z') }))
})
