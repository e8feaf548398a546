// Bucket configuration calls judge the request on the bucket record they read at the start (on a daemon that has
// not reloaded yet, or before a slow body arrived): the write must land on that very bucket, and only while its
// owner, ACL, policy, public access block and ownership controls are as judged (review 29).
import t from 'tap'
import { SignatureV4 } from '@smithy/signature-v4'
import { Sha256 } from '@aws-crypto/sha256-js'
import { createHash } from 'node:crypto'
import { request } from 'node:http'
import { mkdirSync, chownSync } from 'node:fs'
import { join } from 'node:path'
import { DeleteBucketCommand, DeleteBucketPolicyCommand, ListObjectsV2Command, PutBucketAclCommand, PutBucketLifecycleConfigurationCommand, PutBucketOwnershipControlsCommand, PutBucketPolicyCommand, PutBucketTaggingCommand, PutObjectCommand, PutPublicAccessBlockCommand } from '@aws-sdk/client-s3'
import { startBridge, type Credentials } from '../fixtures/daemon.js'
import { startStaleTwin } from '../fixtures/stale-twin.js'


const publicRead = (bucket: string): string => JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }],
})

const grantTester = (bucket: string): string => JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:user/tester' }, Action: 's3:*', Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }],
})

t.test('a policy put through a stale daemon lands on the new bucket that took the name', async t => {
  const { a, b, onB } = await startStaleTwin(t)
  await a.addBucket('proj', 'tester') // tester's bucket
  await new Promise(resolve => setTimeout(resolve, 500)) // B knows it
  b.services.state.close() // B now lags behind A (another host, within its poll window)
  // On A: tester's bucket is deleted and the name given to vic's new bucket (DeleteBucket + CreateBucket, or bridgectl).
  const vic = await a.addUser('vic', 4000, 4000)
  const vicDir = join(a.dir, 'data', 'proj-vic')
  mkdirSync(vicDir); chownSync(vicDir, 4000, 4000)
  await a.daemon.services.state.mutate(s => {
    s.buckets.proj = { name: 'proj', path: vicDir, owner: 'vic', createdAt: new Date(Date.now() + 1000).toISOString(), createdByS3: false, acl: [], objectAclPolicy: 'replace' }
  })
  await a.client(vic).send(new PutObjectCommand({ Bucket: 'proj', Key: 'vic-report.txt', Body: 'vic only' }))
  const list = (): Promise<string> => a.s3.send(new ListObjectsV2Command({ Bucket: 'proj' })).then(r => (r.Contents ?? []).map(o => o.Key).join(','), (e: Error) => e.name)
  t.equal(await list(), 'AccessDenied', 'tester cannot list vic\'s bucket')
  // tester, the former owner, puts a policy through B, which still has tester's record.
  const put = await onB(a.creds).send(new PutBucketPolicyCommand({ Bucket: 'proj', Policy: grantTester('proj') })).then(() => 'ok', (e: Error) => e.name)
  t.equal(put, 'NoSuchBucket', 'tester must not set the policy of vic\'s bucket')
  t.equal(a.daemon.services.state.snapshot().buckets.proj?.policy, undefined, 'vic\'s bucket has no policy')
  t.equal(await list(), 'AccessDenied', 'tester still cannot list vic\'s bucket')
  const lc = await a.s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: 'proj', LifecycleConfiguration: { Rules: [{ ID: 'wipe', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }] } })).then(() => 'ok', (e: Error) => e.name)
  t.equal(lc, 'AccessDenied', 'tester cannot set a lifecycle rule (run as vic) on vic\'s bucket')
})

t.test('BlockPublicPolicy set through A stops a public policy put through a stale B', async t => {
  const { a, b, onB } = await startStaleTwin(t)
  b.services.state.close()
  await a.s3.send(new PutPublicAccessBlockCommand({ Bucket: 'demo', PublicAccessBlockConfiguration: { BlockPublicPolicy: true, BlockPublicAcls: true, IgnorePublicAcls: false, RestrictPublicBuckets: false } }))
  const onA = await a.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: publicRead('demo') })).then(() => 'ok', (e: Error) => e.name)
  t.equal(onA, 'AccessDenied', 'A refuses the public policy')
  const viaB = await onB(a.creds).send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: publicRead('demo') })).then(() => 'ok', (e: Error) => e.name)
  t.equal(viaB, 'AccessDenied', 'B refuses it too: the bucket changed since B read it, and the request is judged again on the block')
  t.equal(a.daemon.services.state.snapshot().buckets.demo?.policy, undefined, 'no public policy stored under BlockPublicPolicy')
})

t.test('BlockPublicAcls set through A stops a public bucket ACL put through a stale B', async t => {
  const { a, b, onB } = await startStaleTwin(t)
  b.services.state.close()
  await a.s3.send(new PutPublicAccessBlockCommand({ Bucket: 'demo', PublicAccessBlockConfiguration: { BlockPublicPolicy: true, BlockPublicAcls: true, IgnorePublicAcls: false, RestrictPublicBuckets: false } }))
  const acl = await onB(a.creds).send(new PutBucketAclCommand({ Bucket: 'demo', ACL: 'public-read' })).then(() => 'ok', (e: Error) => e.name)
  t.equal(acl, 'AccessDenied', 'B refuses a public bucket ACL: judged again on the block')
  t.same(a.daemon.services.state.snapshot().buckets.demo?.acl, [], 'no public ACL stored under BlockPublicAcls')
})

