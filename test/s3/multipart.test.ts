// Multipart calls through @aws-sdk/client-s3: create, parts, copy parts, list, complete, abort, and reading a part.
import t from 'tap'
import { createHasher } from '../../lib/auth/checksums.js'
import { createHash, randomBytes } from 'node:crypto'
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand,
  HeadObjectCommand, ListMultipartUploadsCommand, ListPartsCommand, PutObjectCommand, UploadPartCommand,
  UploadPartCopyCommand, type S3Client,
} from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { join } from 'node:path'
import { getAttribute, setAttribute } from '../../lib/storage/xattr.js'

const MiB = 1024 * 1024

async function create (s3: S3Client, key: string): Promise<string> {
  const r = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: key }))
  return r.UploadId ?? ''
}

async function part (s3: S3Client, key: string, uploadId: string, n: number, body: Buffer): Promise<string> {
  const r = await s3.send(new UploadPartCommand({ Bucket: 'demo', Key: key, UploadId: uploadId, PartNumber: n, Body: body }))
  return r.ETag ?? ''
}

function md5 (b: Buffer): string {
  return createHash('md5').update(b).digest('hex')
}

t.test('CreateMultipartUpload, UploadPart, paginated ListParts and Complete publish the object with an md5-of-md5s ETag', async t => {
  const { s3 } = await startBridge(t)
  const create = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp/file.bin', ContentType: 'text/x-parts', Metadata: { kind: 'manual' } }))
  t.equal(create.Bucket, 'demo')
  t.equal(create.Key, 'mp/file.bin')
  const uploadId = create.UploadId ?? ''
  t.match(uploadId, /^[0-9a-f]{12}[A-Za-z0-9_-]{32}$/)
  const bodies = [randomBytes(5 * MiB), randomBytes(5 * MiB), Buffer.from('tail')]
  const etags = []
  for (const [i, b] of bodies.entries()) etags.push(await part(s3, 'mp/file.bin', uploadId, i + 1, b))
  t.same(etags, bodies.map(b => `"${md5(b)}"`), 'each part ETag is the MD5 of its bytes')

  const page1 = await s3.send(new ListPartsCommand({ Bucket: 'demo', Key: 'mp/file.bin', UploadId: uploadId, MaxParts: 2 }))
  t.same(page1.Parts?.map(p => [p.PartNumber, p.Size, p.ETag]), [[1, 5 * MiB, etags[0]], [2, 5 * MiB, etags[1]]])
  t.equal(page1.IsTruncated, true)
  t.equal(page1.NextPartNumberMarker, '2')
  t.equal(page1.Initiator?.DisplayName, 'tester')
  const page2 = await s3.send(new ListPartsCommand({ Bucket: 'demo', Key: 'mp/file.bin', UploadId: uploadId, MaxParts: 2, PartNumberMarker: page1.NextPartNumberMarker }))
  t.same(page2.Parts?.map(p => p.PartNumber), [3])
  t.equal(page2.IsTruncated, false)

  const done = await s3.send(new CompleteMultipartUploadCommand({
    Bucket: 'demo', Key: 'mp/file.bin', UploadId: uploadId,
    MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
  }))
  const expected = createHash('md5').update(Buffer.concat(bodies.map(b => createHash('md5').update(b).digest()))).digest('hex') + '-3'
  t.equal(done.ETag, `"${expected}"`)
  t.equal(done.Bucket, 'demo')
  t.equal(done.Key, 'mp/file.bin')
  t.match(done.Location, /^http:\/\/127\.0\.0\.1:\d+\/demo\/mp\/file\.bin$/)
  const got = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'mp/file.bin' }))
  t.ok(Buffer.from(await got.Body?.transformToByteArray() ?? []).equals(Buffer.concat(bodies)))
  t.equal(got.ContentType, 'text/x-parts')
  t.same(got.Metadata, { kind: 'manual' })

  const again = await s3.send(new CompleteMultipartUploadCommand({
    Bucket: 'demo', Key: 'mp/file.bin', UploadId: uploadId,
    MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
  }))
  t.equal(again.ETag, done.ETag, 'a retried Complete answers with the same ETag')
  await t.rejects(s3.send(new CompleteMultipartUploadCommand({
    Bucket: 'demo', Key: 'mp/file.bin', UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etags[0] }] },
  })), { name: 'NoSuchUpload' }, 'a different part list after completion is not a retry')
  await t.rejects(s3.send(new ListPartsCommand({ Bucket: 'demo', Key: 'mp/file.bin', UploadId: uploadId })), { name: 'NoSuchUpload' })
})

