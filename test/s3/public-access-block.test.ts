// PutPublicAccessBlock / GetPublicAccessBlock / DeletePublicAccessBlock, and what each of the four settings does to
// ACL writes, policy writes and the permission model (AWS's "Blocking public access to your Amazon S3 storage").
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  CopyObjectCommand, CreateMultipartUploadCommand, DeletePublicAccessBlockCommand, GetBucketPolicyCommand, GetObjectAclCommand, GetObjectCommand, HeadObjectCommand,
  GetPublicAccessBlockCommand, ListObjectsV2Command, PutBucketAclCommand, PutBucketPolicyCommand, PutObjectAclCommand, PutObjectCommand,
  PutPublicAccessBlockCommand, type PublicAccessBlockConfiguration, type S3Client,
} from '@aws-sdk/client-s3'
import { anonymousClient, startBridge, type Bridge } from '../fixtures/daemon.js'
import { bridgectl } from '../fixtures/bridgectl.js'
import { md5Of, postForm, signedPostFields, signedRequest } from '../fixtures/post-form.js'

const ALL_USERS = 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'
const AUTH_USERS = 'uri="http://acs.amazonaws.com/groups/global/AuthenticatedUsers"'

async function block (b: Bridge, config: PublicAccessBlockConfiguration, bucket = 'demo'): Promise<void> {
  await b.s3.send(new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: config }))
}

async function outcome (p: Promise<unknown>): Promise<string> {
  return await p.then(() => 'ok', (e: Error) => e.name)
}

async function body (c: S3Client, key: string): Promise<string> {
  const r = await c.send(new GetObjectCommand({ Bucket: 'demo', Key: key }))
  return await (r.Body as { transformToString: () => Promise<string> }).transformToString()
}

function publicPolicy (action: string, resource: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: action, Resource: resource, ...extra }] })
}

t.test('the configuration: stored, read back, owner-only, deleted; absent is NoSuchPublicAccessBlockConfiguration', async t => {
  const b = await startBridge(t)
  const alice = b.client(await b.addUser('alice', 1001, 1001))
  await t.rejects(b.s3.send(new GetPublicAccessBlockCommand({ Bucket: 'demo' })), { name: 'NoSuchPublicAccessBlockConfiguration', $metadata: { httpStatusCode: 404 } })
  const all = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: false }
  await block(b, all)
  const got = await b.s3.send(new GetPublicAccessBlockCommand({ Bucket: 'demo' }))
  t.same(got.PublicAccessBlockConfiguration, all)
  await block(b, { BlockPublicPolicy: true })
  const partial = await b.s3.send(new GetPublicAccessBlockCommand({ Bucket: 'demo' }))
  t.same(partial.PublicAccessBlockConfiguration, { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false }, 'a PUT replaces the whole configuration; absent settings are false')
  await t.rejects(alice.send(new PutPublicAccessBlockCommand({ Bucket: 'demo', PublicAccessBlockConfiguration: {} })), { name: 'AccessDenied' }, 'only the owner sets it')
  await t.rejects(alice.send(new GetPublicAccessBlockCommand({ Bucket: 'demo' })), { name: 'AccessDenied' }, 'or reads it')
  await t.rejects(alice.send(new DeletePublicAccessBlockCommand({ Bucket: 'demo' })), { name: 'AccessDenied' }, 'or deletes it')
  const del = await b.s3.send(new DeletePublicAccessBlockCommand({ Bucket: 'demo' }))
  t.equal(del.$metadata.httpStatusCode, 204)
  await t.rejects(b.s3.send(new GetPublicAccessBlockCommand({ Bucket: 'demo' })), { name: 'NoSuchPublicAccessBlockConfiguration' })
})

