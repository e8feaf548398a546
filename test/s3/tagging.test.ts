// Object and bucket tagging through the AWS SDK: x-amz-tagging on PUT, copy and multipart, the Tagging
// sub-resource, AWS's limits, x-amz-tagging-count on GET/HEAD, and who may read or change tags.
import t from 'tap'
import { chownSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteBucketTaggingCommand, DeleteObjectTaggingCommand,
  GetBucketTaggingCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutBucketTaggingCommand, PutObjectCommand,
  PutObjectTaggingCommand, ListMultipartUploadsCommand, UploadPartCommand, GetObjectAttributesCommand,
} from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'

const tagSet = (n: number, prefix = 'k'): Array<{ Key: string, Value: string }> => Array.from({ length: n }, (_, i) => ({ Key: `${prefix}${i}`, Value: `v${i}` }))

t.test('x-amz-tagging on PutObject is returned by GetObjectTagging, in order, and counted on HEAD and GET', async t => {
  const { s3 } = await startBridge(t)
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'tagged.txt', Body: 'x', Tagging: 'project=blue&note=two%20words&empty=' }))
  const got = await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'tagged.txt' }))
  t.same(got.TagSet, [{ Key: 'project', Value: 'blue' }, { Key: 'note', Value: 'two words' }, { Key: 'empty', Value: '' }])
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'tagged.txt' }))).TagCount, 3, 'HEAD: x-amz-tagging-count')
  t.equal((await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'tagged.txt' }))).TagCount, 3, 'GET: x-amz-tagging-count')

  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'plain.txt', Body: 'x' }))
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'plain.txt' }))).TagSet, [], 'no tags: an empty TagSet')
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'plain.txt' }))).TagCount, undefined, 'no count header without tags')

  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'tagged.txt', Body: 'new version' }))
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'tagged.txt' }))).TagSet, [], 'a new PUT replaces the tags with its own (none)')
})

t.test('PutObjectTagging replaces the set, DeleteObjectTagging empties it, and the ETag and body never change', async t => {
  const { s3 } = await startBridge(t)
  const put = await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'a/b.txt', Body: 'content', Tagging: 'old=1' }))
  await s3.send(new PutObjectTaggingCommand({ Bucket: 'demo', Key: 'a/b.txt', Tagging: { TagSet: tagSet(10) } }))
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'a/b.txt' }))).TagSet, tagSet(10), 'ten tags are allowed')
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'a/b.txt' }))
  t.equal(head.ETag, put.ETag)
  t.equal(head.TagCount, 10)
  const del = await s3.send(new DeleteObjectTaggingCommand({ Bucket: 'demo', Key: 'a/b.txt' }))
  t.equal(del.$metadata.httpStatusCode, 204)
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'a/b.txt' }))).TagSet, [])
  const got = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'a/b.txt' }))
  t.equal(await got.Body?.transformToString(), 'content')
  t.equal(got.ETag, put.ETag)
  t.equal(got.TagCount, undefined)
})

t.test('AWS limits: 11 tags, a 129-character key, a 257-character value, duplicate keys and aws: keys are InvalidTag', async t => {
  const { s3 } = await startBridge(t)
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k', Body: 'x' }))
  const put = (TagSet: Array<{ Key: string, Value: string }>): Promise<unknown> => s3.send(new PutObjectTaggingCommand({ Bucket: 'demo', Key: 'k', Tagging: { TagSet } }))
  await put([{ Key: 'k'.repeat(128), Value: 'v'.repeat(256) }])
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'k' }))).TagSet, [{ Key: 'k'.repeat(128), Value: 'v'.repeat(256) }], 'the largest key and value fit')
  const invalid = { name: 'InvalidTag', $metadata: { httpStatusCode: 400 } }
  await t.rejects(put(tagSet(11)), invalid, '11 tags')
  await t.rejects(put([{ Key: 'k'.repeat(129), Value: 'v' }]), invalid, 'key too long')
  await t.rejects(put([{ Key: 'k', Value: 'v'.repeat(257) }]), invalid, 'value too long')
  await t.rejects(put([{ Key: 'same', Value: '1' }, { Key: 'same', Value: '2' }]), invalid, 'duplicate key')
  await t.rejects(put([{ Key: 'aws:reserved', Value: '1' }]), invalid, 'aws: prefix')
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k2', Body: 'x', Tagging: tagSet(11).map(x => `${x.Key}=${x.Value}`).join('&') })), invalid, '11 tags in x-amz-tagging')
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'k' }))).TagSet, [{ Key: 'k'.repeat(128), Value: 'v'.repeat(256) }], 'refused sets change nothing')
  await t.rejects(s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'k2' })), { name: 'NotFound' }, 'a PUT with bad tags stores nothing')
})

