// AWS behaviours found missing by a conformance sweep (s3-tests/mint style), checked through the AWS SDK:
// conditional PutObject, max-keys=0 listings, response-* overrides on anonymous GETs, version ids other than
// "null", and storage class names.
import t from 'tap'
import { createHash } from 'node:crypto'
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectAclCommand,
  GetObjectAttributesCommand, GetObjectCommand, HeadObjectCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3'
import { anonymousClient, startBridge } from '../fixtures/daemon.js'
import { rejectsWithStatus } from '../fixtures/expect.js'
import { exchangeRaw, sendSigned, signedHead } from '../fixtures/clients/raw-request.js'

t.test('PutObject If-None-Match: * creates a key only when it does not exist', async t => {
  const { s3 } = await startBridge(t)
  const first = await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'once', Body: 'first', IfNoneMatch: '*' }))
  t.ok(first.ETag)
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'once', Body: 'second', IfNoneMatch: '*' })),
    { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } })
  const got = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'once' }))
  t.equal(await got.Body?.transformToString(), 'first', 'the refused PUT left the object alone')
  t.equal(got.ETag, first.ETag)
})

// S3 user guide, "How to prevent object overwrites with conditional writes", Conditional write behavior: for If-Match,
// "If there's no current object version with the same name, or if the current object version is a delete marker,
// the operation fails with a 404 Not Found error." (NoSuchKey, as moto's AWS-verified test_put_object_if_match records.)
t.test('PutObject If-Match replaces only the version with that ETag; a missing key is 404 NoSuchKey', async t => {
  const { s3, endpoint, creds } = await startBridge(t)
  const v1 = await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k', Body: 'v1' }))
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k', Body: 'stale', IfMatch: '"0123456789abcdef0123456789abcdef"' })),
    { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } })
  const v2 = await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k', Body: 'v2', IfMatch: v1.ETag }))
  t.not(v2.ETag, v1.ETag)
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k', Body: 'v3', IfMatch: v1.ETag })), { name: 'PreconditionFailed' }, 'the old ETag no longer matches')
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'k' }))).Body?.transformToString(), 'v2')
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'absent', Body: 'x', IfMatch: v1.ETag })),
    { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }, 'no current object to compare the ETag with')
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'absent', Body: 'x', IfMatch: '*' })),
    { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }, 'If-Match: * needs an existing object')
  const raw = await sendSigned(endpoint, creds, { method: 'PUT', path: '/demo/absent', headers: { 'if-match': '*' }, body: 'x' })
  t.equal(raw.status, 404)
  t.match(raw.body, /<Code>NoSuchKey<\/Code><Message>The specified key does not exist\.<\/Message><Key>absent<\/Key>/)
  t.match(raw.body, `<RequestId>${String(raw.headers['x-amz-request-id'])}</RequestId><HostId>${String(raw.headers['x-amz-id-2'])}</HostId></Error>`, 'RequestId then HostId, as AWS ends its error bodies')
  await t.rejects(s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'absent' })), { name: 'NotFound' }, 'nothing was stored')
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k', Body: 'v4', IfMatch: '*' }))
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'k' }))).Body?.transformToString(), 'v4', 'If-Match: * on an existing key')
})