t.test('Complete refuses small parts, unknown ETags and unordered lists, and keeps the upload', async t => {
  const { s3 } = await startBridge(t)
  const key = 'bad.bin'
  const uploadId = await create(s3, key)
  const e1 = await part(s3, key, uploadId, 1, Buffer.from('small one'))
  const e2 = await part(s3, key, uploadId, 2, Buffer.from('small two'))
  const complete = (parts: Array<{ PartNumber: number, ETag: string }>): Promise<unknown> =>
    s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }))
  await t.rejects(complete([{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }]), { name: 'EntityTooSmall' })
  await t.rejects(complete([{ PartNumber: 1, ETag: e2 }]), { name: 'InvalidPart' }, 'an ETag that is not the part\'s')
  await t.rejects(complete([{ PartNumber: 3, ETag: e1 }]), { name: 'InvalidPart' }, 'a part never uploaded')
  await t.rejects(complete([{ PartNumber: 2, ETag: e2 }, { PartNumber: 1, ETag: e1 }]), { name: 'InvalidPartOrder' })
  const parts = await s3.send(new ListPartsCommand({ Bucket: 'demo', Key: key, UploadId: uploadId }))
  t.equal(parts.Parts?.length, 2, 'the upload survives failed Completes')
  const single = await complete([{ PartNumber: 2, ETag: e2 }])
  t.match(single, { ETag: /-1"$/ }, 'a single small part is a valid last part')
})

t.test('Abort removes the upload: parts, lists and Complete then answer NoSuchUpload', async t => {
  const { s3, bucketDir } = await startBridge(t)
  const uploadId = await create(s3, 'gone.bin')
  const etag = await part(s3, 'gone.bin', uploadId, 1, Buffer.from('x'))
  await s3.send(new AbortMultipartUploadCommand({ Bucket: 'demo', Key: 'gone.bin', UploadId: uploadId }))
  await t.rejects(part(s3, 'gone.bin', uploadId, 2, Buffer.from('y')), { name: 'NoSuchUpload' })
  await t.rejects(s3.send(new ListPartsCommand({ Bucket: 'demo', Key: 'gone.bin', UploadId: uploadId })), { name: 'NoSuchUpload' })
  await t.rejects(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'gone.bin', UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] } })), { name: 'NoSuchUpload' })
  await t.rejects(s3.send(new AbortMultipartUploadCommand({ Bucket: 'demo', Key: 'gone.bin', UploadId: uploadId })), { name: 'NoSuchUpload' })
  const { readdirSync } = await import('node:fs')
  t.same(readdirSync(`${bucketDir}/.s3bridge/uploads`), [], 'the upload folder is gone')
})

t.test('malformed upload ids, another key and bad part numbers are refused', async t => {
  const { s3 } = await startBridge(t)
  const uploadId = await create(s3, 'k1')
  await t.rejects(part(s3, 'k1', '../../etc', 1, Buffer.from('x')), { name: 'NoSuchUpload' })
  await t.rejects(part(s3, 'k1', uploadId.slice(0, -1) + '.', 1, Buffer.from('x')), { name: 'NoSuchUpload' })
  await t.rejects(part(s3, 'k2', uploadId, 1, Buffer.from('x')), { name: 'NoSuchUpload' }, 'the upload belongs to another key')
  await t.rejects(part(s3, 'k1', uploadId, 0, Buffer.from('x')), { name: 'InvalidArgument', message: 'Part number must be an integer between 1 and 10000, inclusive' })
  await t.rejects(part(s3, 'k1', uploadId, 10001, Buffer.from('x')), { name: 'InvalidArgument' })
  await t.rejects(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'k1', UploadId: uploadId, MultipartUpload: { Parts: [] } })), { name: 'MalformedXML' })
})

