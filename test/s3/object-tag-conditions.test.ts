// Policies that judge object tags (S3 user guide, "Tagging and access control policies"): s3:ExistingObjectTag/<key>
// on reads, ACL and tag calls; s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys on the uploads and tag writes
// that set tags. Real daemon, @aws-sdk/client-s3, a POST form and bridgectl explain.
import t from 'tap'
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectTaggingCommand, GetObjectAclCommand, GetObjectCommand,
  GetObjectTaggingCommand, HeadObjectCommand, PutBucketPolicyCommand, PutObjectAclCommand, PutObjectCommand, PutObjectTaggingCommand,
} from '@aws-sdk/client-s3'
import { ACCOUNT_ID } from '../../lib/access/authorize.js'
import { newServiceAccount } from '../../lib/auth/service-accounts.js'
import { startBridge, type Bridge, type Credentials } from '../fixtures/daemon.js'
import { bridgectl } from '../fixtures/bridgectl.js'
import { postForm, signedPostFields, signedRequest } from '../fixtures/post-form.js'

const user = (name: string): string => `arn:aws:iam::${ACCOUNT_ID}:user/${name}`
const tagSet = (tags: Record<string, string>): { TagSet: Array<{ Key: string, Value: string }> } => ({ TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) })

/** A world-readable file as an NFS user (the bucket owner, uid 2000) would leave it, tagged by its owner over S3. */
async function taggedFile (b: Bridge, key: string, tags: Record<string, string>): Promise<void> {
  const path = join(b.bucketDir, key)
  writeFileSync(path, `content of ${key}`)
  chownSync(path, 2000, 2000)
  chmodSync(path, 0o644)
  if (Object.keys(tags).length) await b.s3.send(new PutObjectTaggingCommand({ Bucket: 'demo', Key: key, Tagging: tagSet(tags) }))
}

// On the bridge a policy's Allow cannot give more than the file does (every layer must allow), so the tag
// policies that matter are the ones that narrow: "Deny unless tagged" over files the kernel would let carol read.
const denyUnlessPublic = (actions: string[], key = 's3:ExistingObjectTag/security'): object => ({
  Sid: 'OnlyPublic', Effect: 'Deny', Principal: { AWS: user('carol') }, Action: actions, Resource: 'arn:aws:s3:::demo/*', Condition: { StringNotEquals: { [key]: 'public' } },
})

t.test('s3:ExistingObjectTag: a bucket policy lets another user read only the objects tagged for it, and follows a retag at once', async t => {
  const b = await startBridge(t)
  const carol = b.client(await b.addUser('carol', 1003, 1003))
  await taggedFile(b, 'public.txt', { security: 'public', foo: 'bar' })
  await taggedFile(b, 'private.txt', { security: 'private' })
  await taggedFile(b, 'other-key.txt', { security1: 'public' })
  await taggedFile(b, 'untagged.txt', {})
  await carol.send(new GetObjectCommand({ Bucket: 'demo', Key: 'private.txt' }))
  t.pass('without a policy the world-readable file is carol\'s to read')
  // The key's name is case-insensitive, its tag key is not (S3 tag keys are case-sensitive): a policy naming
  // "Security" does not see the tag "security", so nothing is public to it.
  await b.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: JSON.stringify({ Version: '2012-10-17', Statement: [denyUnlessPublic(['s3:GetObject'], 'S3:existingObjectTag/Security')] }) }))
  await t.rejects(carol.send(new GetObjectCommand({ Bucket: 'demo', Key: 'public.txt' })), { name: 'AccessDenied' }, 'the tag key is matched as written')
  await b.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: JSON.stringify({ Version: '2012-10-17', Statement: [denyUnlessPublic(['s3:GetObject', 's3:GetObjectTagging'], 'S3:existingObjectTag/security')] }) }))
  t.equal(await (await carol.send(new GetObjectCommand({ Bucket: 'demo', Key: 'public.txt' }))).Body?.transformToString(), 'content of public.txt', 'tagged security=public: carol reads it')
  await carol.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'public.txt' }))
  t.same((await carol.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'public.txt' }))).TagSet, [{ Key: 'security', Value: 'public' }, { Key: 'foo', Value: 'bar' }], 'and its tags')
  for (const key of ['private.txt', 'other-key.txt', 'untagged.txt']) {
    await t.rejects(carol.send(new GetObjectCommand({ Bucket: 'demo', Key: key })), { name: 'AccessDenied' }, `${key}: no such tag, no read`)
    await t.rejects(carol.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: key })), { name: 'AccessDenied' }, `${key}: nor its tags`)
  }
  await t.rejects(carol.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'private.txt' })), { name: 'Unknown', $metadata: { httpStatusCode: 403 } }, 'HEAD is GetObject too (403, no body)')

  // The check reads the tags the object has now: the owner retags, the answer changes with no delay.
  await b.s3.send(new PutObjectTaggingCommand({ Bucket: 'demo', Key: 'private.txt', Tagging: tagSet({ security: 'public' }) }))
  t.equal(await (await carol.send(new GetObjectCommand({ Bucket: 'demo', Key: 'private.txt' }))).Body?.transformToString(), 'content of private.txt', 'retagged public: readable')
  await b.s3.send(new DeleteObjectTaggingCommand({ Bucket: 'demo', Key: 'public.txt' }))
  await t.rejects(carol.send(new GetObjectCommand({ Bucket: 'demo', Key: 'public.txt' })), { name: 'AccessDenied' }, 'tags removed: no longer')

  // A copy's source is read as GetObject: its tags decide. Carol may write the uploads folder (POSIX) and the
  // policy lets her PutObject there.
  mkdirSync(join(b.bucketDir, 'uploads'))
  chmodSync(join(b.bucketDir, 'uploads'), 0o777)
  await b.s3.send(new PutBucketPolicyCommand({
    Bucket: 'demo',
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        denyUnlessPublic(['s3:GetObject']),
        { Effect: 'Allow', Principal: { AWS: user('carol') }, Action: 's3:PutObject', Resource: 'arn:aws:s3:::demo/uploads/*' },
      ],
    }),
  }))
  await carol.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'uploads/copy.txt', CopySource: 'demo/private.txt' }))
  t.equal(readFileSync(join(b.bucketDir, 'uploads/copy.txt'), 'utf8'), 'content of private.txt', 'a source tagged public is copied')
  await t.rejects(carol.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'uploads/copy2.txt', CopySource: 'demo/untagged.txt' })), { name: 'AccessDenied' }, 'an untagged source is not')
  t.notOk(existsSync(join(b.bucketDir, 'uploads/copy2.txt')), 'and nothing was written')
})

