// AWS behaviours a sixth conformance sweep found missing: conditional deletes, Object Lock headers on a bucket
// without Object Lock, DNS-label bucket names, stray Expect headers, bytes past Content-Length, listing limits,
// empty version ids and the List*Configurations reads; checked through the AWS SDK and raw requests.
import t from 'tap'
import { createHash } from 'node:crypto'
import {
  CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand,
  HeadObjectCommand, ListBucketAnalyticsConfigurationsCommand, ListBucketIntelligentTieringConfigurationsCommand,
  ListBucketInventoryConfigurationsCommand, ListBucketMetricsConfigurationsCommand, PutObjectCommand, GetBucketVersioningCommand, PutBucketVersioningCommand,
} from '@aws-sdk/client-s3'
import { anonymousClient, startBridge, type Credentials } from '../fixtures/daemon.js'
import { exchangeRaw, sendSigned, signedHead } from '../fixtures/clients/raw-request.js'

const codeOf = (body: string): string | undefined => /<Code>([^<]*)<\/Code>/.exec(body)?.[1]
const field = (body: string, name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1]

/** A SigV4-signed request written byte for byte on a fresh socket (with `extra` after the body); resolves the raw answer. */
async function rawExchange (endpoint: string, creds: Credentials, req: { method: string, path: string, headers?: Record<string, string>, body?: string, extra?: string }): Promise<string> {
  const body = req.body ?? ''
  const head = await signedHead(endpoint, creds, {
    method: req.method,
    path: req.path,
    headers: { 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'), 'content-length': String(Buffer.byteLength(body)), ...req.headers },
  })
  return exchangeRaw(endpoint, head + body + (req.extra ?? ''))
}

t.test('conditional DeleteObject: If-Match with another ETag is 412 and keeps the object; * or the ETag deletes; a missing key is 404', async t => {
  const b = await startBridge(t)
  const put = await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'guarded', Body: 'v1' }))
  await t.rejects(b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'guarded', IfMatch: '"00000000000000000000000000000000"' })),
    { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } })
  t.equal((await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'guarded' }))).ETag, put.ETag, 'the object stays')
  await b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'guarded', IfMatch: put.ETag }))
  await t.rejects(b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'guarded' })), { name: 'NotFound' }, 'the matching ETag deletes')
  await t.rejects(b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'guarded', IfMatch: '*' })),
    { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }, 'If-Match on a missing key is 404')
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'starred', Body: 'x' }))
  await b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'starred', IfMatch: '*' }))
  await t.rejects(b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'starred' })), { name: 'NotFound' }, '* deletes an existing object')
  await b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'never-there' }))
  t.pass('an unconditional delete of a missing key is still 204')
})

t.test('DeleteObjects honours each object\'s <ETag>: a mismatch is a per-key PreconditionFailed and the object stays', async t => {
  const b = await startBridge(t)
  const a = await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'e1', Body: 'one' }))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'e2', Body: 'two' }))
  const r = await b.s3.send(new DeleteObjectsCommand({
    Bucket: 'demo',
    Delete: { Objects: [{ Key: 'e1', ETag: a.ETag }, { Key: 'e2', ETag: '"bogus"' }, { Key: 'e3', ETag: '"whatever"' }] },
  }))
  t.same(r.Deleted?.map(d => d.Key), ['e1'])
  t.same(r.Errors?.map(e => [e.Key, e.Code]), [['e2', 'PreconditionFailed'], ['e3', 'NoSuchKey']])
  t.ok(await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'e2' })), 'e2 stays')
  await t.rejects(b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'e1' })), { name: 'NotFound' })
})

t.test('Object Lock headers on a bucket without Object Lock are refused, and nothing is stored', async t => {
  const b = await startBridge(t)
  const lock = { ObjectLockMode: 'COMPLIANCE' as const, ObjectLockRetainUntilDate: new Date('2030-01-01T00:00:00Z') }
  for (const [name, send] of [
    ['PutObject', () => b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'locked', Body: 'x', ...lock }))],
    ['PutObject legal hold', () => b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'locked', Body: 'x', ObjectLockLegalHoldStatus: 'ON' }))],
    ['CreateMultipartUpload', () => b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'locked', ...lock }))],
  ] as const) {
    await t.rejects(send(), { name: 'InvalidRequest', message: 'Bucket is missing ObjectLockConfiguration', $metadata: { httpStatusCode: 400 } }, name)
  }
  await t.rejects(b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'locked' })), { name: 'NotFound' }, 'nothing stored')
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'src', Body: 'x' }))
  await t.rejects(b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'locked', CopySource: 'demo/src', ...lock })), { name: 'InvalidRequest' }, 'CopyObject')
})

