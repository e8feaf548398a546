// S3 Object Ownership on files: Put/Get/DeleteBucketOwnershipControls and CreateBucket's x-amz-object-ownership,
// BucketOwnerEnforced (ACL writes refused, bucket ACL entries grant nothing, new files the bucket owner's) and
// BucketOwnerPreferred (bucket-owner-full-control uploads become the bucket owner's). @aws-sdk/client-s3, raw
// signed requests and bridgectl against the real daemon.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  CompleteMultipartUploadCommand, CreateBucketCommand, GetBucketAclCommand, GetObjectAclCommand, GetObjectCommand, ListBucketsCommand, CreateMultipartUploadCommand, DeleteBucketOwnershipControlsCommand, GetBucketOwnershipControlsCommand,
  ListObjectsV2Command, PutBucketAclCommand, PutBucketOwnershipControlsCommand, PutBucketPolicyCommand, PutObjectAclCommand, PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3'
import { ACCOUNT_ID } from '../../lib/access/authorize.js'
import { newServiceAccount } from '../../lib/auth/service-accounts.js'
import { anonymousClient, startBridge, type Bridge } from '../fixtures/daemon.js'
import { bridgectl } from '../fixtures/bridgectl.js'
import { md5Of, signedRequest } from '../fixtures/post-form.js'