t.test('missing keys are NoSuchKey; a version other than null is NoSuchVersion', async t => {
  const { s3 } = await startBridge(t)
  await t.rejects(s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'nope' })), { name: 'NoSuchKey' })
  await t.rejects(s3.send(new PutObjectTaggingCommand({ Bucket: 'demo', Key: 'nope', Tagging: { TagSet: [] } })), { name: 'NoSuchKey' })
  await t.rejects(s3.send(new DeleteObjectTaggingCommand({ Bucket: 'demo', Key: 'nope' })), { name: 'NoSuchKey' })
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'v', Body: 'x', Tagging: 'a=1' }))
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'v', VersionId: 'null' }))).TagSet, [{ Key: 'a', Value: '1' }])
  await t.rejects(s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'v', VersionId: 'abc' })), { name: 'NoSuchVersion' })
})

t.test('CopyObject copies tags by default and takes x-amz-tagging with TaggingDirective REPLACE', async t => {
  const { s3 } = await startBridge(t)
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'src', Body: 'x', Tagging: 'a=1&b=2' }))
  await s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'copied', CopySource: 'demo/src' }))
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'copied' }))).TagSet, [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }])
  await s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'meta-replaced', CopySource: 'demo/src', MetadataDirective: 'REPLACE', Metadata: { m: '1' } }))
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'meta-replaced' }))).TagSet, [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }], 'the metadata directive does not touch tags')
  await s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'replaced', CopySource: 'demo/src', TaggingDirective: 'REPLACE', Tagging: 'c=3' }))
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'replaced' }))).TagSet, [{ Key: 'c', Value: '3' }])
  await s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'cleared', CopySource: 'demo/src', TaggingDirective: 'REPLACE' }))
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'cleared' }))).TagSet, [], 'REPLACE without x-amz-tagging: no tags')
})

t.test('x-amz-tagging on CreateMultipartUpload tags the completed object', async t => {
  const { s3 } = await startBridge(t)
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp', Tagging: 'stage=done' }))
  const part = await s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'mp', UploadId, PartNumber: 1, Body: 'only part' }))
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'mp', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }))
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'mp' }))).TagSet, [{ Key: 'stage', Value: 'done' }])
})

t.test('a file written over NFS can be tagged and keeps the ETag it showed', async t => {
  const { s3, bucketDir } = await startBridge(t)
  writeFileSync(join(bucketDir, 'nfs.txt'), 'made over nfs')
  chownSync(join(bucketDir, 'nfs.txt'), 2000, 2000)
  const before = await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'nfs.txt' }))
  await s3.send(new PutObjectTaggingCommand({ Bucket: 'demo', Key: 'nfs.txt', Tagging: { TagSet: [{ Key: 'from', Value: 'nfs' }] } }))
  const after = await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'nfs.txt' }))
  t.equal(after.ETag, before.ETag)
  t.equal(after.TagCount, 1)
  writeFileSync(join(bucketDir, 'nfs.txt'), 'rewritten over nfs')
  t.not((await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'nfs.txt' }))).ETag, before.ETag, 'a later NFS write still changes the ETag')
})

t.test('tagging an object needs write access to it; reading tags needs read access', async t => {
  const bridge = await startBridge(t)
  await bridge.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'mine', Body: 'x', ACL: 'private', Tagging: 'a=1' }))
  const other = bridge.client(await bridge.addUser('other', 2001, 2001))
  await t.rejects(other.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'mine' })), { name: 'AccessDenied' })
  await t.rejects(other.send(new PutObjectTaggingCommand({ Bucket: 'demo', Key: 'mine', Tagging: { TagSet: [] } })), { name: 'AccessDenied' })
  await t.rejects(other.send(new DeleteObjectTaggingCommand({ Bucket: 'demo', Key: 'mine' })), { name: 'AccessDenied' })
  t.same((await bridge.s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'mine' }))).TagSet, [{ Key: 'a', Value: '1' }])
})

t.test('bucket tagging: NoSuchTagSet until set, Put replaces, Delete removes; 50 tags at most; owner only', async t => {
  const bridge = await startBridge(t)
  const { s3 } = bridge
  await t.rejects(s3.send(new GetBucketTaggingCommand({ Bucket: 'demo' })), { name: 'NoSuchTagSet', $metadata: { httpStatusCode: 404 } })
  const put = await s3.send(new PutBucketTaggingCommand({ Bucket: 'demo', Tagging: { TagSet: [{ Key: 'env', Value: 'prod' }, { Key: 'team', Value: 'nas' }] } }))
  t.equal(put.$metadata.httpStatusCode, 204)
  t.same((await s3.send(new GetBucketTaggingCommand({ Bucket: 'demo' }))).TagSet, [{ Key: 'env', Value: 'prod' }, { Key: 'team', Value: 'nas' }])
  await s3.send(new PutBucketTaggingCommand({ Bucket: 'demo', Tagging: { TagSet: tagSet(50) } }))
  t.same((await s3.send(new GetBucketTaggingCommand({ Bucket: 'demo' }))).TagSet, tagSet(50))
  await t.rejects(s3.send(new PutBucketTaggingCommand({ Bucket: 'demo', Tagging: { TagSet: tagSet(51) } })), { name: 'InvalidTag' })
  const other = bridge.client(await bridge.addUser('other', 2001, 2001))
  await t.rejects(other.send(new GetBucketTaggingCommand({ Bucket: 'demo' })), { name: 'AccessDenied' })
  await t.rejects(other.send(new PutBucketTaggingCommand({ Bucket: 'demo', Tagging: { TagSet: [] } })), { name: 'AccessDenied' })
  const del = await s3.send(new DeleteBucketTaggingCommand({ Bucket: 'demo' }))
  t.equal(del.$metadata.httpStatusCode, 204)
  await t.rejects(s3.send(new GetBucketTaggingCommand({ Bucket: 'demo' })), { name: 'NoSuchTagSet' })
  await t.rejects(s3.send(new GetBucketTaggingCommand({ Bucket: 'nosuchbucket' })), { name: 'NoSuchBucket' })
})

