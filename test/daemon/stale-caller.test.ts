// Writes through a daemon a poll behind, judged on its copy of the caller (user, key, role, policies) or of the
// bucket, must not last: they are judged again or refused (409 OperationAborted: sent again, judged afresh) once
// the state under the lock shows the change (review 30). See also stale-bucket-config.test.ts, stale-keys.test.ts.
import t from 'tap'
import { CreateBucketCommand, DeleteBucketCommand, PutBucketAclCommand, PutBucketPolicyCommand, PutObjectAclCommand, PutObjectCommand, PutPublicAccessBlockCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { startStaleTwin } from '../fixtures/stale-twin.js'

const settle = (): Promise<void> => new Promise(resolve => setTimeout(resolve, 500))
const name = (e: Error): string => e.name
const grant = (bucket: string, user: string): string => JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::000000000000:user/${user}` }, Action: 's3:*', Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }],
})

t.test('identity policy detached through A: stale B does not let the user write a bucket policy that keeps the access', async t => {
  const { a, b, onB } = await startStaleTwin(t)
  const mal = await a.addUser('mallory', 3000, 3000)
  await a.daemon.services.state.mutate(s => {
    s.policies.demoadmin = { name: 'demoadmin', text: grant('demo', 'x').replace('"Principal":{"AWS":"arn:aws:iam::000000000000:user/x"},', ''), createdAt: new Date().toISOString() }
    s.users.mallory!.policies = ['demoadmin']
  })
  await settle(); b.services.state.close()
  await a.daemon.services.state.mutate(s => { s.users.mallory!.policies = [] }) // bridgectl users detach-policy
  const onA = await a.client(mal).send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: grant('demo', 'mallory') })).then(() => 'ok', name)
  t.equal(onA, 'AccessDenied', 'A refuses')
  const viaB = await onB(mal).send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: grant('demo', 'mallory') })).then(() => 'ok', name)
  t.match(viaB, /^(AccessDenied|OperationAborted)$/, 'stale B refuses too')
  t.equal(a.daemon.services.state.snapshot().buckets.demo?.policy, undefined, 'no policy stored')
  const list = await a.client(mal).send(new ListObjectsV2Command({ Bucket: 'demo' })).then(() => 'ok', name)
  t.equal(list, 'AccessDenied', `mallory has no lasting access on A (got ${list})`)
})

t.test('key disabled through A: stale B stores no bucket ACL for it', async t => {
  const { a, onB } = await startStaleTwin(t, { freeze: true })
  await a.daemon.services.state.mutate(s => { s.users.tester!.keys[0]!.status = 'Inactive' })
  const viaB = await onB(a.creds).send(new PutBucketAclCommand({ Bucket: 'demo', ACL: 'public-read-write' })).then(() => 'ok', name)
  t.not(viaB, 'ok', `stale B must refuse a disabled key's bucket write (got ${viaB})`)
  t.same(a.daemon.services.state.snapshot().buckets.demo?.acl, [], 'no ACL stored by a disabled key')
})

t.test('user deleted through A: stale B creates no bucket owned by the deleted user', async t => {
  const { a, b, onB } = await startStaleTwin(t)
  const mal = await a.addUser('mallory', 3000, 3000)
  await settle(); b.services.state.close()
  await a.daemon.services.state.mutate(s => { delete s.users.mallory }) // bridgectl users delete mallory
  const viaB = await onB(mal).send(new CreateBucketCommand({ Bucket: 'malbucket' })).then(() => 'ok', name)
  t.not(viaB, 'ok', `stale B must not create a bucket for a deleted user (got ${viaB})`)
  const rec = a.daemon.services.state.snapshot().buckets.malbucket
  t.equal(rec, undefined, `no bucket stored (owner: ${rec?.owner}, users: ${Object.keys(a.daemon.services.state.snapshot().users).join(',')})`)
})

