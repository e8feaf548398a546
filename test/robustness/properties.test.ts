// Property-based checks (fast-check): listings against an in-memory model through the real daemon, the POSIX
// ACL codec round trip, and SigV4 requests signed by @smithy/signature-v4 verifying with authenticate().
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'
import fc from 'fast-check'
import t from 'tap'
import { decodePosixAcl, encodePosixAcl, sortPosixAcl, type AclEntry } from '../../lib/access/posix-acl.js'
import { authenticate } from '../../lib/auth/authenticate.js'
import { encodeKeyPath, sendSigned } from '../fixtures/clients/raw-request.js'
import { startBridge } from '../fixtures/daemon.js'

const byUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

/** What ListObjectsV2 must return for a key set: objects and common prefixes, in S3 order. */
function modelListing (keys: readonly string[], prefix: string, delimiter: string | undefined): Array<{ kind: 'object' | 'prefix', name: string }> {
  const out = new Map<string, 'object' | 'prefix'>()
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue
    const cut = delimiter === undefined ? -1 : k.indexOf(delimiter, prefix.length)
    if (cut >= 0) out.set(k.slice(0, cut + 1), 'prefix')
    else out.set(k, 'object')
  }
  return [...out.entries()].sort(([a], [b]) => byUtf8(a, b)).map(([name, kind]) => ({ kind, name }))
}

/** A key set a POSIX tree can hold: no empty segment, and no key is a folder of another. */
function isStorable (keys: readonly string[]): boolean {
  for (const k of keys) {
    if (k.split('/').some(seg => seg === '')) return false
    if (keys.some(o => o.startsWith(k + '/'))) return false
  }
  return true
}

const xmlText = (s: string): string => s.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'")

t.test('ListObjectsV2 (prefix, delimiter, MaxKeys 1..5 pages) matches the model', async t => {
  const b = await startBridge(t)
  const keyArb = fc.array(fc.constantFrom('/', '-', '0', 'a', 'é'), { minLength: 1, maxLength: 6 }).map(cs => cs.join(''))
  const queryArb = fc.record({
    // Prefixes with a leading '/' or '//' are tested on their own below; the model covers the rest.
    prefix: fc.oneof(fc.constant(''), fc.array(fc.constantFrom('/', '-', '0', 'a', 'é'), { minLength: 1, maxLength: 3 }).map(cs => cs.join('')).filter(p => !p.startsWith('/') && !p.includes('//'))),
    delimiter: fc.constantFrom<string | undefined>('/', undefined),
    maxKeys: fc.integer({ min: 1, max: 5 }),
  })
  const caseArb = fc.record({
    keys: fc.uniqueArray(keyArb, { minLength: 1, maxLength: 30 }).map(ks => ks.filter(k => !k.startsWith('/') && !k.endsWith('/'))).filter(isStorable),
    queries: fc.array(queryArb, { minLength: 2, maxLength: 2 }),
  })
  await fc.assert(fc.asyncProperty(caseArb, async ({ keys, queries }) => {
    for (const name of readdirSync(b.bucketDir)) if (name !== '.s3bridge') rmSync(join(b.bucketDir, name), { recursive: true, force: true })
    for (const key of keys) {
      const put = await sendSigned(b.endpoint, b.creds, { method: 'PUT', path: `/demo/${encodeKeyPath(key)}`, body: key })
      if (put.status !== 200) throw new Error(`PUT ${key}: ${put.status} ${put.body}`)
    }
    for (const q of queries) {
      const want = modelListing(keys, q.prefix, q.delimiter)
      const got: Array<{ kind: 'object' | 'prefix', name: string }> = []
      let token: string | undefined
      for (let page = 0; page <= want.length + 1; page++) {
        const params = new URLSearchParams({ 'list-type': '2', prefix: q.prefix, 'max-keys': String(q.maxKeys) })
        if (q.delimiter !== undefined) params.set('delimiter', q.delimiter)
        if (token !== undefined) params.set('continuation-token', token)
        const res = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: `/demo?${params.toString().replace(/\+/g, '%20')}` })
        if (res.status !== 200) throw new Error(`list ${JSON.stringify(q)}: ${res.status} ${res.body}`)
        const entries = [
          ...[...res.body.matchAll(/<Contents>.*?<Key>([^<]*)<\/Key>/gs)].map(m => ({ kind: 'object' as const, name: xmlText(m[1] ?? '') })),
          ...[...res.body.matchAll(/<CommonPrefixes><Prefix>([^<]*)<\/Prefix><\/CommonPrefixes>/g)].map(m => ({ kind: 'prefix' as const, name: xmlText(m[1] ?? '') })),
        ].sort((x, y) => byUtf8(x.name, y.name))
        if (entries.length > q.maxKeys) throw new Error(`page of ${entries.length} > MaxKeys ${q.maxKeys}`)
        got.push(...entries)
        token = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(res.body)?.[1]
        if (!/<IsTruncated>true<\/IsTruncated>/.test(res.body)) break
        if (entries.length === 0) throw new Error('an empty truncated page')
      }
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        throw new Error(`keys ${JSON.stringify(keys)} query ${JSON.stringify(q)}:\n got ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`)
      }
    }
  }), { numRuns: 30, seed: 20240601 })
  t.pass('30 random key sets listed like the model')
})