t.test('ListMultipartUploads filters by prefix, groups by delimiter and pages with markers', async t => {
  const { s3 } = await startBridge(t)
  const ids: Record<string, string> = {}
  for (const key of ['logs/2024/a', 'logs/2024/b', 'logs/2025/c', 'logs/x', 'other']) ids[key] = await create(s3, key)
  const second = await create(s3, 'logs/x')
  const grouped = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'demo', Prefix: 'logs/', Delimiter: '/' }))
  t.same(grouped.Uploads?.map(u => [u.Key, u.UploadId]), [['logs/x', ids['logs/x']], ['logs/x', second]], 'uploads of one key in initiation order')
  t.same(grouped.CommonPrefixes?.map(p => p.Prefix), ['logs/2024/', 'logs/2025/'])
  t.equal(grouped.IsTruncated, false)
  t.equal(grouped.Uploads?.[0]?.Initiator?.DisplayName, 'tester')
  t.ok(grouped.Uploads?.[0]?.Initiated instanceof Date)

  const seen: string[] = []
  let keyMarker: string | undefined
  let uploadIdMarker: string | undefined
  for (let i = 0; i < 10; i++) {
    const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'demo', MaxUploads: 2, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }))
    seen.push(...(page.Uploads ?? []).map(u => u.Key ?? ''))
    if (!page.IsTruncated) break
    keyMarker = page.NextKeyMarker
    uploadIdMarker = page.NextUploadIdMarker
  }
  t.same(seen, ['logs/2024/a', 'logs/2024/b', 'logs/2025/c', 'logs/x', 'logs/x', 'other'], 'pages of 2 visit every upload once')
})

t.test('UploadPartCopy copies byte ranges of an object into parts, and GetObject serves a part by number', async t => {
  const { s3, bucketDir } = await startBridge(t)
  const source = randomBytes(12 * MiB)
  const put = await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'src.bin', Body: source }))
  const uploadId = await create(s3, 'copied.bin')
  const cut = 5 * MiB
  const copy1 = await s3.send(new UploadPartCopyCommand({ Bucket: 'demo', Key: 'copied.bin', UploadId: uploadId, PartNumber: 1, CopySource: 'demo/src.bin', CopySourceRange: `bytes=0-${cut - 1}` }))
  t.equal(copy1.CopyPartResult?.ETag, `"${md5(source.subarray(0, cut))}"`)
  t.ok(copy1.CopyPartResult?.LastModified instanceof Date)
  await t.rejects(s3.send(new UploadPartCopyCommand({ Bucket: 'demo', Key: 'copied.bin', UploadId: uploadId, PartNumber: 2, CopySource: 'demo/src.bin', CopySourceIfMatch: '"0000"' })), { name: 'PreconditionFailed' })
  const badRange = (range: string): Promise<unknown> => s3.send(new UploadPartCopyCommand({ Bucket: 'demo', Key: 'copied.bin', UploadId: uploadId, PartNumber: 2, CopySource: 'demo/src.bin', CopySourceRange: range }))
  await t.rejects(badRange(`bytes=0-${source.length}`), { name: 'InvalidArgument', message: `Range specified is not valid for source object of size: ${source.length}` }, 'an end past the source')
  await t.rejects(badRange(`bytes=${source.length}-${source.length + 1}`), { name: 'InvalidRequest', message: 'The specified copy range is invalid for the source object size' }, 'a start past the source')
  await t.rejects(badRange('bytes=5-2'), { name: 'InvalidArgument', message: /must be of the form bytes=first-last/ }, 'first after last')
  const copy2 = await s3.send(new UploadPartCopyCommand({ Bucket: 'demo', Key: 'copied.bin', UploadId: uploadId, PartNumber: 2, CopySource: 'demo/src.bin', CopySourceRange: `bytes=${cut}-${source.length - 1}`, CopySourceIfMatch: put.ETag }))
  await s3.send(new CompleteMultipartUploadCommand({
    Bucket: 'demo', Key: 'copied.bin', UploadId: uploadId,
    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: copy1.CopyPartResult?.ETag }, { PartNumber: 2, ETag: copy2.CopyPartResult?.ETag }] },
  }))
  const whole = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'copied.bin' }))
  t.ok(Buffer.from(await whole.Body?.transformToByteArray() ?? []).equals(source), 'the copied parts make the source again')

  const second = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'copied.bin', PartNumber: 2 }))
  t.ok(Buffer.from(await second.Body?.transformToByteArray() ?? []).equals(source.subarray(cut)))
  t.equal(second.PartsCount, 2)
  t.equal(second.ContentRange, `bytes ${cut}-${source.length - 1}/${source.length}`)
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'copied.bin', PartNumber: 1 }))
  t.equal(head.ContentLength, cut)
  t.equal(head.PartsCount, 2)
  await t.rejects(s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'copied.bin', PartNumber: 3 })), { name: 'InvalidPartNumber' })
  await t.rejects(s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'copied.bin', PartNumber: 1, Range: 'bytes=0-1' })), { name: 'InvalidRequest' })

  const plain = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'src.bin', PartNumber: 1 }))
  t.equal(plain.ContentLength, source.length, 'part 1 of a single-part object is the whole object')
  t.equal((await plain.Body?.transformToByteArray())?.length, source.length)
  t.equal(plain.PartsCount, undefined)
  t.equal(plain.$metadata.httpStatusCode, 206, 'a ranged read, as AWS answers it')
  t.equal(plain.ContentRange, `bytes 0-${source.length - 1}/${source.length}`)
  const plainHead = await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'src.bin', PartNumber: 1 }))
  t.equal(plainHead.$metadata.httpStatusCode, 206)
  t.equal(plainHead.ContentLength, source.length)

  // The part table is a user.* xattr the file's writers can rewrite: one that does not add up to the file is not used.
  const file = join(bucketDir, 'copied.bin')
  const meta = JSON.parse((await getAttribute(file, 'user.s3bridge.meta')).toString('utf8'))
  await setAttribute(file, 'user.s3bridge.meta', Buffer.from(JSON.stringify({ ...meta, parts: [[source.length * 4, 2]] })))
  await t.rejects(s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'copied.bin', PartNumber: 2 })), { name: 'NotImplemented' }, 'a forged table promises no bytes past the end')
})