t.test('a Deny on an existing tag holds reads, ACL and tag calls but, as AWS documents, not overwrites or deletes', async t => {
  const b = await startBridge(t)
  await taggedFile(b, 'locked.txt', { locked: 'true' })
  await taggedFile(b, 'open.txt', { locked: 'false' })
  // Tag keys are case-sensitive: "Locked" is another tag, and adding it does not dodge a Deny on "locked".
  await taggedFile(b, 'both.txt', { Locked: 'false', locked: 'true' })
  await b.s3.send(new PutBucketPolicyCommand({
    Bucket: 'demo',
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'HoldLocked', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::demo/*', Condition: { StringEquals: { 's3:ExistingObjectTag/locked': 'true' } } }],
    }),
  }))
  await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'open.txt' }))
  t.pass('locked=false: the owner reads it')
  for (const key of ['locked.txt', 'both.txt']) {
    await t.rejects(b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: key })), { name: 'AccessDenied' }, `${key}: GetObject denied to the owner`)
    await t.rejects(b.s3.send(new GetObjectAclCommand({ Bucket: 'demo', Key: key })), { name: 'AccessDenied' }, `${key}: GetObjectAcl denied`)
  }
  await t.rejects(b.s3.send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'locked.txt', ACL: 'public-read' })), { name: 'AccessDenied' }, 'PutObjectAcl denied')
  t.equal(readFileSync(join(b.bucketDir, 'locked.txt'), 'utf8'), 'content of locked.txt')
  await t.rejects(b.s3.send(new PutObjectTaggingCommand({ Bucket: 'demo', Key: 'locked.txt', Tagging: tagSet({ locked: 'false' }) })), { name: 'AccessDenied' }, 'PutObjectTagging (the way to unlock) denied')
  await t.rejects(b.s3.send(new DeleteObjectTaggingCommand({ Bucket: 'demo', Key: 'locked.txt' })), { name: 'AccessDenied' }, 'DeleteObjectTagging denied')
  // A tag key with capitals is matched as the policy writes it.
  await taggedFile(b, 'secret.txt', { Classification: 'secret' })
  await b.s3.send(new PutBucketPolicyCommand({
    Bucket: 'demo',
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'HoldLocked', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::demo/*', Condition: { StringEquals: { 's3:ExistingObjectTag/locked': 'true' } } },
        { Sid: 'Secret', Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::demo/*', Condition: { StringEquals: { 's3:ExistingObjectTag/Classification': 'secret' } } },
      ],
    }),
  }))
  await t.rejects(b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'secret.txt' })), { name: 'AccessDenied' }, 'Classification=secret is held by a policy naming Classification')
  const explained = await bridgectl(b, 'explain', 'tester', 'demo', 'locked.txt', 'GetObject')
  t.match(explained.stdout, /policy\s+DENY .*Sid HoldLocked/, 'explain judges the object\'s tags as the daemon does')
  t.match(explained.stdout, /tags as it has them now \(locked=true\)/, 'and says which tags it saw')
  t.match((await bridgectl(b, 'explain', 'tester', 'demo', 'open.txt', 'GetObject')).stdout, /=> ALLOWED/)
  // PutObject and DeleteObject do not take the key (AWS: "you cannot create a policy to grant or deny a user
  // permissions to delete or overwrite an object based on its existing tags").
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'locked.txt', Body: 'overwritten' }))
  t.equal(readFileSync(join(b.bucketDir, 'locked.txt'), 'utf8'), 'overwritten', 'an overwrite is not judged by the old tags')
  await b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'both.txt' }))
  t.notOk(existsSync(join(b.bucketDir, 'both.txt')), 'nor is a delete')
})

t.test('s3:RequestObjectTag and s3:RequestObjectTagKeys judge the tags an upload, a copy, a POST or PutObjectTagging sets', async t => {
  const b = await startBridge(t)
  const carolCreds = await b.addUser('carol', 1003, 1003)
  const carol = b.client(carolCreds)
  mkdirSync(join(b.bucketDir, 'uploads'))
  chmodSync(join(b.bucketDir, 'uploads'), 0o777)
  await taggedFile(b, 'src.txt', { project: 'apollo' })
  await b.s3.send(new PutBucketPolicyCommand({
    Bucket: 'demo',
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'TaggedUploads', Effect: 'Allow', Principal: { AWS: user('carol') }, Action: ['s3:PutObject', 's3:PutObjectTagging'], Resource: 'arn:aws:s3:::demo/uploads/*',
          Condition: { StringEquals: { 's3:RequestObjectTag/project': 'apollo' }, 'ForAllValues:StringEquals': { 's3:RequestObjectTagKeys': ['project', 'team'] } },
        },
        { Effect: 'Allow', Principal: { AWS: user('carol') }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::demo/src.txt' },
      ],
    }),
  }))
  const put = (key: string, Tagging?: string): Promise<unknown> => carol.send(new PutObjectCommand({ Bucket: 'demo', Key: `uploads/${key}`, Body: key, Tagging }))
  await put('ok.txt', 'project=apollo&team=red')
  t.same((await b.s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'uploads/ok.txt' }))).TagSet, [{ Key: 'project', Value: 'apollo' }, { Key: 'team', Value: 'red' }], 'the allowed tags are set')
  const refused: Array<[string, string | undefined, string]> = [
    ['gemini.txt', 'project=gemini', 'another project'],
    ['none.txt', undefined, 'no tags at all'],
    ['extra.txt', 'project=apollo&cost=1', 'a tag key the policy does not list'],
  ]
  for (const [key, tagging, why] of refused) {
    await t.rejects(put(key, tagging), { name: 'AccessDenied' }, `PutObject, ${why}: denied`)
    t.notOk(existsSync(join(b.bucketDir, 'uploads', key)), `${key} was not written`)
  }

  // PutObjectTagging: the body's tags are the request's.
  await carol.send(new PutObjectTaggingCommand({ Bucket: 'demo', Key: 'uploads/ok.txt', Tagging: tagSet({ project: 'apollo' }) }))
  await t.rejects(carol.send(new PutObjectTaggingCommand({ Bucket: 'demo', Key: 'uploads/ok.txt', Tagging: tagSet({ project: 'gemini' }) })), { name: 'AccessDenied' })
  t.same((await b.s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'uploads/ok.txt' }))).TagSet, [{ Key: 'project', Value: 'apollo' }], 'the refused retag changed nothing')

  // CreateMultipartUpload carries the upload's tags.
  await carol.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'uploads/mp.bin', Tagging: 'project=apollo' }))
  await t.rejects(carol.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'uploads/mp2.bin' })), { name: 'AccessDenied' }, 'an untagged multipart upload is refused')

  // CopyObject: only tags it replaces are the request's; a copy that keeps the source's sets none.
  await carol.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'uploads/copy.txt', CopySource: 'demo/src.txt', TaggingDirective: 'REPLACE', Tagging: 'project=apollo' }))
  t.equal(readFileSync(join(b.bucketDir, 'uploads/copy.txt'), 'utf8'), 'content of src.txt')
  await t.rejects(carol.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'uploads/copy2.txt', CopySource: 'demo/src.txt' })), { name: 'AccessDenied' }, 'COPY directive: no request tags')
  await t.rejects(carol.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'uploads/copy3.txt', CopySource: 'demo/src.txt', TaggingDirective: 'REPLACE', Tagging: 'project=gemini' })), { name: 'AccessDenied' })

  // A browser POST: the form's tagging field.
  const post = async (key: string, project: string): Promise<number> => {
    const tagging = `<Tagging><TagSet><Tag><Key>project</Key><Value>${project}</Value></Tag></TagSet></Tagging>`
    const fields: Array<[string, string]> = [['key', `uploads/${key}`], ['tagging', tagging]]
    const reply = await postForm(`${b.endpoint}/demo`, signedPostFields(carolCreds, { fields, conditions: [{ bucket: 'demo' }, { key: `uploads/${key}` }, { tagging }] }), { data: 'form data' })
    return reply.status
  }
  t.equal(await post('form.txt', 'apollo'), 204, 'a POST tagged for the project is stored')
  t.equal(await post('form2.txt', 'gemini'), 403, 'another project is refused')
  t.notOk(existsSync(join(b.bucketDir, 'uploads/form2.txt')))
})

t.test('a service account\'s policy narrows by existing tags too', async t => {
  const b = await startBridge(t)
  await taggedFile(b, 'shared.txt', { share: 'yes' })
  await taggedFile(b, 'mine.txt', { share: 'no' })
  const account = newServiceAccount(new Date(), {
    policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::demo/*', Condition: { StringEquals: { 's3:ExistingObjectTag/share': 'yes' } } }] }),
  })
  await b.daemon.services.state.mutate(s => { s.users.tester!.serviceAccounts = [account] })
  const creds: Credentials = { accessKeyId: account.accessKeyId, secretAccessKey: account.secret }
  const narrowed = b.client(creds)
  t.equal(await (await narrowed.send(new GetObjectCommand({ Bucket: 'demo', Key: 'shared.txt' }))).Body?.transformToString(), 'content of shared.txt')
  await t.rejects(narrowed.send(new GetObjectCommand({ Bucket: 'demo', Key: 'mine.txt' })), { name: 'AccessDenied' }, 'share=no: the account may not, though its user may')
  await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'mine.txt' }))
})

t.test('a tag condition no action of its statement takes is refused when the policy is written (it would be a silent no-op)', async t => {
  const b = await startBridge(t)
  const put = (action: string | string[], key: string): Promise<unknown> => b.s3.send(new PutBucketPolicyCommand({
    Bucket: 'demo',
    Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: action, Resource: 'arn:aws:s3:::demo/*', Condition: { StringEquals: { [key]: 'true' } } }] }),
  }))
  const refused = { name: 'MalformedPolicy', message: /Conditions do not apply to combination of actions and resources in statement/ }
  await t.rejects(put(['s3:DeleteObject', 's3:PutObject'], 's3:ExistingObjectTag/retain'), refused, 'AWS: not for PUT and DELETE Object')
  await t.rejects(put('s3:GetObject', 's3:RequestObjectTag/team'), refused, 'a read sets no tags')
  await t.rejects(put('s3:GetObject', 's3:RequestObjectTagKeys'), refused)
  await put(['s3:DeleteObject', 's3:GetObject'], 's3:ExistingObjectTag/retain')
  await put('s3:*', 's3:ExistingObjectTag/retain')
  await put('s3:Put*', 's3:RequestObjectTag/team')
  t.pass('statements with an action that takes the key are stored')
})

t.test('PutObjectTagging judges the caller before reading the body unless a policy judges the new tags', async t => {
  const b = await startBridge(t)
  await taggedFile(b, 'f.txt', { a: 'b' })
  const carol = await b.addUser('carol', 1003, 1003)
  const bad = (): ReturnType<typeof signedRequest> => signedRequest(b.endpoint, carol, { method: 'PUT', path: '/demo/f.txt', query: { tagging: '' }, body: '<not-xml' })
  t.match((await bad()).body, /<Code>AccessDenied<\/Code>/, 'a caller who may not tag is refused, whatever the body')
  await b.s3.send(new PutBucketPolicyCommand({
    Bucket: 'demo',
    Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:PutObjectTagging', Resource: 'arn:aws:s3:::demo/*', Condition: { StringEquals: { 's3:RequestObjectTag/a': 'forbidden' } } }] }),
  }))
  t.match((await bad()).body, /<Code>MalformedXML<\/Code>/, 'with a policy on the new tags the body is read first')
})
