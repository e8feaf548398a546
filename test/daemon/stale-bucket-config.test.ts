// Bucket configuration calls judge the request on the bucket record they read at the start (on a daemon that has
// not reloaded yet, or before a slow body arrived): the write must land on that very bucket, and only while its
// owner, ACL, policy, public access block and ownership controls are as judged (review 29).
import t from 'tap'
import { mkdirSync, chownSync } from 'node:fs'
import { join } from 'node:path'
import { ListObjectsV2Command, PutBucketLifecycleConfigurationCommand, GetObjectCommand, PutBucketAclCommand, PutBucketPolicyCommand, PutObjectCommand, PutPublicAccessBlockCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
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
  t.equal(viaB, 'OperationAborted', 'B refuses it too: the block changed since B read the bucket (sent again, B judges it on the block)')
  t.equal(a.daemon.services.state.snapshot().buckets.demo?.policy, undefined, 'no public policy stored under BlockPublicPolicy')
})

t.test('BlockPublicAcls set through A stops a public bucket ACL put through a stale B', async t => {
  const { a, b, onB } = await startStaleTwin(t)
  b.services.state.close()
  await a.s3.send(new PutPublicAccessBlockCommand({ Bucket: 'demo', PublicAccessBlockConfiguration: { BlockPublicPolicy: true, BlockPublicAcls: true, IgnorePublicAcls: false, RestrictPublicBuckets: false } }))
  const acl = await onB(a.creds).send(new PutBucketAclCommand({ Bucket: 'demo', ACL: 'public-read' })).then(() => 'ok', (e: Error) => e.name)
  t.equal(acl, 'OperationAborted', 'B refuses a public bucket ACL: the block changed since B read the bucket')
  t.same(a.daemon.services.state.snapshot().buckets.demo?.acl, [], 'no public ACL stored under BlockPublicAcls')
})

t.test('one daemon: a slow PutBucketPolicy body does not let the former owner set the policy of the next bucket of the name', async t => {
  const { request } = await import('node:http')
  const { createHash } = await import('node:crypto')
  const { Sha256 } = await import('@aws-crypto/sha256-js')
  const { SignatureV4 } = await import('@smithy/signature-v4')
  const a = await startBridge(t)
  await a.addBucket('proj', 'tester')
  const url = new URL(a.endpoint)
  const body = grantTester('proj')
  const signer = new SignatureV4({ credentials: a.creds, region: 'us-east-1', service: 's3', sha256: Sha256, applyChecksum: false })
  const signed = await signer.sign({
    method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/proj', query: { policy: '' },
    headers: { host: url.host, 'content-length': String(Buffer.byteLength(body)), 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') }, body,
  })
  const done = new Promise<number>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: 'PUT', path: '/proj?policy=', headers: signed.headers }, res => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    req.flushHeaders()
    req.write(body.slice(0, 10))
    setTimeout(() => { req.end(body.slice(10)) }, 1500)
  })
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
