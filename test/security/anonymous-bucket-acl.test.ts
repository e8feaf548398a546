// Review 19: after 5757f7d a "*" policy no longer lets anonymous callers manage the bucket's policy, configuration
// or existence, but PutBucketAcl (need WRITE_ACP, not 'owner') still passes on the policy alone: an anonymous
// caller rewrites the bucket ACL (drops collaborators' grants, grants AllUsers FULL_CONTROL), and that grant
// outlives the policy that let it in.
import t from 'tap'
import { DeleteBucketPolicyCommand, GetBucketAclCommand, ListObjectsV2Command, PutBucketAclCommand, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { anonymousClient, startBridge } from '../fixtures/daemon.js'

t.test('an s3:Put* "*" policy does not let anonymous callers rewrite the bucket ACL', async t => {
  const b = await startBridge(t)
  const anon = anonymousClient(b.endpoint, t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'private.txt', Body: 'x' }))
  // An upload drop box: anyone may Put*, nobody else may list.
  await b.s3.send(new PutBucketPolicyCommand({
    Bucket: 'demo',
    Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:Put*', Resource: ['arn:aws:s3:::demo', 'arn:aws:s3:::demo/*'] }] }),
  }))
  await t.rejects(anon.send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'AccessDenied' }, 'anonymous cannot list')
  const r = await anon.send(new PutBucketAclCommand({ Bucket: 'demo', ACL: 'public-read-write' })).then(() => 'ok', (e: Error) => e.name)
  t.not(r, 'ok', 'anonymous PutBucketAcl is refused (it answered ' + r + ')')
  await b.s3.send(new DeleteBucketPolicyCommand({ Bucket: 'demo' }))
  const acl = await b.s3.send(new GetBucketAclCommand({ Bucket: 'demo' }))
  t.notOk(acl.Grants?.some(g => g.Grantee?.URI?.endsWith('AllUsers')), 'no AllUsers grant left behind once the policy is gone')
  const listed = await anon.send(new ListObjectsV2Command({ Bucket: 'demo' })).then(() => 'listed', (e: Error) => e.name)
  t.equal(listed, 'AccessDenied', 'with the policy deleted, anonymous still cannot list')
})