t.test('a body outside the schema is MalformedXML, and nothing changes', async t => {
  const b = await startBridge(t)
  const ns = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
  const bodies = [
    'not xml',
    '<Other/>',
    `<PublicAccessBlockConfiguration ${ns}><BlockPublicAcls>yes</BlockPublicAcls></PublicAccessBlockConfiguration>`,
    `<PublicAccessBlockConfiguration ${ns}><BlockPublicAcl>true</BlockPublicAcl></PublicAccessBlockConfiguration>`,
    `<PublicAccessBlockConfiguration ${ns}><BlockPublicAcls>true</BlockPublicAcls><BlockPublicAcls>false</BlockPublicAcls></PublicAccessBlockConfiguration>`,
    `<PublicAccessBlockConfiguration ${ns}><BlockPublicAcls>TRUE</BlockPublicAcls></PublicAccessBlockConfiguration>`,
  ]
  for (const text of bodies) {
    const r = await signedRequest(b.endpoint, b.creds, { method: 'PUT', path: '/demo', query: { publicAccessBlock: '' }, body: text, headers: { 'content-md5': md5Of(text) } })
    t.equal(r.status, 400, text)
    t.match(r.body, /<Code>MalformedXML<\/Code>/, text)
  }
  await t.rejects(b.s3.send(new GetPublicAccessBlockCommand({ Bucket: 'demo' })), { name: 'NoSuchPublicAccessBlockConfiguration' })
  const ok = `<PublicAccessBlockConfiguration ${ns}><IgnorePublicAcls>1</IgnorePublicAcls></PublicAccessBlockConfiguration>`
  const bare = await signedRequest(b.endpoint, b.creds, { method: 'PUT', path: '/demo', query: { publicAccessBlock: '' }, body: ok })
  t.equal(bare.status, 400, 'Content-MD5 (or a checksum) is required, as the SDKs send it')
  const named = await signedRequest(b.endpoint, b.creds, { method: 'PUT', path: '/demo', query: { publicAccessBlock: '' }, body: ok, headers: { 'x-amz-checksum-algorithm': 'CRC32' } })
  t.equal(named.status, 400, 'naming an algorithm is no digest')
  t.match(bare.body, /Missing required header for this request: Content-MD5/)
  const r = await signedRequest(b.endpoint, b.creds, { method: 'PUT', path: '/demo', query: { publicAccessBlock: '' }, body: ok, headers: { 'content-md5': md5Of(ok) } })
  t.equal(r.status, 200, r.body)
  const raw = await signedRequest(b.endpoint, b.creds, { method: 'GET', path: '/demo', query: { publicAccessBlock: '' } })
  t.match(raw.body, /<PublicAccessBlockConfiguration xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/"><BlockPublicAcls>false<\/BlockPublicAcls><IgnorePublicAcls>true<\/IgnorePublicAcls><BlockPublicPolicy>false<\/BlockPublicPolicy><RestrictPublicBuckets>false<\/RestrictPublicBuckets><\/PublicAccessBlockConfiguration>/, 'AWS\'s element order')
})

t.test('a bucket policy can deny reading the configuration, even to the owner', async t => {
  const b = await startBridge(t)
  await block(b, { BlockPublicAcls: true })
  await b.s3.send(new PutBucketPolicyCommand({
    Bucket: 'demo',
    Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetBucketPublicAccessBlock', Resource: 'arn:aws:s3:::demo' }] }),
  }))
  await t.rejects(b.s3.send(new GetPublicAccessBlockCommand({ Bucket: 'demo' })), { name: 'AccessDenied' })
})

t.test('BlockPublicAcls: every way of setting a public ACL is refused before anything is written; ACLs already set stay', async t => {
  const b = await startBridge(t, { authenticatedUsersGid: 4000, fileCreateMode: '0644' })
  const anon = anonymousClient(b.endpoint, t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'old-public.txt', Body: 'before', ACL: 'public-read' }))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'mine.txt', Body: 'mine' }))
  await block(b, { BlockPublicAcls: true })

  for (const acl of ['public-read', 'public-read-write', 'authenticated-read'] as const) {
    t.equal(await outcome(b.s3.send(new PutBucketAclCommand({ Bucket: 'demo', ACL: acl }))), 'AccessDenied', `PutBucketAcl ${acl}`)
    t.equal(await outcome(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: `new-${acl}.txt`, Body: 'x', ACL: acl }))), 'AccessDenied', `PutObject ${acl}`)
    t.notOk(existsSync(join(b.bucketDir, `new-${acl}.txt`)), `no file for PutObject ${acl}`)
    t.equal(await outcome(b.s3.send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'mine.txt', ACL: acl }))), 'AccessDenied', `PutObjectAcl ${acl}`)
  }
  t.equal(await outcome(b.s3.send(new PutBucketAclCommand({ Bucket: 'demo', GrantRead: ALL_USERS }))), 'AccessDenied', 'PutBucketAcl with an AllUsers grant header')
  t.equal(await outcome(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'granted.txt', Body: 'x', GrantRead: AUTH_USERS }))), 'AccessDenied', 'PutObject with an AuthenticatedUsers grant header')
  t.equal(await outcome(b.s3.send(new PutObjectAclCommand({
    Bucket: 'demo',
    Key: 'mine.txt',
    AccessControlPolicy: { Owner: { ID: 'tester' }, Grants: [{ Grantee: { Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/AllUsers' }, Permission: 'READ' }] },
  }))), 'AccessDenied', 'PutObjectAcl with an AllUsers grant in the body')
  t.equal(await outcome(b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'copy.txt', CopySource: 'demo/mine.txt', ACL: 'public-read' }))), 'AccessDenied', 'CopyObject public-read')
  t.notOk(existsSync(join(b.bucketDir, 'copy.txt')), 'no copy made')
  t.equal(await outcome(b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp.bin', ACL: 'public-read' }))), 'AccessDenied', 'CreateMultipartUpload public-read')
  const form = signedPostFields(b.creds, { fields: [['key', 'form.txt'], ['acl', 'public-read']], conditions: [{ bucket: 'demo' }, ['starts-with', '$key', ''], { acl: 'public-read' }] })
  const posted = await postForm(`${b.endpoint}/demo`, form, { data: 'from a form', filename: 'form.txt' })
  t.equal(posted.status, 403, 'a browser POST with acl public-read')
  t.match(posted.body, /<Code>AccessDenied<\/Code>/)
  t.notOk(existsSync(join(b.bucketDir, 'form.txt')), 'no file for the POST')

  // However the grant names the public: the AuthenticatedUsers group by a padded gid, the anonymous user or group.
  for (const grant of ['uri="urn:s3bridge:gid:04000"', 'id="uid:65534"', 'uri="urn:s3bridge:gid:65534"']) {
    t.equal(await outcome(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'forms.txt', Body: 'x', GrantRead: grant }))), 'AccessDenied', `PutObject GrantRead ${grant}`)
    t.equal(await outcome(b.s3.send(new PutBucketAclCommand({ Bucket: 'demo', GrantRead: grant }))), 'AccessDenied', `PutBucketAcl GrantRead ${grant}`)
  }
  t.notOk(existsSync(join(b.bucketDir, 'forms.txt')))
  // An upload without ACL headers does not publish through the create mode (0644 here): other:: is AllUsers.
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'plain.txt', Body: 'x' }))
  t.equal(statSync(join(b.bucketDir, 'plain.txt')).mode & 0o777, 0o640, 'no other:: bits on a new file')
  t.equal(await outcome(anon.send(new GetObjectCommand({ Bucket: 'demo', Key: 'plain.txt' }))), 'AccessDenied', 'so anonymous cannot read it')
  // Nor through a folder default ACL naming AuthenticatedUsers' gid (every signed user is in it).
  const shared = join(b.bucketDir, 'shared')
  mkdirSync(shared)
  chownSync(shared, 2000, 2000)
  t.equal(spawnSync('setfacl', ['-d', '-m', 'g:4000:r', shared]).status, 0, 'setfacl -d')
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'shared/new.txt', Body: 'x' }))
  const alice = b.client(await b.addUser('alice', 1001, 1001))
  t.equal(await outcome(alice.send(new GetObjectCommand({ Bucket: 'demo', Key: 'shared/new.txt' }))), 'AccessDenied', 'the inherited AuthenticatedUsers entry grants nothing')
  t.equal(await outcome(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'private.txt', Body: 'x', ACL: 'private' }))), 'ok', 'a private ACL is fine')
  t.equal(await outcome(b.s3.send(new PutBucketAclCommand({ Bucket: 'demo', ACL: 'private' }))), 'ok', 'and on the bucket')
  t.equal(await body(anon, 'old-public.txt'), 'before', 'an object made public before the block stays public')
})