t.test('bucket names with a hyphen next to a dot are InvalidBucketName (each DNS label begins and ends with a letter or digit)', async t => {
  const b = await startBridge(t)
  for (const name of ['foo.-bar', 'foo-.bar']) {
    await t.rejects(b.s3.send(new CreateBucketCommand({ Bucket: name })), { name: 'InvalidBucketName', $metadata: { httpStatusCode: 400 } }, name)
  }
  await b.s3.send(new CreateBucketCommand({ Bucket: 'foo-bar.baz-1' }))
  t.pass('hyphens inside labels are fine')
})

t.test('an Expect header other than 100-continue is ignored, as S3 does, instead of a bare 417', async t => {
  const b = await startBridge(t)
  for (const expect of ['200', '']) {
    const answer = await rawExchange(b.endpoint, b.creds, { method: 'PUT', path: '/demo/expect', headers: { expect }, body: 'hello' })
    t.match(answer, /^HTTP\/1\.1 200 /, `Expect: "${expect}"`)
  }
  const get = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'expect' }))
  t.equal(await get.Body?.transformToString(), 'hello')
})

t.test('bytes past Content-Length: the request is answered (BadDigest for its Content-MD5), then the connection closes', async t => {
  const b = await startBridge(t)
  const md5 = createHash('md5').update('bar').digest('base64')
  const answer = await rawExchange(b.endpoint, b.creds, { method: 'PUT', path: '/demo/short', headers: { 'content-md5': md5 }, body: 'ba', extra: 'r' })
  t.match(answer, /^HTTP\/1\.1 400 /, 'an answer, not a dropped connection')
  t.equal(codeOf(answer), 'BadDigest')
  await t.rejects(b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'short' })), { name: 'NotFound' }, 'nothing stored')
})

t.test('max-keys beyond the integer range and an empty versionId are 400 InvalidArgument', async t => {
  const b = await startBridge(t)
  const big = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/demo?list-type=2&max-keys=2147483648' })
  t.equal(big.status, 400)
  t.equal(codeOf(big.body), 'InvalidArgument')
  t.equal((await sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/demo?list-type=2&max-keys=2147483647' })).status, 200, 'the largest int is fine')
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'v', Body: 'x' }))
  for (const method of ['GET', 'DELETE']) {
    const r = await sendSigned(b.endpoint, b.creds, { method, path: '/demo/v?versionId=' })
    t.equal(r.status, 400, method)
    t.equal(codeOf(r.body), 'InvalidArgument', method)
    t.equal(field(r.body, 'Message'), 'Version id cannot be the empty string', method)
  }
  t.ok(await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'v' })), 'the object is untouched')
})

t.test('List*Configurations (analytics, metrics, inventory, intelligent-tiering) are empty lists; one named id is 404', async t => {
  const b = await startBridge(t)
  const analytics = await b.s3.send(new ListBucketAnalyticsConfigurationsCommand({ Bucket: 'demo' }))
  t.equal(analytics.IsTruncated, false)
  t.equal(analytics.AnalyticsConfigurationList, undefined)
  t.equal((await b.s3.send(new ListBucketMetricsConfigurationsCommand({ Bucket: 'demo' }))).IsTruncated, false)
  t.equal((await b.s3.send(new ListBucketInventoryConfigurationsCommand({ Bucket: 'demo' }))).IsTruncated, false)
  t.equal((await b.s3.send(new ListBucketIntelligentTieringConfigurationsCommand({ Bucket: 'demo' }))).IsTruncated, false)
  const one = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/demo?analytics&id=report' })
  t.equal(one.status, 404)
  t.equal(codeOf(one.body), 'NoSuchConfiguration')
  const anon = await fetch(`${b.endpoint}/demo?metrics`)
  t.equal(anon.status, 403, 'still authorized like the other configuration reads')
})