// AWS accepts only "*" in If-None-Match, and one conditional header at a time: anything else is 501 NotImplemented
// naming the header (AWS's answer to an ETag in If-None-Match: aws-sdk-ruby#3144; the combined case and
// CompleteMultipartUpload's If-Match: * as LocalStack's AWS-recorded snapshots show them).
t.test('conditional writes refuse the header values AWS does not implement, before storing anything', async t => {
  const { s3, endpoint, creds } = await startBridge(t)
  const v1 = await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k', Body: 'v1' }))
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k', Body: 'v2', IfNoneMatch: '"0123456789abcdef0123456789abcdef"' })),
    { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } }, 'an ETag in If-None-Match')
  const raw = await sendSigned(endpoint, creds, { method: 'PUT', path: '/demo/new', headers: { 'if-none-match': String(v1.ETag) }, body: 'n' })
  t.equal(raw.status, 501)
  t.match(raw.body, /<Code>NotImplemented<\/Code><Message>A header you provided implies functionality that is not implemented<\/Message>/)
  t.match(raw.body, /<Header>If-None-Match<\/Header><additionalMessage>We don&apos;t accept the provided value of If-None-Match header for this API<\/additionalMessage>/)
  const both = await sendSigned(endpoint, creds, { method: 'PUT', path: '/demo/k', headers: { 'if-none-match': '*', 'if-match': String(v1.ETag) }, body: 'v3' })
  t.equal(both.status, 501)
  t.match(both.body, /<Header>If-Match,If-None-Match<\/Header><additionalMessage>Multiple conditional request headers present in the request<\/additionalMessage>/)
  await t.rejects(s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'copy', CopySource: 'demo/k', IfNoneMatch: v1.ETag })),
    { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } }, 'CopyObject takes the same destination conditions')
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'k' }))).Body?.transformToString(), 'v1', 'nothing was replaced')
  await t.rejects(s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'new' })), { name: 'NotFound' }, 'nothing was created')
  await t.rejects(s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'copy' })), { name: 'NotFound' }, 'nothing was copied')
})

t.test('CopyObject honours If-None-Match and If-Match on the destination', async t => {
  const { s3 } = await startBridge(t)
  const src = await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'src', Body: 'source' }))
  const dest = await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'dest', Body: 'dest' }))
  await t.rejects(s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'dest', CopySource: 'demo/src', IfNoneMatch: '*' })),
    { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } }, 'the destination exists')
  await t.rejects(s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'dest', CopySource: 'demo/src', IfMatch: src.ETag })),
    { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } }, 'If-Match compares the destination, not the source')
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'dest' }))).Body?.transformToString(), 'dest')
  await s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'dest', CopySource: 'demo/src', IfMatch: dest.ETag }))
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'dest' }))).Body?.transformToString(), 'source', 'If-Match with the destination ETag')
  await s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'fresh', CopySource: 'demo/src', IfNoneMatch: '*' }))
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'fresh' }))).Body?.transformToString(), 'source', 'If-None-Match: * on a new key')
})

// S3 user guide, conditional writes, "Conditional write behavior": a delete that succeeds while a conditional write is
// under way makes the write fail with 409 ConditionalRequestConflict (the client fetches the ETag again and retries).
t.test('PutObject If-Match whose object is deleted during the upload is 409 ConditionalRequestConflict', async t => {
  const { s3, bucketDir } = await startBridge(t)
  const { existsSync, readdirSync, unlinkSync } = await import('node:fs')
  const { PassThrough } = await import('node:stream')
  const v1 = await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'doc', Body: 'v1' }))
  const body = new PassThrough()
  const half = Buffer.alloc(64 * 1024, 'a')
  const putting = s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'doc', Body: body, ContentLength: half.length * 2, IfMatch: v1.ETag }))
  let settled = false
  putting.then(() => { settled = true }, () => { settled = true })
  body.write(half)
  // The first check passed once the upload is being staged; an NFS user then deletes the file.
  const staging = `${bucketDir}/.s3bridge/tmp`
  while (!settled && !(existsSync(staging) && readdirSync(staging).length > 0)) await new Promise(resolve => setTimeout(resolve, 5))
  t.notOk(settled, 'the PUT is still receiving its body')
  unlinkSync(`${bucketDir}/doc`)
  body.end(half)
  await t.rejects(putting, { name: 'ConditionalRequestConflict', $metadata: { httpStatusCode: 409 } })
  t.notOk(existsSync(`${bucketDir}/doc`), 'the refused write published nothing')
  t.same(readdirSync(staging), [], 'and left no staged file')
})