const ownership = (objectOwnership: 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter'): PutBucketOwnershipControlsCommand =>
  new PutBucketOwnershipControlsCommand({ Bucket: 'demo', OwnershipControls: { Rules: [{ ObjectOwnership: objectOwnership }] } })

/** carol (uid 1003) may upload to the demo bucket's 0777 "drop" folder: a policy lets her past the bucket ACL. */
async function withCarol (b: Bridge): Promise<ReturnType<Bridge['client']>> {
  const carol = b.client(await b.addUser('carol', 1003, 1003))
  mkdirSync(join(b.bucketDir, 'drop'))
  chmodSync(join(b.bucketDir, 'drop'), 0o777)
  await b.s3.send(new PutBucketPolicyCommand({
    Bucket: 'demo',
    Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:user/carol` }, Action: ['s3:PutObject', 's3:PutObjectAcl'], Resource: 'arn:aws:s3:::demo/drop/*' }] }),
  }))
  return carol
}

const ownerOf = (b: Bridge, key: string): [number, number] => {
  const st = statSync(join(b.bucketDir, key))
  return [st.uid, st.gid]
}

t.test('Put/Get/DeleteBucketOwnershipControls: stored, read back, removed; AWS\'s schema and owner-only', async t => {
  const b = await startBridge(t)
  await t.rejects(b.s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'demo' })), { name: 'OwnershipControlsNotFoundError' })
  for (const value of ['BucketOwnerPreferred', 'ObjectWriter', 'BucketOwnerEnforced'] as const) {
    await b.s3.send(ownership(value))
    const got = await b.s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'demo' }))
    t.same(got.OwnershipControls?.Rules, [{ ObjectOwnership: value }], `${value} reads back`)
  }
  t.match((await bridgectl(b, 'buckets', 'view', 'demo')).stdout, /objectOwnership:\s+BucketOwnerEnforced/, 'bridgectl shows it')
  await b.s3.send(new DeleteBucketOwnershipControlsCommand({ Bucket: 'demo' }))
  await t.rejects(b.s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'demo' })), { name: 'OwnershipControlsNotFoundError' }, 'deleted')

  const put = (body: string, md5 = true): ReturnType<typeof signedRequest> => signedRequest(b.endpoint, b.creds, {
    method: 'PUT', path: '/demo', query: { ownershipControls: '' }, body, headers: md5 ? { 'content-md5': md5Of(body) } : {},
  })
  const rule = (v: string): string => `<OwnershipControls xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ObjectOwnership>${v}</ObjectOwnership></Rule></OwnershipControls>`
  for (const [body, why] of <Array<[string, string]>>[
    [rule('Everyone'), 'an unknown value'],
    ['<OwnershipControls><Rule></Rule></OwnershipControls>', 'a rule without a value'],
    [`<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>`, 'two rules'],
    ['<OwnershipControls/>', 'no rule'],
    ['<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership><Bogus>1</Bogus></Rule></OwnershipControls>', 'an unknown element in the rule'],
    [rule(' ObjectWriter '), 'a padded value'],
  ]) {
    const r = await put(body)
    t.equal(r.status, 400, why)
    t.match(r.body, /<Code>MalformedXML<\/Code>/, why)
  }
  t.equal((await put(rule('ObjectWriter'), false)).status, 400, 'Content-MD5 is required, as for AWS')
  t.equal((await put(rule('ObjectWriter'))).status, 200)

  const carol = b.client(await b.addUser('carol', 1003, 1003))
  await t.rejects(carol.send(ownership('BucketOwnerEnforced')), { name: 'AccessDenied' }, 'only the owner sets it')
  await t.rejects(carol.send(new GetBucketOwnershipControlsCommand({ Bucket: 'demo' })), { name: 'AccessDenied' })
})

t.test('BucketOwnerEnforced needs a bucket ACL for the owner alone, and then refuses every ACL write', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutBucketAclCommand({ Bucket: 'demo', ACL: 'public-read' }))
  await t.rejects(b.s3.send(ownership('BucketOwnerEnforced')), { name: 'InvalidBucketAclWithObjectOwnership', $metadata: { httpStatusCode: 400 } })
  await b.s3.send(new PutBucketAclCommand({ Bucket: 'demo', ACL: 'private' }))
  await b.s3.send(ownership('BucketOwnerEnforced'))

  await t.rejects(b.s3.send(new PutBucketAclCommand({ Bucket: 'demo', ACL: 'private' })), { name: 'AccessControlListNotSupported', $metadata: { httpStatusCode: 400 } }, 'PutBucketAcl, even private')
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'plain.txt', Body: 'x' }))
  t.pass('an upload without ACL headers is taken')
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'bofc.txt', Body: 'x', ACL: 'bucket-owner-full-control' }))
  t.pass('nor is bucket-owner-full-control refused')
  t.equal(statSync(join(b.bucketDir, 'bofc.txt')).mode & 0o777, statSync(join(b.bucketDir, 'plain.txt')).mode & 0o777, 'it says nothing: the create mode decides')
  for (const ACL of ['public-read', 'private'] as const) {
    await t.rejects(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: `acl-${ACL}.txt`, Body: 'x', ACL })), { name: 'AccessControlListNotSupported' }, `PutObject with ${ACL}`)
    t.notOk(existsSync(join(b.bucketDir, `acl-${ACL}.txt`)), 'and nothing was written')
  }
  await t.rejects(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'grant.txt', Body: 'x', GrantRead: 'id="tester"' })), { name: 'AccessControlListNotSupported' })
  // The equivalent forms of bucket-owner-full-control AWS accepts: a full-control grant to the owner alone.
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'owner-grant.txt', Body: 'x', GrantFullControl: 'id="tester"' }))
  await t.rejects(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'two-grants.txt', Body: 'x', GrantFullControl: 'id="tester", uri="http://acs.amazonaws.com/groups/global/AllUsers"' })), { name: 'AccessControlListNotSupported' })
  await b.s3.send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'plain.txt', AccessControlPolicy: { Owner: { ID: 'tester' }, Grants: [{ Grantee: { Type: 'CanonicalUser', ID: 'tester' }, Permission: 'FULL_CONTROL' }] } }))
  await b.s3.send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'plain.txt', ACL: 'bucket-owner-full-control' }))
  t.pass('PutObjectAcl of the owner\'s full control alone, in XML or canned, is taken and changes nothing')
  await t.rejects(b.s3.send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'plain.txt', ACL: 'private' })), { name: 'AccessControlListNotSupported' })
  await t.rejects(b.s3.send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'plain.txt', AccessControlPolicy: { Owner: { ID: 'tester' }, Grants: [{ Grantee: { Type: 'CanonicalUser', ID: 'tester' }, Permission: 'FULL_CONTROL' }, { Grantee: { Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/AllUsers' }, Permission: 'READ' }] } })), { name: 'AccessControlListNotSupported' })
  await t.rejects(b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp.bin', ACL: 'public-read' })), { name: 'AccessControlListNotSupported' })
  const before = statSync(join(b.bucketDir, 'plain.txt')).mode
  await t.rejects(b.s3.send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'plain.txt', ACL: 'public-read-write' })), { name: 'AccessControlListNotSupported' }, 'PutObjectAcl')
  t.equal(statSync(join(b.bucketDir, 'plain.txt')).mode, before, 'the file is as it was')

  // No ACE can be added while ACLs are off; one left in the state (written before, or by hand) grants nothing and
  // reads show the owner's FULL_CONTROL only, as AWS's do.
  const carol = b.client(await b.addUser('carol', 1003, 1003))
  const added = await bridgectl(b, 'buckets', 'modify', 'demo', '--add-ace', 'name=carol,type=user,perm=read')
  t.not(added.code, 0)
  t.match(added.stderr, /BucketOwnerEnforced/, 'bridgectl refuses an ACE, naming the setting')
  await b.daemon.services.state.mutate(st => { st.buckets.demo!.acl = [{ name: 'carol', type: 'user', permission: 'READ' }] })
  await t.rejects(carol.send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'AccessDenied' }, 'carol\'s READ entry does not count under BucketOwnerEnforced')
  t.same((await b.s3.send(new GetBucketAclCommand({ Bucket: 'demo' }))).Grants?.map(g => [g.Grantee?.ID, g.Permission]), [['tester', 'FULL_CONTROL']], 'GetBucketAcl shows the owner only')
  t.notOk((await carol.send(new ListBucketsCommand({}))).Buckets?.some(x => x.Name === 'demo'), 'nor does ListBuckets show carol the bucket')
  await b.s3.send(new DeleteBucketOwnershipControlsCommand({ Bucket: 'demo' }))
  await carol.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.pass('it does again once the setting is gone')
})

t.test('BucketOwnerEnforced: what another user uploads, simply or in parts, belongs to the bucket owner', async t => {
  const b = await startBridge(t)
  const carol = await withCarol(b)
  await carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'drop/before.txt', Body: 'x' }))
  t.same(ownerOf(b, 'drop/before.txt'), [1003, 1003], 'without a setting the writer owns its upload')
  await b.s3.send(ownership('BucketOwnerEnforced'))
  t.equal(await (await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'drop/before.txt' }))).Body?.transformToString(), 'x', 'the bucket owner still reads what others wrote before (its world-readable bits count for the owner)')
  await carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'drop/sub/after.txt', Body: 'x' }))
  t.same(ownerOf(b, 'drop/sub/after.txt'), [2000, 2000], 'the bucket owner (tester, uid 2000) owns it')
  t.same(ownerOf(b, 'drop/sub'), [1003, 1003], 'the folder the upload made stays carol\'s (she can finish what she started in it)')
  await carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'drop/sub/second.txt', Body: 'x' }))
  t.same(ownerOf(b, 'drop/sub/second.txt'), [2000, 2000])
  const mp = await carol.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'drop/mp.bin' }))
  const part = await carol.send(new UploadPartCommand({ Bucket: 'demo', Key: 'drop/mp.bin', UploadId: mp.UploadId, PartNumber: 1, Body: 'part' }))
  await carol.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'drop/mp.bin', UploadId: mp.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }))
  t.same(ownerOf(b, 'drop/mp.bin'), [2000, 2000], 'a completed multipart upload too')
})

t.test('BucketOwnerPreferred: an upload with bucket-owner-full-control becomes the bucket owner\'s; others stay the writer\'s', async t => {
  const b = await startBridge(t)
  const carol = await withCarol(b)
  await b.s3.send(ownership('BucketOwnerPreferred'))
  await carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'drop/given.txt', Body: 'x', ACL: 'bucket-owner-full-control' }))
  t.same(ownerOf(b, 'drop/given.txt'), [2000, 2000], 'bucket-owner-full-control: the bucket owner\'s')
  await carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'drop/kept.txt', Body: 'x' }))
  t.same(ownerOf(b, 'drop/kept.txt'), [1003, 1003], 'no ACL: carol\'s')
  await carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'drop/public.txt', Body: 'x', ACL: 'public-read' }))
  t.same(ownerOf(b, 'drop/public.txt'), [1003, 1003], 'another ACL: carol\'s, and ACLs still apply')
  t.equal(statSync(join(b.bucketDir, 'drop/public.txt')).mode & 0o004, 0o004)
})

t.test('CreateBucket\'s x-amz-object-ownership is the new bucket\'s setting', async t => {
  const b = await startBridge(t)
  await b.s3.send(new CreateBucketCommand({ Bucket: 'enforced', ObjectOwnership: 'BucketOwnerEnforced' }))
  const got = await b.s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'enforced' }))
  t.same(got.OwnershipControls?.Rules, [{ ObjectOwnership: 'BucketOwnerEnforced' }])
  await t.rejects(b.s3.send(new PutObjectCommand({ Bucket: 'enforced', Key: 'k', Body: 'x', ACL: 'public-read' })), { name: 'AccessControlListNotSupported' })
  await b.s3.send(new CreateBucketCommand({ Bucket: 'plain' }))
  await t.rejects(b.s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'plain' })), { name: 'OwnershipControlsNotFoundError' }, 'none asked, none set')
})

t.test('ownership is the owner\'s to choose: no policy lets another user, nor CreateBucket\'s header a Deny, and a root-squashed owner takes nothing', async t => {
  const b = await startBridge(t)
  const dave = b.client(await b.addUser('dave', 1004, 1004))
  await b.daemon.services.state.mutate(st => { st.users.dave!.policies = ['full-access'] })
  await t.rejects(dave.send(ownership('BucketOwnerEnforced')), { name: 'AccessDenied' }, 'full-access does not let dave make his uploads tester\'s')
  await b.s3.send(ownership('BucketOwnerPreferred'))
  await t.rejects(dave.send(new DeleteBucketOwnershipControlsCommand({ Bucket: 'demo' })), { name: 'AccessDenied' }, 'nor remove the owner\'s setting')
  t.same(b.daemon.services.state.snapshot().buckets.demo?.ownershipControls, { objectOwnership: 'BucketOwnerPreferred' })

  // A key whose policy does not allow s3:PutBucketOwnershipControls may create buckets, not with the header.
  const account = newServiceAccount(new Date(), { policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:CreateBucket', 's3:ListBucket'], Resource: '*' }] }) })
  await b.daemon.services.state.mutate(st => { st.users.tester!.serviceAccounts = [account] })
  const narrowed = b.client({ accessKeyId: account.accessKeyId, secretAccessKey: account.secret })
  await t.rejects(narrowed.send(new CreateBucketCommand({ Bucket: 'owned', ObjectOwnership: 'BucketOwnerEnforced' })), { name: 'AccessDenied' })
  t.notOk(b.daemon.services.state.snapshot().buckets.owned, 'no bucket')
  await narrowed.send(new CreateBucketCommand({ Bucket: 'owned' }))

  // CreateBucket is judged on the bucket's ARN: a Deny scoped to names holds, for the header's action too.
  const named = newServiceAccount(new Date(), {
    policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:CreateBucket', 's3:PutBucketOwnershipControls'], Resource: '*' },
        { Effect: 'Deny', Action: 's3:PutBucketOwnershipControls', Resource: 'arn:aws:s3:::prod-*' },
        { Effect: 'Deny', Action: 's3:CreateBucket', Resource: 'arn:aws:s3:::secret-*' },
      ],
    }),
  })
  await b.daemon.services.state.mutate(st => { st.users.tester!.serviceAccounts = [named] })
  const scoped = b.client({ accessKeyId: named.accessKeyId, secretAccessKey: named.secret })
  await t.rejects(scoped.send(new CreateBucketCommand({ Bucket: 'prod-a', ObjectOwnership: 'BucketOwnerEnforced' })), { name: 'AccessDenied' }, 'the Deny on prod-* holds for the header')
  await scoped.send(new CreateBucketCommand({ Bucket: 'dev-a', ObjectOwnership: 'BucketOwnerEnforced' }))
  await t.rejects(scoped.send(new CreateBucketCommand({ Bucket: 'secret-a' })), { name: 'AccessDenied' }, 'a Deny of s3:CreateBucket scoped to names holds')
  await scoped.send(new CreateBucketCommand({ Bucket: 'open-a' }))

  // uid 0 is squashed (allowRootUsers off): its buckets' ownership never makes root-owned files.
  await b.addUser('ops', 0, 0)
  const opsDir = await b.addBucket('opsb', 'ops')
  chmodSync(opsDir, 0o777)
  await b.daemon.services.state.mutate(st => { st.buckets.opsb!.ownershipControls = { objectOwnership: 'BucketOwnerEnforced' } })
  await dave.send(new PutObjectCommand({ Bucket: 'opsb', Key: 'f.txt', Body: 'x' }))
  t.same(statSync(join(opsDir, 'f.txt')).uid, 1004, 'the file stays the writer\'s, not root\'s')
})

t.test('BucketOwnerEnforced: public grants of files stop counting; uploads begun with an ACL still complete; BucketOwnerPreferred works under object ACL policy deny', async t => {
  const b = await startBridge(t)
  const anon = anonymousClient(b.endpoint, t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'open.txt', Body: 'x', ACL: 'public-read' }))
  t.equal(await (await anon.send(new GetObjectCommand({ Bucket: 'demo', Key: 'open.txt' }))).Body?.transformToString(), 'x', 'public-read: anyone reads it')
  const mp = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp.bin', ACL: 'public-read' }))
  const part = await b.s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'mp.bin', UploadId: mp.UploadId, PartNumber: 1, Body: 'part' }))
  await b.s3.send(ownership('BucketOwnerEnforced'))
  await t.rejects(anon.send(new GetObjectCommand({ Bucket: 'demo', Key: 'open.txt' })), { name: 'AccessDenied' }, 'ACLs no longer grant: the public read is gone over S3')
  t.equal(statSync(join(b.bucketDir, 'open.txt')).mode & 0o004, 0o004, 'while the file keeps its bits for NFS')
  const acl = await b.s3.send(new GetObjectAclCommand({ Bucket: 'demo', Key: 'open.txt' }))
  t.same(acl.Grants?.map(g => [g.Grantee?.ID ?? g.Grantee?.URI, g.Permission]), [['tester', 'FULL_CONTROL']], 'GetObjectAcl shows the bucket owner\'s full control only, as AWS\'s reads do')
  await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'open.txt' }))
  await b.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'mp.bin', UploadId: mp.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'plain.txt', Body: 'x' }))
  t.equal(statSync(join(b.bucketDir, 'mp.bin')).mode, statSync(join(b.bucketDir, 'plain.txt')).mode, 'the upload begun with public-read completes, with the mode of any new file: its ACL no longer applies')

  const carol = await withCarol(b)
  // A file another user owns on disk, shared by a named ACL entry: its ACL read and written back (what s3cmd does
  // after every cp and mv) is taken, by the bucket owner too.
  await carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'drop/carols.txt', Body: 'x' }))
  t.same(ownerOf(b, 'drop/carols.txt'), [2000, 2000])
  execFileSync('chown', ['1003:1003', join(b.bucketDir, 'drop/carols.txt')])
  execFileSync('setfacl', ['-m', 'u:1004:r', join(b.bucketDir, 'drop/carols.txt')])
  const read = await b.s3.send(new GetObjectAclCommand({ Bucket: 'demo', Key: 'drop/carols.txt' }))
  t.same(read.Grants?.map(g => [g.Grantee?.ID, g.Permission]), [['tester', 'FULL_CONTROL']], 'the bucket owner reads the ACL of a file carol owns on disk')
  await b.s3.send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'drop/carols.txt', AccessControlPolicy: { Owner: read.Owner, Grants: read.Grants } }))
  t.match(execFileSync('getfacl', ['-c', join(b.bucketDir, 'drop/carols.txt')]).toString(), /user:1004:r--/, 'and writing it back changes nothing on disk')
  await b.s3.send(ownership('BucketOwnerPreferred'))
  await b.daemon.services.state.mutate(st => { st.buckets.demo!.objectAclPolicy = 'deny' })
  await carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'drop/given.txt', Body: 'x', ACL: 'bucket-owner-full-control' }))
  t.same(ownerOf(b, 'drop/given.txt'), [2000, 2000], 'objectAclPolicy deny: bucket-owner-full-control still asks for ownership')
  await t.rejects(carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'drop/open.txt', Body: 'x', ACL: 'public-read' })), { name: 'AccessDenied' }, 'other ACLs stay refused there')
})

t.test('bridgectl explain judges GetObjectAcl and PutObjectAcl by READ_ACP and WRITE_ACP, as the daemon does', async t => {
  const b = await startBridge(t)
  const carol = b.client(await b.addUser('carol', 1003, 1003))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'shared.txt', Body: 'x', ACL: 'public-read' }))
  // carol may read the file (public-read), not its ACL: explain said ALLOWED where the daemon answers 403 (sweep 27).
  await carol.send(new GetObjectCommand({ Bucket: 'demo', Key: 'shared.txt' }))
  await t.rejects(carol.send(new GetObjectAclCommand({ Bucket: 'demo', Key: 'shared.txt' })), { name: 'AccessDenied' })
  const carolAcl = await bridgectl(b, 'explain', 'carol', 'demo', 'shared.txt', 'GetObjectAcl')
  t.match(carolAcl.stdout, /filesystem\s+DENY\s+READ_ACP on shared.txt/)
  t.match(carolAcl.stdout, /=> DENIED/)
  t.match((await bridgectl(b, 'explain', 'tester', 'demo', 'shared.txt', 'PutObjectAcl')).stdout, /filesystem\s+ALLOW\s+WRITE_ACP[^]*=> ALLOWED/)
  // Under BucketOwnerEnforced the bucket owner may, for a file another user owns on disk.
  execFileSync('chown', ['1003:1003', join(b.bucketDir, 'shared.txt')])
  t.match((await bridgectl(b, 'explain', 'tester', 'demo', 'shared.txt', 'GetObjectAcl')).stdout, /=> DENIED/, 'not the file\'s owner: no READ_ACP')
  await b.s3.send(ownership('BucketOwnerEnforced'))
  t.match((await bridgectl(b, 'explain', 'tester', 'demo', 'shared.txt', 'GetObjectAcl')).stdout, /=> ALLOWED/)
  await b.s3.send(new GetObjectAclCommand({ Bucket: 'demo', Key: 'shared.txt' }))
  t.match((await bridgectl(b, 'explain', 'tester', 'demo', 'missing.txt', 'GetObjectAcl')).stdout, /=> DENIED \(the path does not exist\)/)
})
