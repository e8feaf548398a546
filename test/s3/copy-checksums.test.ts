// Checksums of copies, as AWS documents them: CopyObjectResult names the copy's whole-object checksum,
// x-amz-checksum-algorithm gives the copy a checksum of that algorithm computed from the bytes copied, and
// CopyPartResult carries the part's checksum when the upload was created with an algorithm (Complete asks for it:
// without it a checksum-enabled multipart copy could not be completed).
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand,
  PutObjectCommand, S3Client, UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'

const b64crc32 = (data: Buffer): string => {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(crc32(data) >>> 0)
  return out.toString('base64')
}
const b64 = (algorithm: 'sha1' | 'sha256', data: Buffer): string => createHash(algorithm).update(data).digest('base64')

/** A client of the same user, with these options. */
async function sameUser (endpoint: string, s3: S3Client, opts: { requestChecksumCalculation?: 'WHEN_REQUIRED' } = {}): Promise<S3Client> {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: await s3.config.credentials(), ...opts })
}

/** A client of the same user that adds these request headers (signed like the rest). */
async function withHeaders (endpoint: string, s3: S3Client, headers: Record<string, string>): Promise<S3Client> {
  const client = await sameUser(endpoint, s3)
  client.middlewareStack.add(next => async args => {
    Object.assign((args.request as { headers: Record<string, string> }).headers, headers)
    return next(args)
  }, { step: 'build', name: 'extraHeaders' })
  return client
}

// 3 MiB with a run of zero blocks in the middle, so the copy's hole-making write path is the one hashed.
function body (size = 3 * 1024 * 1024): Buffer {
  const data = randomBytes(size)
  data.fill(0, 1024 * 1024, 2 * 1024 * 1024)
  return data
}

t.test('CopyObject: the result names the checksum; x-amz-checksum-algorithm computes a new one from the bytes', async t => {
  const b = await startBridge(t)
  const data = body()
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'src', Body: data, ChecksumAlgorithm: 'CRC32' }))

  const plain = await b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'plain', CopySource: 'demo/src' }))
  t.equal(plain.CopyObjectResult?.ChecksumCRC32, b64crc32(data), 'the source\'s CRC32 travels with the copy and is named')
  t.equal(plain.CopyObjectResult?.ChecksumType, 'FULL_OBJECT')

  const sha = await b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'sha', CopySource: 'demo/src', ChecksumAlgorithm: 'SHA256' }))
  t.equal(sha.CopyObjectResult?.ChecksumSHA256, b64('sha256', data), 'SHA256 of the bytes copied')
  t.equal(sha.CopyObjectResult?.ChecksumCRC32, undefined, 'only the checksum asked for')
  const head = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'sha', ChecksumMode: 'ENABLED' }))
  t.equal(head.ChecksumSHA256, b64('sha256', data), 'stored: HEAD serves it')
  t.equal(head.ChecksumCRC32, undefined)
  t.equal(head.ChecksumType, 'FULL_OBJECT')
  // The SDK checks a GET's body against the checksum it is served.
  const got = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'sha', ChecksumMode: 'ENABLED' }))
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data), 'the bytes, validated by the SDK')
  t.equal(got.ChecksumSHA256, b64('sha256', data))

  // Metadata REPLACE: a checksum header on the copy request describes nothing that was sent and is not stored.
  const lying = await withHeaders(b.endpoint, b.s3, { 'x-amz-checksum-crc32': 'AAAAAA==' })
  t.teardown(() => lying.destroy())
  const replaced = await lying.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'replaced', CopySource: 'demo/src', MetadataDirective: 'REPLACE', ContentType: 'text/plain' }))
  t.equal(replaced.CopyObjectResult?.ChecksumCRC32, b64crc32(data), 'the bytes\' own checksum, not the header\'s')
  const head2 = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'replaced', ChecksumMode: 'ENABLED' }))
  t.equal(head2.ChecksumCRC32, b64crc32(data))
  t.equal(head2.ContentType, 'text/plain')

  // An object without a checksum copies without one.
  const bareClient = await sameUser(b.endpoint, b.s3, { requestChecksumCalculation: 'WHEN_REQUIRED' })
  t.teardown(() => bareClient.destroy())
  await bareClient.send(new PutObjectCommand({ Bucket: 'demo', Key: 'bare', Body: 'no checksum' }))
  const bare = await bareClient.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'bare2', CopySource: 'demo/bare' }))
  t.equal(bare.CopyObjectResult?.ChecksumType, undefined, 'no checksum, no type')
  t.notOk(Object.keys(bare.CopyObjectResult ?? {}).some(k => k.startsWith('Checksum')), 'no Checksum elements')
})

