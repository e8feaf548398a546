// S3 CreateBucket: its directory under rootPath (refused where it would nest inside a mapped bucket), the ACL its
// headers ask for, and no bucket when it asks for Object Lock.
import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { CreateBucketCommand, GetBucketAclCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { anonymousClient, startBridge } from '../fixtures/daemon.js'
import { sendSigned } from '../fixtures/clients/raw-request.js'
import { newServiceAccount } from '../../lib/auth/service-accounts.js'

t.test('CreateBucket is refused with 400 InvalidRequest when rootPath lies inside a mapped bucket, and leaves no folder', async t => {
  const b = await startBridge(t, { rootPath: 'data/demo/s3' })
  await t.rejects(b.s3.send(new CreateBucketCommand({ Bucket: 'nested' })), { name: 'InvalidRequest', message: /inside bucket "demo".*rootPath/ })
  t.notOk(existsSync(join(b.bucketDir, 's3', 'nested')))
  t.notOk(b.daemon.services.state.snapshot().buckets.nested)
  const fine = await startBridge(t)
  await fine.s3.send(new CreateBucketCommand({ Bucket: 'sibling' }))
  t.ok(fine.daemon.services.state.snapshot().buckets.sibling, 'a rootPath beside the buckets works')
})

t.test('CreateBucket applies x-amz-acl and x-amz-grant-* as PutBucketAcl would (s3-tests test_bucket_acl_canned*)', async t => {
  const b = await startBridge(t)
  const grantees = async (bucket: string): Promise<string[]> => ((await b.s3.send(new GetBucketAclCommand({ Bucket: bucket }))).Grants ?? [])
    .map(g => `${g.Grantee?.URI ?? g.Grantee?.ID}:${g.Permission}`).sort()
  await b.s3.send(new CreateBucketCommand({ Bucket: 'pub', ACL: 'public-read' }))
  t.same(await grantees('pub'), ['http://acs.amazonaws.com/groups/global/AllUsers:READ', 'tester:FULL_CONTROL'])
  const anon = anonymousClient(b.endpoint, t)
  const listed = await anon.send(new ListObjectsV2Command({ Bucket: 'pub' }))
  t.equal(listed.$metadata.httpStatusCode, 200, 'anonymous clients may list a bucket made public-read')
  await t.rejects(anon.send(new ListObjectsV2Command({ Bucket: 'plain-later' })), { name: 'NoSuchBucket' })
  await b.addUser('alt', 2001, 2001)
  await b.s3.send(new CreateBucketCommand({ Bucket: 'shared', GrantRead: 'id=alt' }))
  t.same(await grantees('shared'), ['alt:READ', 'tester:FULL_CONTROL'])
  await b.s3.send(new CreateBucketCommand({ Bucket: 'plain', ACL: 'private' }))
  t.same(await grantees('plain'), ['tester:FULL_CONTROL'])
  await t.rejects(b.s3.send(new CreateBucketCommand({ Bucket: 'bad', ACL: 'public-read', GrantRead: 'id=alt' })), { name: 'InvalidRequest' }, 'canned and grant headers together')
  t.notOk(existsSync(join(b.dir, 'buckets', 'bad')), 'a refused ACL makes no folder')
})

t.test('CreateBucket asking for Object Lock is refused (501), not made without it', async t => {
  const b = await startBridge(t)
  await t.rejects(b.s3.send(new CreateBucketCommand({ Bucket: 'worm', ObjectLockEnabledForBucket: true })), { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } })
  t.notOk(b.daemon.services.state.snapshot().buckets.worm)
  await b.s3.send(new CreateBucketCommand({ Bucket: 'worm', ObjectLockEnabledForBucket: false }))
  t.ok(b.daemon.services.state.snapshot().buckets.worm, 'false is no request for a lock')
})

t.test('x-amz-object-ownership: the bucket\'s setting, except BucketOwnerEnforced with an ACL for others', async t => {
  const b = await startBridge(t)
  await b.s3.send(new CreateBucketCommand({ Bucket: 'writer', ObjectOwnership: 'ObjectWriter', ACL: 'public-read' }))
  t.ok(b.daemon.services.state.snapshot().buckets.writer)
  await t.rejects(b.s3.send(new CreateBucketCommand({ Bucket: 'enforced', ObjectOwnership: 'BucketOwnerEnforced', ACL: 'public-read' })),
    { name: 'InvalidBucketAclWithObjectOwnership', $metadata: { httpStatusCode: 400 } }, 'AWS refuses an ACL for others beside BucketOwnerEnforced')
  t.notOk(b.daemon.services.state.snapshot().buckets.enforced)
  t.notOk(existsSync(join(b.dir, 'buckets', 'enforced')), 'no folder either')
  await b.s3.send(new CreateBucketCommand({ Bucket: 'enforced', ObjectOwnership: 'BucketOwnerEnforced', ACL: 'private' }))
  t.same(b.daemon.services.state.snapshot().buckets.enforced?.ownershipControls, { objectOwnership: 'BucketOwnerEnforced' }, 'AWS\'s default setting, as tools send it, makes the bucket with it')
  t.same(b.daemon.services.state.snapshot().buckets.writer?.ownershipControls, { objectOwnership: 'ObjectWriter' })
  const bad = await sendSigned(b.endpoint, b.creds, { method: 'PUT', path: '/odd1', headers: { 'x-amz-object-ownership': 'Everyone' } })
  t.equal(bad.status, 400, bad.body)
  const odd = await sendSigned(b.endpoint, b.creds, { method: 'PUT', path: '/odd', headers: { 'x-amz-bucket-object-lock-enabled': 'yes' } })
  t.equal(odd.status, 400, odd.body)
  t.match(odd.body, /<Code>InvalidArgument<\/Code>/)
})

t.test('CreateBucket with an ACL other than private also needs s3:PutBucketAcl (a narrowed key cannot publish a bucket)', async t => {
  const b = await startBridge(t)
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:CreateBucket', 's3:ListBucket'], Resource: '*' }] })
  const account = newServiceAccount(new Date(), { policy })
  await b.daemon.services.state.mutate(s => { s.users.tester!.serviceAccounts = [account] })
  const svc = b.client({ accessKeyId: account.accessKeyId, secretAccessKey: account.secret })
  await t.rejects(svc.send(new CreateBucketCommand({ Bucket: 'leaky', ACL: 'public-read-write' })), { name: 'AccessDenied' })
  t.notOk(b.daemon.services.state.snapshot().buckets.leaky, 'no bucket')
  t.notOk(existsSync(join(b.dir, 'buckets', 'leaky')), 'no folder')
  await svc.send(new CreateBucketCommand({ Bucket: 'quiet', ACL: 'private' }))
  t.ok(b.daemon.services.state.snapshot().buckets.quiet, 'private asks for nothing more')
})