// API reference, CompleteMultipartUpload request headers: If-None-Match "Uploads the object only if the object key name
// does not already exist in the bucket specified. Otherwise, Amazon S3 returns a 412 Precondition Failed error."; If-Match
// "If the ETag values do not match, the operation returns a 412 Precondition Failed error." Only a 409
// ConditionalRequestConflict asks the client to re-initiate the upload: a 412 leaves it to be completed or aborted.
// A missing key with If-Match is 404 NoSuchKey (user guide, conditional-writes.html, "Conditional write behavior").
t.test('Complete honours If-None-Match and If-Match against the current object, and a refusal keeps the upload', async t => {
  const { s3 } = await startBridge(t)
  const key = 'cond.bin'
  const v1 = await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: key, Body: 'v1' }))
  const uploadId = await create(s3, key)
  const etag = await part(s3, key, uploadId, 1, Buffer.from('assembled'))
  const complete = (cond: { IfMatch?: string, IfNoneMatch?: string }, k = key, id = uploadId, e = etag): Promise<{ ETag?: string }> =>
    s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: k, UploadId: id, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e }] }, ...cond }))
  const current = async (k = key): Promise<string | undefined> => (await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: k }))).Body?.transformToString()

  await t.rejects(complete({ IfNoneMatch: '*' }), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } }, 'the key exists')
  // Values AWS does not implement (LocalStack's AWS-recorded snapshots): 501 NotImplemented, and the upload stays.
  await t.rejects(complete({ IfNoneMatch: v1.ETag }), { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } }, 'an ETag in If-None-Match')
  await t.rejects(complete({ IfMatch: '*' }), { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } }, 'If-Match: * on Complete')
  await t.rejects(complete({ IfMatch: v1.ETag, IfNoneMatch: '*' }), { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } }, 'both headers')
  await t.rejects(complete({ IfMatch: '"0123456789abcdef0123456789abcdef"' }), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } }, 'another ETag')
  t.equal(await current(), 'v1', 'the refused Completes left the object alone')
  const parts = await s3.send(new ListPartsCommand({ Bucket: 'demo', Key: key, UploadId: uploadId }))
  t.same(parts.Parts?.map(p => p.ETag), [etag], 'the upload survives a failed condition')
  const done = await complete({ IfMatch: v1.ETag })
  t.match(done.ETag, /-1"$/)
  t.equal(await current(), 'assembled', 'If-Match with the current ETag completes')

  const missing = 'absent.bin'
  const id2 = await create(s3, missing)
  const etag2 = await part(s3, missing, id2, 1, Buffer.from('new'))
  await t.rejects(complete({ IfMatch: v1.ETag }, missing, id2, etag2), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }, 'If-Match with no object')
  await t.rejects(s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: missing })), { name: 'NotFound' }, 'nothing was published')
  await complete({ IfNoneMatch: '*' }, missing, id2, etag2)
  t.equal(await current(missing), 'new', 'If-None-Match: * completes when the key does not exist, with the same upload')
})