t.test('ten tags of the largest size: stored where the filesystem holds them, else 400 MetadataTooLarge and nothing changed (never 507)', async t => {
  const { s3, bucketDir } = await startBridge(t)
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k', Body: 'x', Tagging: 'a=1' }))
  const big = Array.from({ length: 10 }, (_, i) => ({ Key: `${i}`.padEnd(128, 'k'), Value: 'v'.repeat(256) }))
  const put = await s3.send(new PutObjectTaggingCommand({ Bucket: 'demo', Key: 'k', Tagging: { TagSet: big } })).then(() => undefined, (err: unknown) => err)
  if (put === undefined) {
    t.comment('this filesystem holds 4 KiB of tags in one extended attribute (XFS, btrfs, ext4 with ea_inode)')
    t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'k' }))).TagSet, big)
  } else {
    // ext4 without ea_inode keeps all of a file's extended attributes in one 4 KiB block.
    t.match(put, { name: 'MetadataTooLarge', $metadata: { httpStatusCode: 400 }, message: /extended attributes this filesystem keeps/ })
    t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'k' }))).TagSet, [{ Key: 'a', Value: '1' }], 'the old tags are kept')
    const header = big.map(x => `${x.Key}=${x.Value}`).join('&')
    await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'fresh/dir/k', Body: 'x', Tagging: header })), { name: 'MetadataTooLarge' })
    t.notOk(existsSync(join(bucketDir, 'fresh')), 'the folders the refused PUT made are gone again')
    // A multipart upload is refused when it is created, not at Complete after all its parts were sent.
    await t.rejects(s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp', Tagging: header })), { name: 'MetadataTooLarge', $metadata: { httpStatusCode: 400 } })
    t.same((await s3.send(new ListMultipartUploadsCommand({ Bucket: 'demo' }))).Uploads ?? [], [], 'no upload was left behind')
    const nine = big.slice(0, 9).map(x => `${x.Key}=${x.Value}`).join('&')
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp', Tagging: nine }))
    const part = await s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'mp', UploadId: created.UploadId, PartNumber: 1, Body: 'data' }))
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'mp', UploadId: created.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }))
    t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'mp' }))).TagSet, big.slice(0, 9), 'nine such tags are accepted and kept')
  }
})

t.test('a multipart object whose parts\' checksums do not fit beside its tags keeps its ETag, tags and part sizes', async t => {
  const { s3 } = await startBridge(t)
  const tag = (i: number): { Key: string, Value: string } => ({ Key: `${i}`.padEnd(128, 'k'), Value: 'v'.repeat(256) })
  const header = (n: number): string => Array.from({ length: n }, (_, i) => tag(i)).map(x => `${x.Key}=${x.Value}`).join('&')
  const ten = await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'probe', Body: 'x', Tagging: header(10) })).then(() => undefined, (err: unknown) => err)
  if (ten === undefined) return t.comment('this filesystem holds 4 KiB of attributes per file: nothing is dropped')
  const MiB = 1024 * 1024
  const bodies = [...Array.from({ length: 5 }, (_, i) => Buffer.alloc(5 * MiB, 97 + i)), Buffer.from('last')]
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp', Tagging: header(9), ChecksumAlgorithm: 'SHA256' }))
  const parts = []
  for (const [i, Body] of bodies.entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'mp', UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm: 'SHA256' }))
    parts.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256 })
  }
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'mp', UploadId, MultipartUpload: { Parts: parts } }))
  t.match(done.ETag, /-6"$/)
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'mp' }))).TagSet, Array.from({ length: 9 }, (_, i) => tag(i)), 'the tags are kept')
  const attrs = await s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'mp', ObjectAttributes: ['ObjectParts', 'ETag'] }))
  t.equal(attrs.ETag, done.ETag?.replace(/"/g, ''))
  t.same(attrs.ObjectParts, { TotalPartsCount: 6 }, 'the count without the list the attributes could not hold')
  const second = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'mp', PartNumber: 6 }))
  t.equal(await second.Body?.transformToString(), 'last', 'the part sizes are kept: a part can still be read')
})
