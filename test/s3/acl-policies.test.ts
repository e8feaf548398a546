// ACL and tagging calls answer to the policy layer too: an explicit Deny, a service-account or session policy that
// withholds s3:*Acl / s3:PutObjectTagging stops them, as the permission model's "every layer must allow" says.
import t from 'tap'
import { chmodSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  CopyObjectCommand, CreateMultipartUploadCommand, GetBucketAclCommand, GetObjectAclCommand, GetObjectCommand,
  DeleteBucketPolicyCommand, GetBucketPolicyCommand, ListBucketsCommand, ListObjectsV2Command,
  PutBucketAclCommand, PutBucketPolicyCommand, PutObjectAclCommand, PutObjectCommand,
} from '@aws-sdk/client-s3'
import { newServiceAccount } from '../../lib/auth/service-accounts.js'
import { startBridge, type Bridge, type Credentials } from '../fixtures/daemon.js'

async function serviceAccount (b: Bridge, user: string, policy: object): Promise<Credentials> {
  const account = newServiceAccount(new Date(), { policy: JSON.stringify(policy) })
  await b.daemon.services.state.mutate(s => { s.users[user]!.serviceAccounts = [...(s.users[user]!.serviceAccounts ?? []), account] })
  return { accessKeyId: account.accessKeyId, secretAccessKey: account.secret }
}

const allow = (actions: string[]): object => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: ['arn:aws:s3:::demo', 'arn:aws:s3:::demo/*'] }] })

t.test('a read-only service account cannot read or rewrite object and bucket ACLs', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'private.txt', Body: 'secret', ACL: 'private' }))
  const file = join(b.bucketDir, 'private.txt')
  t.equal(statSync(file).mode & 0o777, 0o600)
  const ro = b.client(await serviceAccount(b, 'tester', allow(['s3:GetObject', 's3:ListBucket'])))
  t.equal(await (await ro.send(new GetObjectCommand({ Bucket: 'demo', Key: 'private.txt' }))).Body?.transformToString(), 'secret', 'what the policy allows works')
  await t.rejects(ro.send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'private.txt', ACL: 'public-read-write' })), { name: 'AccessDenied' })
  t.equal(statSync(file).mode & 0o777, 0o600, 'the file is still owner-only')
  await t.rejects(ro.send(new GetObjectAclCommand({ Bucket: 'demo', Key: 'private.txt' })), { name: 'AccessDenied' })
  await t.rejects(ro.send(new PutBucketAclCommand({ Bucket: 'demo', ACL: 'public-read-write' })), { name: 'AccessDenied' })
  await t.rejects(ro.send(new GetBucketAclCommand({ Bucket: 'demo' })), { name: 'AccessDenied' })
  t.same(b.daemon.services.state.snapshot().buckets.demo!.acl, [], 'the bucket ACL is unchanged')
  // The parent's own key still may (it owns the file and the bucket).
  await b.s3.send(new GetObjectAclCommand({ Bucket: 'demo', Key: 'private.txt' }))
  await b.s3.send(new GetBucketAclCommand({ Bucket: 'demo' }))
})

t.test('ACL headers on uploads need s3:PutObjectAcl, x-amz-tagging needs s3:PutObjectTagging', async t => {
  const b = await startBridge(t)
  writeFileSync(join(b.bucketDir, 'src.txt'), 'source')
  chmodSync(join(b.bucketDir, 'src.txt'), 0o644)
  const writer = b.client(await serviceAccount(b, 'tester', allow(['s3:PutObject', 's3:GetObject', 's3:ListBucket'])))
  await writer.send(new PutObjectCommand({ Bucket: 'demo', Key: 'plain.txt', Body: 'x' }))
  await writer.send(new PutObjectCommand({ Bucket: 'demo', Key: 'private.txt', Body: 'x', ACL: 'private' })) // rclone's default: it only narrows
  t.equal(statSync(join(b.bucketDir, 'private.txt')).mode & 0o777, 0o600)
  await t.rejects(writer.send(new PutObjectCommand({ Bucket: 'demo', Key: 'public.txt', Body: 'x', ACL: 'public-read-write' })), { name: 'AccessDenied' })
  await t.rejects(writer.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'copy.txt', CopySource: 'demo/src.txt', ACL: 'public-read' })), { name: 'AccessDenied' })
  await t.rejects(writer.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'copy.txt', CopySource: 'demo/src.txt', TaggingDirective: 'REPLACE', Tagging: 'a=b' })), { name: 'AccessDenied' })
  await writer.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'copy.txt', CopySource: 'demo/src.txt' }))
  await t.rejects(writer.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp.bin', ACL: 'public-read' })), { name: 'AccessDenied' })
  await t.rejects(writer.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp.bin', Tagging: 'a=b' })), { name: 'AccessDenied' })
  await writer.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp.bin' }))
  t.throws(() => statSync(join(b.bucketDir, 'public.txt')), { code: 'ENOENT' }, 'the refused upload wrote nothing')
})