t.test('one daemon: a slow PutBucketPolicy body does not let the former owner set the policy of the next bucket of the name', async t => {
  const a = await startBridge(t)
  await a.addBucket('proj', 'tester')
  const done = slowPut(a.endpoint, a.creds, '/proj', { policy: '' }, grantTester('proj'), 10, 1500)
  await new Promise(resolve => setTimeout(resolve, 500))
  const vicDir = join(a.dir, 'data', 'proj-vic')
  mkdirSync(vicDir); chownSync(vicDir, 4000, 4000)
  await a.addUser('vic', 4000, 4000)
  await a.daemon.services.state.mutate(s => {
    s.buckets.proj = { name: 'proj', path: vicDir, owner: 'vic', createdAt: new Date(Date.now() + 1000).toISOString(), createdByS3: false, acl: [], objectAclPolicy: 'replace' }
  })
  const status = await done
  t.equal(status, 404, 'NoSuchBucket: the policy meant for tester\'s bucket is not stored on vic\'s')
  t.equal(a.daemon.services.state.snapshot().buckets.proj?.policy, undefined, 'vic\'s bucket has no policy')
})

/** A signed PUT whose body arrives slowly: `head` bytes at once, the rest after `delayMs`. Resolves to the status. */
async function slowPut (endpoint: string, creds: Credentials, path: string, query: Record<string, string>, body: string, head: number, delayMs: number): Promise<number> {
  const url = new URL(endpoint)
  const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 's3', sha256: Sha256, applyChecksum: false })
  const signed = await signer.sign({
    method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query,
    headers: { host: url.host, 'content-length': String(Buffer.byteLength(body)), 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') }, body,
  })
  const qs = Object.keys(query).map(k => `${k}=${query[k] ?? ''}`).join('&')
  return await new Promise<number>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: 'PUT', path: qs === '' ? path : `${path}?${qs}`, headers: signed.headers }, res => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    req.flushHeaders()
    req.write(body.slice(0, head))
    setTimeout(() => { req.end(body.slice(head)) }, delayMs)
  })
}

const out = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: Error) => e.name)

t.test('one daemon: bucket settings back to back all succeed', async t => {
  const a = await startBridge(t)
  t.equal(await out(a.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: grantTester('demo') }))), 'ok')
  t.equal(await out(a.s3.send(new PutBucketAclCommand({ Bucket: 'demo', ACL: 'private' }))), 'ok')
  t.equal(await out(a.s3.send(new PutPublicAccessBlockCommand({ Bucket: 'demo', PublicAccessBlockConfiguration: { BlockPublicPolicy: true, BlockPublicAcls: true, IgnorePublicAcls: false, RestrictPublicBuckets: false } }))), 'ok')
  t.equal(await out(a.s3.send(new PutBucketTaggingCommand({ Bucket: 'demo', Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }))), 'ok')
  t.equal(await out(a.s3.send(new PutBucketOwnershipControlsCommand({ Bucket: 'demo', OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] } }))), 'ok')
  t.equal(await out(a.s3.send(new DeleteBucketPolicyCommand({ Bucket: 'demo' }))), 'ok')
})

t.test('one daemon: concurrent writes of one setting all land, as on AWS (s3-tests test_bucket_concurrent_set_canned_acl)', async t => {
  const a = await startBridge(t)
  const results = await Promise.all(Array.from({ length: 20 }, () => out(a.s3.send(new PutBucketAclCommand({ Bucket: 'demo', ACL: 'public-read' })))))
  t.same(results, Array(20).fill('ok'))
  t.equal(a.daemon.services.state.snapshot().buckets.demo?.acl.length, 1)
})

t.test('stale B: a setting put through B after a change through A is judged on the fresh record and lands', async t => {
  const { a, b, onB } = await startStaleTwin(t)
  await new Promise(resolve => setTimeout(resolve, 300))
  b.services.state.close() // within B's poll window from here
  t.equal(await out(a.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: grantTester('demo') }))), 'ok', 'policy via A')
  t.equal(await out(onB(a.creds).send(new PutBucketTaggingCommand({ Bucket: 'demo', Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }))), 'ok', 'tagging via B')
  t.ok(b.services.state.snapshot().buckets.demo?.policy !== undefined, 'B adopted the fresh record it read under the lock')
  t.same(a.daemon.services.state.snapshot().buckets.demo?.tags, [{ key: 'k', value: 'v' }], 'the tags are stored, the policy kept')
})

t.test('stale B: a DeleteBucket that fails after the unmap maps back the record the state held, not B\'s stale copy (a revoked policy stays revoked)', async t => {
  const { a, b, onB } = await startStaleTwin(t)
  const pol = await out(a.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: publicRead('demo') })))
  t.equal(pol, 'ok', 'public policy via A')
  await new Promise(resolve => setTimeout(resolve, 500))
  t.ok(b.services.state.snapshot().buckets.demo?.policy !== undefined, 'B knows the policy')
  b.services.state.close()
  t.equal(await out(a.s3.send(new DeleteBucketPolicyCommand({ Bucket: 'demo' }))), 'ok', 'owner revokes it via A')
  // A slow PUT on B keeps B's DeleteBucket waiting after the unmap; the object lands, so the delete maps the bucket back.
  const putDone = slowPut(b.endpoint, a.creds, '/demo/late.txt', {}, 'late object body', 4, 1200)
  await new Promise(resolve => setTimeout(resolve, 300))
  const del = await out(onB(a.creds).send(new DeleteBucketCommand({ Bucket: 'demo' })))
  t.comment(`PUT: ${await putDone}, DeleteBucket via B: ${del}`)
  await a.daemon.services.state.mutate(() => undefined) // A reads the fresh state
  t.ok(a.daemon.services.state.snapshot().buckets.demo !== undefined, 'bucket mapped')
  t.equal(a.daemon.services.state.snapshot().buckets.demo?.policy, undefined, 'the revoked public policy stays revoked')
})