t.test('max-keys=0 lists nothing and is not truncated (v1 and v2)', async t => {
  const { s3 } = await startBridge(t)
  for (const k of ['bar', 'baz', 'foo', 'quxx']) await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: k, Body: k }))
  const v1 = await s3.send(new ListObjectsCommand({ Bucket: 'demo', MaxKeys: 0 }))
  t.equal(v1.IsTruncated, false)
  t.equal(v1.Contents, undefined)
  t.equal(v1.MaxKeys, 0)
  const v2 = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', MaxKeys: 0 }))
  t.equal(v2.IsTruncated, false)
  t.equal(v2.KeyCount, 0)
  t.equal(v2.NextContinuationToken, undefined)
  const one = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', MaxKeys: 1 }))
  t.equal(one.IsTruncated, true, 'a real page limit still truncates')
})

t.test('response-* overrides apply to signed GETs and are refused on anonymous ones', async t => {
  const { s3, endpoint } = await startBridge(t)
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'public.txt', Body: 'hello', ContentType: 'text/plain', ACL: 'public-read' }))
  const signed = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'public.txt', ResponseContentType: 'application/x-override', ResponseContentDisposition: 'attachment; filename="a.txt"', ResponseCacheControl: 'no-cache' }))
  t.equal(signed.ContentType, 'application/x-override')
  t.equal(signed.ContentDisposition, 'attachment; filename="a.txt"')
  t.equal(signed.CacheControl, 'no-cache')
  const anon = anonymousClient(endpoint, t)
  const plain = await anon.send(new GetObjectCommand({ Bucket: 'demo', Key: 'public.txt' }))
  t.equal(await plain.Body?.transformToString(), 'hello', 'the object is readable anonymously')
  await t.rejects(anon.send(new GetObjectCommand({ Bucket: 'demo', Key: 'public.txt', ResponseContentType: 'application/x-override' })),
    { name: 'InvalidRequest', $metadata: { httpStatusCode: 400 } })
})

t.test('only the null version exists: other version ids are NoSuchVersion, and deleting one leaves the object alone', async t => {
  const { s3 } = await startBridge(t)
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k', Body: 'kept' }))
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'k', VersionId: 'null' }))).Body?.transformToString(), 'kept')
  await t.rejects(s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'k', VersionId: 'v123' })), { name: 'NoSuchVersion', $metadata: { httpStatusCode: 404 } })
  await rejectsWithStatus(t, s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'k', VersionId: 'v123' })), 404, 'HEAD of another version')
  await t.rejects(s3.send(new GetObjectAclCommand({ Bucket: 'demo', Key: 'k', VersionId: 'v123' })), { name: 'NoSuchVersion' })

  const del = await s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'k', VersionId: 'v123' }))
  t.equal(del.$metadata.httpStatusCode, 204)
  const batch = await s3.send(new DeleteObjectsCommand({ Bucket: 'demo', Delete: { Objects: [{ Key: 'k', VersionId: 'v456' }] } }))
  t.same(batch.Deleted, [{ Key: 'k', VersionId: 'v456' }])
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'k' }))).Body?.transformToString(), 'kept', 'deleting another version kept the object')

  const batchNull = await s3.send(new DeleteObjectsCommand({ Bucket: 'demo', Delete: { Objects: [{ Key: 'k', VersionId: 'null' }] } }))
  t.same(batchNull.Deleted, [{ Key: 'k', VersionId: 'null' }])
  await t.rejects(s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'k' })), { name: 'NotFound' }, 'the null version is the object')
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k2', Body: 'x' }))
  await s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'k2', VersionId: 'null' }))
  await t.rejects(s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'k2' })), { name: 'NotFound' })
})