t.test('an explicit bucket-policy Deny on the ACL actions stops a user who holds FULL_CONTROL', async t => {
  const b = await startBridge(t)
  const bob = b.client(await b.addUser('bob', 2000, 2000))
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'bob', type: 'user', permission: 'FULL_CONTROL' }) })
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k.txt', Body: 'x' }))
  await bob.send(new GetObjectAclCommand({ Bucket: 'demo', Key: 'k.txt' }))
  await bob.send(new GetBucketAclCommand({ Bucket: 'demo' }))
  await b.s3.send(new PutBucketPolicyCommand({
    Bucket: 'demo',
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::000000000000:user/bob' }, Action: ['s3:PutObjectAcl', 's3:GetObjectAcl', 's3:PutBucketAcl', 's3:GetBucketAcl'], Resource: ['arn:aws:s3:::demo', 'arn:aws:s3:::demo/*'] }],
    }),
  }))
  await t.rejects(bob.send(new GetObjectAclCommand({ Bucket: 'demo', Key: 'k.txt' })), { name: 'AccessDenied' })
  await t.rejects(bob.send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'k.txt', ACL: 'public-read-write' })), { name: 'AccessDenied' })
  await t.rejects(bob.send(new GetBucketAclCommand({ Bucket: 'demo' })), { name: 'AccessDenied' })
  await t.rejects(bob.send(new PutBucketAclCommand({ Bucket: 'demo', ACL: 'public-read-write' })), { name: 'AccessDenied' })
  await t.rejects(bob.send(new PutObjectCommand({ Bucket: 'demo', Key: 'pub.txt', Body: 'x', ACL: 'public-read-write' })), { name: 'AccessDenied' })
  await bob.send(new PutObjectCommand({ Bucket: 'demo', Key: 'plain.txt', Body: 'x' }))
  t.equal(statSync(join(b.bucketDir, 'k.txt')).mode & 0o777, 0o644, 'k.txt keeps its create mode')
})

t.test('an admin\'s narrowed service account cannot use the admin\'s way around policies to rewrite bucket policies (sweep 24a #2)', async t => {
  const b = await startBridge(t)
  await b.addUser('root-admin', 2300, 2300, 'admin')
  const narrowed = b.client(await serviceAccount(b, 'root-admin', allow(['s3:ListBucket'])))
  const open = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:ListBucket'], Resource: 'arn:aws:s3:::demo' }] })
  await t.rejects(narrowed.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: open })), { name: 'AccessDenied' }, 'PutBucketPolicy')
  t.equal(b.daemon.services.state.snapshot().buckets.demo!.policy, undefined, 'no policy was set')
  await b.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::demo/*' }] }) }))
  await t.rejects(narrowed.send(new GetBucketPolicyCommand({ Bucket: 'demo' })), { name: 'AccessDenied' }, 'GetBucketPolicy')
  await t.rejects(narrowed.send(new DeleteBucketPolicyCommand({ Bucket: 'demo' })), { name: 'AccessDenied' }, 'DeleteBucketPolicy: the protective Deny stays')
  t.match(b.daemon.services.state.snapshot().buckets.demo!.policy, /Deny/)
  t.equal((await narrowed.send(new ListObjectsV2Command({ Bucket: 'demo' }))).$metadata.httpStatusCode, 200, 'what its policy allows still works')
  const wide = b.client(await serviceAccount(b, 'root-admin', allow(['s3:*'])))
  t.match((await wide.send(new GetBucketPolicyCommand({ Bucket: 'demo' }))).Policy, /Deny/, 'a service account whose policy allows the call may make it')
  const ownerNarrowed = b.client(await serviceAccount(b, 'tester', allow(['s3:ListBucket'])))
  await t.rejects(ownerNarrowed.send(new DeleteBucketPolicyCommand({ Bucket: 'demo' })), { name: 'AccessDenied' }, 'nor the owner\'s narrowed key (as before)')
})

t.test('ListBuckets answers to the policies: an explicit Deny or a narrowing policy without s3:ListAllMyBuckets refuses it (sweep 24a #5)', async t => {
  const b = await startBridge(t)
  t.same((await b.s3.send(new ListBucketsCommand({}))).Buckets?.map(x => x.Name), ['demo'], 'a user without policies lists its buckets')
  const denied = await b.addUser('denied', 2310, 2310)
  await b.daemon.services.state.mutate(s => {
    s.policies['deny-all'] = { name: 'deny-all', text: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] }), createdAt: new Date().toISOString() }
    s.users.denied!.policies.push('deny-all')
  })
  await t.rejects(b.client(denied).send(new ListBucketsCommand({})), { name: 'AccessDenied' }, 'Deny *')
  await t.rejects(b.client(await serviceAccount(b, 'tester', allow(['s3:ListBucket']))).send(new ListBucketsCommand({})), { name: 'AccessDenied' }, 'a service account narrowed to s3:ListBucket')
  const lister = b.client(await serviceAccount(b, 'tester', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }] }))
  t.same((await lister.send(new ListBucketsCommand({}))).Buckets?.map(x => x.Name), ['demo'], 'one that allows s3:ListAllMyBuckets lists')
})