t.test('a prefix with a leading or doubled "/" lists no phantom keys and never the staging folder', async t => {
  const b = await startBridge(t)
  await sendSigned(b.endpoint, b.creds, { method: 'PUT', path: '/demo/a/x', body: 'x' })
  for (const q of ['prefix=%2F&delimiter=%2F', 'prefix=%2F', 'prefix=a%2F%2F', 'prefix=%2F.s3bridge%2F']) {
    const res = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: `/demo?list-type=2&${q}` })
    t.equal(res.status, 200, `${q}: 200`)
    const listed = [...res.body.matchAll(/<Contents>.*?<Key>([^<]*)<\/Key>/gs), ...res.body.matchAll(/<CommonPrefixes><Prefix>([^<]*)<\/Prefix>/g)].map(m => m[1])
    t.same(listed, [], `${q}: nothing listed`)
  }
})

t.test('POSIX ACL codec: decode(encode(acl)) is the sorted ACL, and encode(decode(bytes)) the same bytes', async t => {
  const perm = fc.integer({ min: 0, max: 7 })
  const id = fc.integer({ min: 0, max: 2 ** 32 - 2 })
  const aclArb = fc.record({
    userObj: perm, groupObj: perm, other: perm, mask: fc.option(perm, { nil: undefined }),
    users: fc.uniqueArray(fc.record({ id, perm }), { selector: e => e.id, maxLength: 6 }),
    groups: fc.uniqueArray(fc.record({ id, perm }), { selector: e => e.id, maxLength: 6 }),
  }).map(r => {
    const entries: AclEntry[] = [
      { tag: 'USER_OBJ', perm: r.userObj }, { tag: 'GROUP_OBJ', perm: r.groupObj }, { tag: 'OTHER', perm: r.other },
      ...r.users.map(u => ({ tag: 'USER' as const, id: u.id, perm: u.perm })),
      ...r.groups.map(g => ({ tag: 'GROUP' as const, id: g.id, perm: g.perm })),
    ]
    if (r.mask !== undefined || r.users.length + r.groups.length > 0) entries.push({ tag: 'MASK', perm: r.mask ?? 7 })
    return entries
  })
  const shuffled = aclArb.chain(entries => fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }))
  fc.assert(fc.property(shuffled, entries => {
    const bytes = encodePosixAcl(entries)
    const decoded = decodePosixAcl(bytes)
    if (JSON.stringify(decoded) !== JSON.stringify(sortPosixAcl(entries))) throw new Error(`decoded ${JSON.stringify(decoded)}`)
    if (!encodePosixAcl(decoded).equals(bytes)) throw new Error('re-encoding changed the bytes')
    if (bytes.length !== 4 + 8 * entries.length) throw new Error(`length ${bytes.length}`)
  }), { numRuns: 500, seed: 7 })
  t.pass('500 random valid ACLs round-trip')
})

t.test('SigV4: random requests signed by @smithy/signature-v4 verify with authenticate()', async t => {
  const AKID = 'AKIDPROPERTYTEST0001'
  const SECRET = 'property/secret+key/0123456789abcdefgh'
  const signingDate = new Date('2024-06-01T08:30:00Z')
  const signer = new SignatureV4({ credentials: { accessKeyId: AKID, secretAccessKey: SECRET }, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false })
  const lookup = async (k: string): Promise<string[] | undefined> => (k === AKID ? [SECRET] : undefined)
  const escape = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase())
  const charArb = fc.constantFrom('a', 'Z', '0', '-', '_', '.', '~', ' ', '+', '%', '!', '(', '*', "'", '=', '&', '?', '#', ':', '@', ',', ';', '$', 'é', '日', '😀', '/')
  const reqArb = fc.record({
    method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD'),
    key: fc.array(charArb, { minLength: 1, maxLength: 16 }).map(cs => cs.join('')),
    query: fc.dictionary(fc.constantFrom('uploadId', 'prefix', 'partNumber', 'acl', 'x-id', 'marker'), fc.array(charArb, { maxLength: 5 }).map(cs => cs.join('')), { maxKeys: 3 }),
    meta: fc.array(fc.constantFrom('a', ' ', 'b', '  ', 'é', '-'), { maxLength: 8 }).map(cs => cs.join('')),
    payload: fc.constantFrom('UNSIGNED-PAYLOAD', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'),
  })
  await fc.assert(fc.asyncProperty(reqArb, async r => {
    const path = '/bucket/' + r.key.split('/').map(escape).join('/')
    const headers: Record<string, string> = { host: 'localhost:9000', 'x-amz-content-sha256': r.payload }
    if (r.meta.trim() !== '') headers['x-amz-meta-note'] = r.meta
    const signed = await signer.sign({ method: r.method, protocol: 'http:', hostname: 'localhost', port: 9000, path, query: r.query, headers }, { signingDate })
    const rawQuery = Object.entries(r.query).map(([k, v]) => (v === '' ? escape(k) : `${escape(k)}=${escape(v)}`)).join('&')
    // As the server sees them: the client sends the UTF-8 bytes it signed, Node reads each byte as a latin-1
    // character, trims values and lower-cases names.
    const seen = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), Buffer.from(v.trim(), 'utf8').toString('latin1')]))
    const auth = await authenticate({ method: r.method, rawUrl: path + (rawQuery === '' ? '' : '?' + rawQuery), headers: seen }, lookup, { now: signingDate, maxClockSkewMs: 15 * 60_000, maxPresignExpirySeconds: 604800 })
    if (auth?.accessKeyId !== AKID) throw new Error('not authenticated')
  }), { numRuns: 200, seed: 99 })
  t.pass('200 random signed requests verify')
})