t.test('storage classes AWS names are accepted; others are InvalidStorageClass', async t => {
  const { s3 } = await startBridge(t)
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'ia', Body: 'x', StorageClass: 'STANDARD_IA' }))
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'bad', Body: 'x', StorageClass: 'FAST' as 'STANDARD' })),
    { name: 'InvalidStorageClass', $metadata: { httpStatusCode: 400 } })
  await t.rejects(s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'bad', CopySource: 'demo/ia', MetadataDirective: 'REPLACE', StorageClass: 'FAST' as 'STANDARD' })),
    { name: 'InvalidStorageClass' })
  await t.rejects(s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'bad' })), { name: 'NotFound' })
})

t.test('answers without a body carry no Content-Type (Koa would say text/plain)', async t => {
  const { endpoint, creds } = await startBridge(t)
  const put = await sendSigned(endpoint, creds, { method: 'PUT', path: '/demo/typed', body: 'x' })
  t.equal(put.status, 200)
  t.ok(put.headers.etag)
  t.equal(put.headers['content-type'], undefined)
  t.equal(put.headers['content-length'], '0')
  const acl = await sendSigned(endpoint, creds, { method: 'PUT', path: '/demo/typed?acl', headers: { 'x-amz-acl': 'private' } })
  t.equal(acl.status, 200)
  t.equal(acl.headers['content-type'], undefined)
})

t.test('GetObjectAttributes answers the attributes asked for, with GetObject\'s conditions', async t => {
  const { s3 } = await startBridge(t)
  const put = await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'a.txt', Body: 'hello', ChecksumAlgorithm: 'SHA256' }))
  const all = await s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'a.txt', ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] }))
  t.equal(all.ETag, put.ETag?.replace(/"/g, ''), 'the ETag, unquoted')
  t.equal(all.ObjectSize, 5)
  t.equal(all.StorageClass, 'STANDARD')
  t.equal(all.Checksum?.ChecksumSHA256, put.ChecksumSHA256)
  t.equal(all.ObjectParts, undefined, 'a single-part object has no parts')
  t.ok(all.LastModified instanceof Date)
  const some = await s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'a.txt', ObjectAttributes: ['ObjectSize'] }))
  t.equal(some.ObjectSize, 5)
  t.equal(some.ETag, undefined, 'only what was asked for')
  await t.rejects(s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'nope', ObjectAttributes: ['ETag'] })), { name: 'NoSuchKey' })
  await t.rejects(s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'a.txt', ObjectAttributes: ['Colour' as 'ETag'] })), { name: 'InvalidArgument' })
  await t.rejects(s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'a.txt', ObjectAttributes: [] })),
    { name: 'InvalidRequest', message: 'The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty' })

  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp' }))
  const part = await s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'mp', UploadId, PartNumber: 1, Body: 'one part' }))
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'mp', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }))
  const mp = await s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'mp', ObjectAttributes: ['ObjectParts', 'ETag'] }))
  t.equal(mp.ObjectParts?.TotalPartsCount, 1)
  t.match(mp.ETag, /-1$/)
})