t.test('Complete checks If-None-Match again when the assembled object is published', async t => {
  const { s3, bucketDir } = await startBridge(t)
  const { existsSync, readdirSync, writeFileSync } = await import('node:fs')
  const key = 'late.bin'
  const uploadId = await create(s3, key)
  const bodies = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(5 * MiB)]
  const etags = []
  for (const [i, b] of bodies.entries()) etags.push(await part(s3, key, uploadId, i + 1, b))
  const lockDir = `${bucketDir}/.s3bridge/uploads/${uploadId}.completing`
  const completing = s3.send(new CompleteMultipartUploadCommand({
    Bucket: 'demo', Key: key, UploadId: uploadId, IfNoneMatch: '*',
    MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
  }))
  // The daemon runs in this process: polling once per event-loop turn sees the assembly start (the key was absent
  // at the first check) well before the parts are copied, and a file then appears as an NFS client would make it.
  let settled = false
  completing.then(() => { settled = true }, () => { settled = true })
  let raced = false
  while (!raced && !settled) {
    await new Promise(resolve => setImmediate(resolve))
    if (existsSync(lockDir) && readdirSync(lockDir).some(n => n.startsWith('assembled-'))) {
      writeFileSync(`${bucketDir}/${key}`, 'written meanwhile')
      raced = true
    }
  }
  t.ok(raced, 'the file was written while the parts were being assembled')
  await t.rejects(completing, { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } })
  const got = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: key }))
  t.equal(got.ContentLength, 'written meanwhile'.length, 'the file written meanwhile was not replaced')
  const parts = await s3.send(new ListPartsCommand({ Bucket: 'demo', Key: key, UploadId: uploadId }))
  t.equal(parts.Parts?.length, 3, 'the upload is back for a retry or an abort')
  t.same(readdirSync(lockDir.replace(/\/[^/]+$/, '')).filter(n => n.includes(uploadId)), [uploadId], 'no assembled file left behind')
})

// S3 user guide, "Checking object integrity", multipart uploads: an upload created with a checksum algorithm keeps
// each part's checksum (ListParts), needs them all in Complete, and gives the object a COMPOSITE checksum: the
// checksum of the parts' binary checksums, then "-N".
t.test('a multipart upload created with ChecksumAlgorithm SHA256 keeps part checksums and a COMPOSITE object checksum', async t => {
  const { s3 } = await startBridge(t)
  const key = 'summed.bin'
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: key, ChecksumAlgorithm: 'SHA256' }))
  t.equal(created.ChecksumAlgorithm, 'SHA256')
  t.equal(created.ChecksumType, 'COMPOSITE')
  const UploadId = created.UploadId
  const bodies = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(1234)]
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('base64')
  const parts: Array<{ PartNumber: number, ETag?: string, ChecksumSHA256?: string }> = []
  for (const [i, Body] of bodies.entries()) {
    // Part 2 without a checksum from the client: the bridge computes it.
    const up = await s3.send(new UploadPartCommand({ Bucket: 'demo', Key: key, UploadId, PartNumber: i + 1, Body, ...(i === 1 ? {} : { ChecksumAlgorithm: 'SHA256' as const }) }))
    t.equal(up.ChecksumSHA256, sha(Body), `part ${i + 1}'s checksum is echoed`)
    parts.push({ PartNumber: i + 1, ETag: up.ETag, ChecksumSHA256: up.ChecksumSHA256 })
  }
  const listed = await s3.send(new ListPartsCommand({ Bucket: 'demo', Key: key, UploadId }))
  t.equal(listed.ChecksumAlgorithm, 'SHA256')
  t.same(listed.Parts?.map(p => p.ChecksumSHA256), bodies.map(sha), 'ListParts shows each part\'s checksum')
  const complete = (Parts: typeof parts): Promise<{ ChecksumSHA256?: string, ChecksumType?: string }> =>
    s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: key, UploadId, MultipartUpload: { Parts } }))
  await t.rejects(complete(parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag }))), {
    name: 'InvalidRequest',
    message: 'The upload was created using a sha256 checksum. The complete request must include the checksum for each part. It was missing for part 1 in the request.',
  })
  await t.rejects(complete(parts.map((p, i) => i === 2 ? { ...p, ChecksumSHA256: sha(Buffer.from('other')) } : p)), { name: 'InvalidPart' }, 'a wrong part checksum')
  const done = await complete(parts)
  const composite = `${createHash('sha256').update(Buffer.concat(bodies.map(b => createHash('sha256').update(b).digest()))).digest('base64')}-3`
  t.equal(done.ChecksumSHA256, composite, 'Complete answers the COMPOSITE checksum')
  t.equal(done.ChecksumType, 'COMPOSITE')
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: key, ChecksumMode: 'ENABLED' }))
  t.equal(head.ChecksumSHA256, composite, 'HEAD with checksum mode returns it')
  t.equal(head.ChecksumType, 'COMPOSITE')
  const got = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: key, ChecksumMode: 'ENABLED' }))
  t.ok(Buffer.from(await got.Body?.transformToByteArray() ?? []).equals(Buffer.concat(bodies)), 'the object reads back whole')
  const { CopyObjectCommand } = await import('@aws-sdk/client-s3')
  await s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'copy.bin', CopySource: `demo/${key}` }))
  const copied = await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'copy.bin', ChecksumMode: 'ENABLED' }))
  t.equal(copied.ChecksumSHA256, undefined, 'a copy, which has no parts, does not inherit the composite checksum')
})