t.test('bucket configuration calls are the owner\'s: PutBucketVersioning by another user or anonymously is 403 and changes nothing', async t => {
  const b = await startBridge(t)
  const other = b.client(await b.addUser('other', 2001, 2001))
  const anon = anonymousClient(b.endpoint, t)
  for (const [who, client] of [['another user', other], ['anonymous', anon]] as Array<[string, typeof other]>) {
    const status = (e: { $metadata?: { httpStatusCode?: number } }): number | undefined => e.$metadata?.httpStatusCode
    t.equal(await client.send(new PutBucketVersioningCommand({ Bucket: 'demo', VersioningConfiguration: { Status: 'Suspended' } })).then(() => 200, status), 403, who)
    t.equal(await client.send(new ListBucketMetricsConfigurationsCommand({ Bucket: 'demo' })).then(() => 200, status), 403, `${who}: metrics list`)
  }
  t.equal((await b.s3.send(new GetBucketVersioningCommand({ Bucket: 'demo' }))).Status, undefined, 'still never versioned')
  await b.s3.send(new PutBucketVersioningCommand({ Bucket: 'demo', VersioningConfiguration: { Status: 'Suspended' } }))
  t.equal((await b.s3.send(new GetBucketVersioningCommand({ Bucket: 'demo' }))).Status, 'Suspended', 'the owner may')
})

t.test('a DeleteObjects body that is not UTF-8 is MalformedXML, and no look-alike key is deleted', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k\uFFFD', Body: 'replacement char' }))
  const body = Buffer.concat([Buffer.from('<Delete><Object><Key>k'), Buffer.from([0xff]), Buffer.from('</Key></Object></Delete>')])
  const r = await sendSigned(b.endpoint, b.creds, { method: 'POST', path: '/demo?delete', headers: { 'content-md5': createHash('md5').update(body).digest('base64') }, body })
  t.equal(r.status, 400)
  t.equal(codeOf(r.body), 'MalformedXML')
  t.ok(await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'k\uFFFD' })), 'the look-alike key stays')
})

t.test('a body whose chunked framing does not parse is answered 400 IncompleteBody, then the connection closes', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'framed', Body: 'old' }))
  const head = await signedHead(b.endpoint, b.creds, { method: 'PUT', path: '/demo/framed', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'transfer-encoding': 'chunked' } })
  const answer = await exchangeRaw(b.endpoint, head + '5\r\nhello\r\nzz\r\nbroken\r\n')
  t.match(answer, /^HTTP\/1\.1 400 /, 'an S3 answer, not a dropped connection')
  t.equal(codeOf(answer), 'IncompleteBody')
  t.equal(await (await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'framed' }))).Body?.transformToString(), 'old', 'the old object stays')
})

t.test('a delete conditioned on an ETag also needs read on the object (AWS asks s3:GetObject); * does not', async t => {
  const { chmodSync, chownSync, mkdirSync, writeFileSync } = await import('node:fs')
  const { join } = await import('node:path')
  const b = await startBridge(t)
  const carol = b.client(await b.addUser('carol', 1003, 1003))
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'carol', type: 'user', permission: 'WRITE' }, { name: 'carol', type: 'user', permission: 'READ' }) })
  mkdirSync(join(b.bucketDir, 'drop'))
  chmodSync(join(b.bucketDir, 'drop'), 0o777)
  for (const name of ['sealed1', 'sealed2', 'sealed3']) {
    writeFileSync(join(b.bucketDir, 'drop', name), 'private')
    chmodSync(join(b.bucketDir, 'drop', name), 0o600)
    chownSync(join(b.bucketDir, 'drop', name), 2000, 2000)
  }
  const etag = (await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'drop/sealed1' }))).ETag
  await t.rejects(carol.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'drop/sealed1', IfMatch: etag })), { name: 'AccessDenied' }, 'no read: no ETag test')
  const r = await carol.send(new DeleteObjectsCommand({ Bucket: 'demo', Delete: { Objects: [{ Key: 'drop/sealed2', ETag: etag }] } }))
  t.same(r.Errors?.map(e => e.Code), ['AccessDenied'], 'the same per key in DeleteObjects')
  t.ok(await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'drop/sealed2' })), 'still there')
  await carol.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'drop/sealed3', IfMatch: '*' }))
  await t.rejects(b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'drop/sealed3' })), { name: 'NotFound' }, '* only asks that it exist: write on the folder is enough')
})