t.test('GetObjectAttributes needs s3:GetObject too, as AWS documents: a policy denying reads denies the attributes (sweep 24b F2)', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'secret/pin', Body: '4711' }))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'open/a', Body: 'a' }))
  const creds = await b.addUser('bob', 2000, 2000) // the files' owner on disk: only the policy stands in the way
  await b.daemon.services.state.mutate(s => {
    s.buckets.demo!.acl.push({ name: 'bob', type: 'user', permission: 'READ' })
    s.policies['no-secret'] = { name: 'no-secret', text: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::demo/secret/*' }] }), createdAt: new Date().toISOString() }
    s.users.bob!.policies.push('no-secret')
  })
  const bob = b.client(creds)
  await t.rejects(bob.send(new GetObjectCommand({ Bucket: 'demo', Key: 'secret/pin' })), { name: 'AccessDenied' })
  await t.rejects(bob.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'secret/pin', ObjectAttributes: ['ETag', 'ObjectSize'] })), { name: 'AccessDenied' }, 'not the MD5 of what he may not read')
  const ok = await bob.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'open/a', ObjectAttributes: ['ObjectSize'] }))
  t.equal(ok.ObjectSize, 1, 'elsewhere the attributes answer')
})

t.test('GetObjectAttributes lists the parts of a multipart object with checksums, a page at a time', async t => {
  const { s3, bucketDir } = await startBridge(t)
  const MiB = 1024 * 1024
  const bodies = [Buffer.alloc(5 * MiB, 'a'), Buffer.alloc(5 * MiB, 'b'), Buffer.alloc(5 * MiB, 'c'), Buffer.from('tail')]
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'sums', ChecksumAlgorithm: 'SHA256' }))
  const sent = []
  for (const [i, Body] of bodies.entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'sums', UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm: 'SHA256' }))
    sent.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256 })
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'sums', UploadId, MultipartUpload: { Parts: sent } }))
  const expected = bodies.map((b, i) => ({ PartNumber: i + 1, Size: b.length, ChecksumSHA256: createHash('sha256').update(b).digest('base64') }))
  const all = await s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'sums', ObjectAttributes: ['ObjectParts'] }))
  t.match(all.ObjectParts, { TotalPartsCount: 4, IsTruncated: false, MaxParts: 1000, Parts: expected })
  const page1 = await s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'sums', ObjectAttributes: ['ObjectParts'], MaxParts: 3 }))
  t.match(page1.ObjectParts, { TotalPartsCount: 4, IsTruncated: true, MaxParts: 3, NextPartNumberMarker: '3', Parts: expected.slice(0, 3) })
  const page2 = await s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'sums', ObjectAttributes: ['ObjectParts'], MaxParts: 3, PartNumberMarker: '3' }))
  t.match(page2.ObjectParts, { TotalPartsCount: 4, IsTruncated: false, PartNumberMarker: '3', Parts: expected.slice(3) })
  t.equal(page2.ObjectParts?.Parts?.length, 1)
  await t.rejects(s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'sums', ObjectAttributes: ['ObjectParts'], PartNumberMarker: 'x' })), { name: 'InvalidArgument' })
  const none = await s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'sums', ObjectAttributes: ['ObjectParts'], MaxParts: 0 }))
  t.match(none.ObjectParts, { TotalPartsCount: 4, IsTruncated: false, MaxParts: 0 }, 'max-parts 0: nothing, and not truncated')
  t.equal(none.ObjectParts?.Parts, undefined)

  // Without an additional checksum AWS lists no parts, only their count.
  const plain = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'plain' }))
  const p1 = await s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'plain', UploadId: plain.UploadId, PartNumber: 1, Body: 'x' }))
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'plain', UploadId: plain.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] } }))
  const counted = await s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'plain', ObjectAttributes: ['ObjectParts'] }))
  t.same(counted.ObjectParts, { TotalPartsCount: 1 })

  // A file rewritten over NFS no longer has those parts.
  appendFileSync(join(bucketDir, 'sums'), 'more')
  t.equal((await s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'sums', ObjectAttributes: ['ObjectParts'] }))).ObjectParts, undefined)
})

t.test('SSE-S3 (AES256) is accepted; SSE-KMS and SSE-C, which a NAS file cannot honour, are 501 and store nothing', async t => {
  const { s3 } = await startBridge(t)
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'sse-s3', Body: 'x', ServerSideEncryption: 'AES256' }))
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'sse-s3' }))).Body?.transformToString(), 'x')
  const notImplemented = { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } }
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'kms', Body: 'x', ServerSideEncryption: 'aws:kms' })), notImplemented)
  await t.rejects(s3.send(new PutObjectCommand({
    Bucket: 'demo', Key: 'ssec', Body: 'x', SSECustomerAlgorithm: 'AES256', SSECustomerKey: 'k'.repeat(32),
  })), notImplemented)
  await t.rejects(s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'ssec-mp', SSECustomerAlgorithm: 'AES256', SSECustomerKey: 'k'.repeat(32) })), notImplemented)
  await t.rejects(s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'kms-copy', CopySource: 'demo/sse-s3', ServerSideEncryption: 'aws:kms' })), notImplemented)
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'odd', Body: 'x', ServerSideEncryption: 'ROT13' as 'AES256' })), { name: 'InvalidArgument' })
  for (const key of ['kms', 'ssec', 'kms-copy', 'odd']) await t.rejects(s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: key })), { name: 'NotFound' }, `${key} not stored`)
})

// API reference, PutObject response x-amz-checksum-crc32, and "Checking object integrity": a checksum the SDKs send
// as a trailer of an aws-chunked body (their default over HTTPS) is kept like one sent as a header.
t.test('a checksum sent as a trailer is verified, echoed, stored and returned with checksum mode', async t => {
  const { s3, endpoint, creds } = await startBridge(t)
  const trailered = (crc: string): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, body: string }> => sendSigned(endpoint, creds, {
    method: 'PUT',
    path: '/demo/trailed',
    headers: {
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '11',
      'x-amz-trailer': 'x-amz-checksum-crc32',
    },
    body: `b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:${crc}\r\n\r\n`,
  })
  const bad = await trailered('AAAAAA==')
  t.equal(bad.status, 400)
  t.match(bad.body, /<Code>BadDigest<\/Code>/)
  const put = await trailered('DUoRhQ==')
  t.equal(put.status, 200, put.body)
  t.equal(put.headers['x-amz-checksum-crc32'], 'DUoRhQ==', 'the PUT echoes it')
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'trailed', ChecksumMode: 'ENABLED' }))
  t.equal(head.ChecksumCRC32, 'DUoRhQ==', 'HEAD returns it')
  const attrs = await s3.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'trailed', ObjectAttributes: ['Checksum'] }))
  t.equal(attrs.Checksum?.ChecksumCRC32, 'DUoRhQ==', 'GetObjectAttributes returns it')
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'trailed' }))).Body?.transformToString(), 'hello world')
})

t.test('UploadPart echoes a checksum sent as a trailer, as it does one sent as a header', async t => {
  const { s3, endpoint, creds } = await startBridge(t)
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp-trailer' }))
  const part = await sendSigned(endpoint, creds, {
    method: 'PUT',
    path: `/demo/mp-trailer?partNumber=1&uploadId=${encodeURIComponent(UploadId ?? '')}`,
    headers: {
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '11',
      'x-amz-trailer': 'x-amz-checksum-crc32',
    },
    body: 'b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n',
  })
  t.equal(part.status, 200, part.body)
  t.equal(part.headers['x-amz-checksum-crc32'], 'DUoRhQ==')
})

// SigV4 canonicalises a header sent more than once as its values joined by "," (the AWS SigV4 test suite's
// get-header-key-duplicate); node:http joins them with ", ", and such requests were SignatureDoesNotMatch.
t.test('a signed header sent twice verifies as SigV4 canonicalises it', async t => {
  const b = await startBridge(t)
  const head = await signedHead(b.endpoint, b.creds, { method: 'PUT', path: '/demo/dup', headers: { 'x-amz-meta-d': 'a,b', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': '1', connection: 'close' } })
  t.match(head, /x-amz-meta-d: a,b\r\n/i)
  const twice = head.replace(/x-amz-meta-d: a,b\r\n/i, 'x-amz-meta-d: a\r\nx-amz-meta-d: b\r\n')
  t.match(await exchangeRaw(b.endpoint, twice + 'x'), /^HTTP\/1\.1 200 /)
  const bad = head.replace(/x-amz-meta-d: a,b\r\n/i, 'x-amz-meta-d: a\r\nx-amz-meta-d: c\r\n')
  t.match(await exchangeRaw(b.endpoint, bad + 'x'), /^HTTP\/1\.1 403 [\s\S]*SignatureDoesNotMatch/, 'other values still fail')
})