// FULL_OBJECT checksums (S3 user guide, "Checking object integrity"): the CRC of the whole object, which S3 combines
// from the parts' CRCs; CRC64NVME uploads are always FULL_OBJECT, CRC32/CRC32C when asked.
t.test('FULL_OBJECT multipart checksums: CRC64NVME and CRC32 combined from the parts, checked against the one sent', async t => {
  const { s3 } = await startBridge(t)
  const bodies = [randomBytes(5 * MiB), randomBytes(5 * MiB + 17), randomBytes(999)]
  const whole = Buffer.concat(bodies)
  const crc = async (algorithm: 'crc32' | 'crc64nvme', b: Buffer): Promise<string> => {
    const h = createHasher(algorithm)
    h.update(b)
    return h.digestBase64()
  }
  for (const [algorithm, sdkName, typeAsked] of [['crc64nvme', 'CRC64NVME', undefined], ['crc32', 'CRC32', 'FULL_OBJECT']] as const) {
    const key = `full-${algorithm}.bin`
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: key, ChecksumAlgorithm: sdkName, ...(typeAsked ? { ChecksumType: typeAsked } : {}) }))
    t.equal(created.ChecksumAlgorithm, sdkName)
    t.equal(created.ChecksumType, 'FULL_OBJECT', `${sdkName} upload is FULL_OBJECT`)
    const UploadId = created.UploadId
    const parts: Array<{ PartNumber: number, ETag?: string }> = []
    for (const [i, Body] of bodies.entries()) {
      const up = await s3.send(new UploadPartCommand({ Bucket: 'demo', Key: key, UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm: sdkName }))
      parts.push({ PartNumber: i + 1, ETag: up.ETag })
    }
    const listed = await s3.send(new ListPartsCommand({ Bucket: 'demo', Key: key, UploadId }))
    t.equal(listed.ChecksumType, 'FULL_OBJECT')
    const field = algorithm === 'crc32' ? 'ChecksumCRC32' : 'ChecksumCRC64NVME'
    const expected = await crc(algorithm, whole)
    // A wrong full-object checksum is refused and the upload stays for a retry.
    await t.rejects(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: key, UploadId, MultipartUpload: { Parts: parts }, ChecksumType: 'FULL_OBJECT', [field]: await crc(algorithm, Buffer.from('other')) })),
      { name: 'BadDigest', message: `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.` })
    await t.rejects(s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: key })), { name: 'NotFound' }, 'nothing was published')
    // Part checksums are optional in a FULL_OBJECT Complete; the right full-object checksum is accepted.
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: key, UploadId, MultipartUpload: { Parts: parts }, ChecksumType: 'FULL_OBJECT', [field]: expected }))
    t.equal(done[field], expected, 'Complete answers the CRC of the whole object')
    t.equal(done.ChecksumType, 'FULL_OBJECT')
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: key, ChecksumMode: 'ENABLED' }))
    t.equal(head[field], expected, 'HEAD with checksum mode returns it')
    t.equal(head.ChecksumType, 'FULL_OBJECT')
    const got = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: key, ChecksumMode: 'ENABLED' }))
    t.ok(Buffer.from(await got.Body?.transformToByteArray() ?? []).equals(whole), 'the object reads back whole (and the SDK validated its checksum)')
  }
  await t.rejects(s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'x', ChecksumAlgorithm: 'SHA256', ChecksumType: 'FULL_OBJECT' })),
    { name: 'InvalidRequest', message: 'The FULL_OBJECT checksum type cannot be used with the sha256 checksum algorithm.' })
  await t.rejects(s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'x', ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'COMPOSITE' })),
    { name: 'InvalidRequest' })
})