t.test('BlockPublicPolicy: a public policy is refused and not stored; a policy for named principals or narrow sources is fine', async t => {
  const b = await startBridge(t)
  await block(b, { BlockPublicPolicy: true })
  t.equal(await outcome(b.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: publicPolicy('s3:GetObject', 'arn:aws:s3:::demo/*') }))), 'AccessDenied')
  await t.rejects(b.s3.send(new GetBucketPolicyCommand({ Bucket: 'demo' })), { name: 'NoSuchBucketPolicy' }, 'nothing stored')
  const named = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:user/alice' }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::demo/*' }] })
  t.equal(await outcome(b.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: named }))), 'ok', 'a named principal')
  const narrow = publicPolicy('s3:GetObject', 'arn:aws:s3:::demo/*', { Condition: { IpAddress: { 'aws:SourceIp': '10.1.2.0/24' } } })
  t.equal(await outcome(b.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: narrow }))), 'ok', 'everyone, but from one /24')
  const deny = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::demo/*' }] })
  t.equal(await outcome(b.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: deny }))), 'ok', 'a Deny to everyone is not public')
})

t.test('IgnorePublicAcls: the bucket\'s and the files\' public grants stop counting; other grants and policies still do', async t => {
  const b = await startBridge(t, { authenticatedUsersGid: 4000 })
  const anon = anonymousClient(b.endpoint, t)
  const alice = b.client(await b.addUser('alice', 1001, 1001))
  const carol = b.client(await b.addUser('carol', 1003, 2000)) // in the files' owning group
  await b.s3.send(new PutBucketAclCommand({ Bucket: 'demo', ACL: 'public-read' }))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'public.txt', Body: 'for all', ACL: 'public-read' }))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'members.txt', Body: 'for members', ACL: 'authenticated-read' }))
  await b.s3.send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'public.txt', GrantRead: ALL_USERS, GrantReadACP: ALL_USERS }))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'shared.txt', Body: 'alice and all' }))
  await b.s3.send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'shared.txt', GrantRead: `id="alice", ${ALL_USERS}` }))
  // Files written over NFS: 0644 (everyone reads, its group no more than everyone) and 0640 (its group reads).
  writeFileSync(join(b.bucketDir, 'nfs.txt'), 'from nfs', { mode: 0o644 })
  chownSync(join(b.bucketDir, 'nfs.txt'), 2000, 2000)
  writeFileSync(join(b.bucketDir, 'group.txt'), 'for the group', { mode: 0o640 })
  chownSync(join(b.bucketDir, 'group.txt'), 2000, 2000)
  // A folder object, and a bucket ACE naming the AuthenticatedUsers group by its gid.
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'pub/', Body: '', Metadata: { secret: 'folder-meta' } }))
  const admin = b.client(await b.addUser('boss', 1004, 1004, 'admin'))
  const dave = b.client(await b.addUser('dave', 1005, 1005))

  t.equal(await outcome(anon.send(new ListObjectsV2Command({ Bucket: 'demo' }))), 'ok', 'before: anonymous lists')
  t.equal(await outcome(alice.send(new ListObjectsV2Command({ Bucket: 'demo' }))), 'ok', 'before: alice lists')
  t.equal(await body(anon, 'public.txt'), 'for all')
  t.equal(await body(alice, 'members.txt'), 'for members', 'before: AuthenticatedUsers may read')
  t.equal(await body(alice, 'nfs.txt'), 'from nfs')
  t.equal(await outcome(alice.send(new GetObjectAclCommand({ Bucket: 'demo', Key: 'public.txt' }))), 'ok', 'before: AllUsers READ_ACP')

  await block(b, { IgnorePublicAcls: true })
  t.equal(await outcome(anon.send(new ListObjectsV2Command({ Bucket: 'demo' }))), 'AccessDenied', 'anonymous no longer lists')
  t.equal(await outcome(alice.send(new ListObjectsV2Command({ Bucket: 'demo' }))), 'AccessDenied', 'nor does alice')
  for (const key of ['public.txt', 'members.txt', 'nfs.txt']) {
    t.equal(await outcome(anon.send(new GetObjectCommand({ Bucket: 'demo', Key: key }))), 'AccessDenied', `anonymous cannot read ${key}`)
    t.equal(await outcome(alice.send(new GetObjectCommand({ Bucket: 'demo', Key: key }))), 'AccessDenied', `alice cannot read ${key}`)
  }
  t.equal(await outcome(alice.send(new GetObjectAclCommand({ Bucket: 'demo', Key: 'public.txt' }))), 'AccessDenied', 'AllUsers READ_ACP ignored')
  t.equal(await body(carol, 'group.txt'), 'for the group', 'a grant to the owning group is not public')
  t.equal(await body(alice, 'shared.txt'), 'alice and all', 'alice\'s own READ counts though AllUsers has READ too')
  t.equal(await outcome(carol.send(new GetObjectCommand({ Bucket: 'demo', Key: 'nfs.txt' }))), 'AccessDenied', 'a 0644 file\'s group read is everyone\'s (GetObjectAcl shows no group grant): it goes too')
  t.equal(await outcome(carol.send(new GetObjectCommand({ Bucket: 'demo', Key: 'public.txt' }))), 'AccessDenied', 'as does the read a public-read ACL folded into group::')
  const head = await anon.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'pub/' })).then(() => 200, (e: { $metadata: { httpStatusCode?: number } }) => e.$metadata.httpStatusCode)
  t.equal(head, 403, 'a folder object is an object too')
  t.equal(await body(admin, 'nfs.txt'), 'from nfs', 'an admin reads through its role, as an AWS administrator through its policy')
  await b.daemon.services.state.mutate(st => { st.buckets.demo!.acl.push({ type: 'group', name: '4000', permission: 'READ' }) })
  t.equal(await outcome(dave.send(new ListObjectsV2Command({ Bucket: 'demo' }))), 'AccessDenied', 'a bucket ACE for the AuthenticatedUsers gid grants nothing')
  t.equal(await body(b.s3, 'public.txt'), 'for all', 'the owner reads')
  const acl = await b.s3.send(new GetObjectAclCommand({ Bucket: 'demo', Key: 'public.txt' }))
  t.ok(acl.Grants?.some(g => g.Grantee?.URI?.endsWith('/AllUsers')), 'the ACL itself is unchanged (ignored, not removed)')
  const explained = await bridgectl(b, 'explain', 'alice', 'demo', 'nfs.txt', 'GetObject')
  t.match(explained.stdout, /filesystem\s+DENY.*IgnorePublicAcls/, 'explain names the setting that took the grant away')
  const view = await bridgectl(b, 'buckets', 'view', 'demo')
  t.match(view.stdout, /publicAccessBlock\W+IgnorePublicAcls\b/, 'bridgectl shows the bucket\'s block')

  // AWS: the setting does not affect policies. A policy that grants alice reads lets her read files open to all.
  await b.s3.send(new PutBucketPolicyCommand({
    Bucket: 'demo',
    Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:user/alice' }, Action: ['s3:GetObject', 's3:ListBucket'], Resource: ['arn:aws:s3:::demo', 'arn:aws:s3:::demo/*'] }] }),
  }))
  t.equal(await body(alice, 'nfs.txt'), 'from nfs', 'with a policy allowing it, alice reads')
  t.equal(await outcome(alice.send(new ListObjectsV2Command({ Bucket: 'demo' }))), 'ok', 'and lists')
  t.equal(await outcome(anon.send(new GetObjectCommand({ Bucket: 'demo', Key: 'nfs.txt' }))), 'AccessDenied', 'anonymous still cannot')

  await b.s3.send(new DeletePublicAccessBlockCommand({ Bucket: 'demo' }))
  t.equal(await body(anon, 'public.txt'), 'for all', 'with the block gone, public grants count again')
})

t.test('RestrictPublicBuckets: a public policy stops granting anonymous callers; users of the account still use it', async t => {
  const b = await startBridge(t)
  const anon = anonymousClient(b.endpoint, t)
  const alice = b.client(await b.addUser('alice', 1001, 1001))
  writeFileSync(join(b.bucketDir, 'shared.txt'), 'shared', { mode: 0o644 })
  chownSync(join(b.bucketDir, 'shared.txt'), 2000, 2000)
  await b.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: publicPolicy('s3:ListBucket', 'arn:aws:s3:::demo') }))
  t.equal(await outcome(anon.send(new ListObjectsV2Command({ Bucket: 'demo' }))), 'ok', 'before: the public policy lets anonymous list')
  await block(b, { RestrictPublicBuckets: true })
  t.equal(await outcome(anon.send(new ListObjectsV2Command({ Bucket: 'demo' }))), 'AccessDenied', 'anonymous no longer')
  t.equal(await outcome(alice.send(new ListObjectsV2Command({ Bucket: 'demo' }))), 'ok', 'alice, in the owner\'s account, still lists through it')
  t.equal(await body(anon, 'shared.txt'), 'shared', 'object ACLs (the file\'s other:: bits) are IgnorePublicAcls\' business, not this setting\'s')
  // A policy that is not public (a narrow source) keeps working for anonymous callers.
  await b.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: publicPolicy('s3:ListBucket', 'arn:aws:s3:::demo', { Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } }) }))
  t.equal(await outcome(anon.send(new ListObjectsV2Command({ Bucket: 'demo' }))), 'ok', 'a non-public policy still grants anonymous callers')
})