t.test('bucket given to vic through A: the former owner cannot delete it through stale B', async t => {
  const { a, b, onB } = await startStaleTwin(t)
  await a.addUser('vic', 4000, 4000)
  await a.addBucket('proj', 'tester')
  await settle(); b.services.state.close()
  await a.daemon.services.state.mutate(s => { s.buckets.proj!.owner = 'vic' }) // bridgectl buckets modify proj --owner vic
  const onA = await a.s3.send(new DeleteBucketCommand({ Bucket: 'proj' })).then(() => 'ok', name)
  t.equal(onA, 'AccessDenied', 'A refuses tester')
  const viaB = await onB(a.creds).send(new DeleteBucketCommand({ Bucket: 'proj' })).then(() => 'ok', name)
  t.match(viaB, /^(AccessDenied|OperationAborted)$/, 'stale B refuses too')
  t.ok(a.daemon.services.state.snapshot().buckets.proj, 'vic\'s bucket still mapped')
})

t.test('BlockPublicAcls / objectAclPolicy deny set through A: stale B writes no public object ACL to the file', async t => {
  const { a, b, onB } = await startStaleTwin(t)
  await a.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'secret.txt', Body: 'x' }))
  await a.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'secret2.txt', Body: 'x' }))
  await settle(); b.services.state.close()
  await a.s3.send(new PutPublicAccessBlockCommand({ Bucket: 'demo', PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: false, RestrictPublicBuckets: false } }))
  const onA = await a.s3.send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'secret.txt', ACL: 'public-read' })).then(() => 'ok', name)
  t.equal(onA, 'AccessDenied', 'A refuses the public object ACL')
  const viaB = await onB(a.creds).send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'secret.txt', ACL: 'public-read' })).then(() => 'ok', name)
  t.match(viaB, /^(AccessDenied|OperationAborted)$/, 'stale B refuses too')
  await a.daemon.services.state.mutate(s => { s.buckets.demo!.objectAclPolicy = 'deny'; delete s.buckets.demo!.publicAccessBlock })
  const viaB2 = await onB(a.creds).send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'secret2.txt', ACL: 'public-read' })).then(() => 'ok', name)
  t.equal(viaB2, 'AccessDenied', `objectAclPolicy deny set through A binds on stale B (got ${viaB2})`)
})

t.test('user bob deleted through A: stale B stores no bucket ACE naming bob (it would grant the next bob)', async t => {
  const { a, b, onB } = await startStaleTwin(t)
  await a.addUser('bob', 5000, 5000)
  await settle(); b.services.state.close()
  await a.daemon.services.state.mutate(s => { delete s.users.bob })
  const viaB = await onB(a.creds).send(new PutBucketAclCommand({ Bucket: 'demo', GrantFullControl: 'id=bob' })).then(() => 'ok', name)
  const acl = a.daemon.services.state.snapshot().buckets.demo?.acl ?? []
  t.notOk(acl.some(e => e.name === 'bob'), `no ACE for the deleted bob stored (B said ${viaB}; acl ${JSON.stringify(acl)})`)
})

t.test('admin demoted through A: on stale B it mints no key for another user (the IAM re-check reads the role afresh)', async t => {
  const { Sha256 } = await import('@aws-crypto/sha256-js')
  const { SignatureV4 } = await import('@smithy/signature-v4')
  const { a, b } = await startStaleTwin(t)
  const adm = await a.addUser('ops', 6000, 6000, 'admin')
  await settle(); b.services.state.close()
  await a.daemon.services.state.mutate(s => { s.users.ops!.role = 'user' }) // bridgectl users modify ops --role user
  const url = new URL(b.endpoint)
  const body = new URLSearchParams({ Version: '2010-05-08', Action: 'CreateAccessKey', UserName: 'tester' }).toString()
  const signer = new SignatureV4({ credentials: adm, region: 'us-east-1', service: 'iam', sha256: Sha256, applyChecksum: false })
  const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body })
  const res = await fetch(`${b.endpoint}/`, { method: 'POST', headers: signed.headers, body })
  t.equal(res.status, 403, `stale B must refuse the demoted admin (got ${res.status})`)
  t.equal(a.daemon.services.state.snapshot().users.tester!.keys.length, 1, 'tester has no second key minted by the ex-admin')
})