t.test('a copy onto itself that asks for a checksum is allowed and gives the object that checksum', async t => {
  const b = await startBridge(t)
  const data = body()
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'self', Body: data, ChecksumAlgorithm: 'CRC32' }))
  const r = await b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'self', CopySource: 'demo/self', ChecksumAlgorithm: 'SHA1' }))
  t.equal(r.CopyObjectResult?.ChecksumSHA1, b64('sha1', data))
  const head = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'self', ChecksumMode: 'ENABLED' }))
  t.equal(head.ChecksumSHA1, b64('sha1', data))
  const got = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'self' }))
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data), 'the bytes unchanged')
  // Without anything to change it is still refused, as on AWS.
  await t.rejects(b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'self', CopySource: 'demo/self' })), { name: 'InvalidRequest' })
})

t.test('an algorithm AWS does not know is 400 InvalidRequest, before anything is copied', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'src', Body: 'x' }))
  const odd = await withHeaders(b.endpoint, b.s3, { 'x-amz-checksum-algorithm': 'MD4' })
  t.teardown(() => odd.destroy())
  await t.rejects(odd.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'dst', CopySource: 'demo/src' })),
    { name: 'InvalidRequest', message: /Checksum algorithm provided is unsupported/, $metadata: { httpStatusCode: 400 } })
  await t.rejects(b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'dst' })), { name: 'NotFound' }, 'no copy made')
})

t.test('UploadPartCopy into an upload with a checksum algorithm returns the part\'s checksum, and Complete takes it', async t => {
  const b = await startBridge(t)
  const data = body(6 * 1024 * 1024)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'src', Body: data }))
  const { UploadId } = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp', ChecksumAlgorithm: 'CRC32' }))
  const first = 5 * 1024 * 1024 // the least a part but the last may be
  const ranges = [[0, first - 1], [first, data.length - 1]] as const
  const parts = []
  for (const [i, [from, to]] of ranges.entries()) {
    const r = await b.s3.send(new UploadPartCopyCommand({ Bucket: 'demo', Key: 'mp', UploadId, PartNumber: i + 1, CopySource: 'demo/src', CopySourceRange: `bytes=${from}-${to}` }))
    t.equal(r.CopyPartResult?.ChecksumCRC32, b64crc32(data.subarray(from, to + 1)), `part ${i + 1}: CRC32 of its bytes`)
    parts.push({ PartNumber: i + 1, ETag: r.CopyPartResult?.ETag, ChecksumCRC32: r.CopyPartResult?.ChecksumCRC32 })
  }
  const done = await b.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'mp', UploadId, MultipartUpload: { Parts: parts } }))
  const composite = b64crc32(Buffer.concat(parts.map(p => Buffer.from(p.ChecksumCRC32!, 'base64')))) + '-2'
  t.equal(done.ChecksumCRC32, composite, 'the composite checksum of the copied parts')
  const got = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'mp' }))
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data))

  // An upload without an algorithm: no checksum in CopyPartResult, as before.
  const plain = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp2' }))
  const r = await b.s3.send(new UploadPartCopyCommand({ Bucket: 'demo', Key: 'mp2', UploadId: plain.UploadId, PartNumber: 1, CopySource: 'demo/src' }))
  t.notOk(Object.keys(r.CopyPartResult ?? {}).some(k => k.startsWith('Checksum')))
})
