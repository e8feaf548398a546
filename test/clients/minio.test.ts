// minio-js against a real bridge: bucket life cycle, small and 64 MiB objects, listing, ranges, copy,
// batch delete, presigned URLs fetched without the SDK, and the S3 error codes the library surfaces.
import t from 'tap'
import type { Test } from 'tap'
import * as Minio from 'minio'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { startBridge, type Bridge, type Credentials } from '../fixtures/daemon.js'
import { hashTree, sha256 } from '../fixtures/clients/run-client.js'

const MiB = 1024 * 1024

interface MinioSetup { mc: Minio.Client, minio (creds: Credentials, opts?: { partSize?: number }): Minio.Client, work: string }

/** A bridge, a minio-js client for its user, and a scratch folder beside the bridge's own directory. */
async function setup (t: Test): Promise<Bridge & MinioSetup> {
  const bridge = await startBridge(t)
  const port = Number(new URL(bridge.endpoint).port)
  const minio = (creds: Credentials, opts: { partSize?: number } = {}): Minio.Client => new Minio.Client({
    endPoint: '127.0.0.1', port, useSSL: false, accessKey: creds.accessKeyId, secretKey: creds.secretAccessKey,
    region: 'us-east-1', pathStyle: true, ...opts,
  })
  const work = join(bridge.dir, 'client')
  mkdirSync(work, { recursive: true })
  return { ...bridge, mc: minio(bridge.creds), minio, work }
}

async function readAll (stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const chunk of stream) parts.push(chunk as Buffer)
  return Buffer.concat(parts)
}

async function sha256Stream (stream: Readable): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of stream) h.update(chunk as Buffer)
  return h.digest('hex')
}

function collect<T> (stream: NodeJS.ReadableStream): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = []
    stream.on('data', (item: T) => items.push(item))
    stream.on('error', reject)
    stream.on('end', () => resolve(items))
  })
}

/** The S3 error code minio-js put on a rejected call, or 'no error'. */
async function codeOf (p: Promise<unknown>): Promise<string> {
  try {
    const v = await p
    if (v instanceof Readable) v.destroy()
    return 'no error'
  } catch (err) {
    return String((err as { code?: unknown }).code)
  }
}

const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex')
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

t.jobs = 3

t.test('makeBucket creates a directory under rootPath, bucketExists sees it, removeBucket removes both', async t => {
  const { mc, config } = await setup(t)
  t.equal(await mc.bucketExists('made-by-minio'), false, 'not there before')
  await mc.makeBucket('made-by-minio', 'us-east-1')
  t.equal(await mc.bucketExists('made-by-minio'), true)
  const dir = join(config.rootPath, 'made-by-minio')
  t.ok(statSync(dir).isDirectory(), 'CreateBucket made a directory under rootPath')
  t.equal(statSync(dir).uid, 2000, 'owned by the creating user')
  t.ok((await mc.listBuckets()).some(b => b.name === 'made-by-minio'), 'listBuckets includes it')
  t.equal(await codeOf(mc.makeBucket('made-by-minio', 'us-east-1')), 'BucketAlreadyOwnedByYou')
  await mc.putObject('made-by-minio', 'x.txt', 'x')
  t.equal(await codeOf(mc.removeBucket('made-by-minio')), 'BucketNotEmpty')
  await mc.removeObject('made-by-minio', 'x.txt')
  await mc.removeBucket('made-by-minio')
  t.equal(await mc.bucketExists('made-by-minio'), false, 'gone after removeBucket')
  t.notOk(existsSync(dir), 'the directory S3 created is removed')
})

t.test('putObject from a stream and a buffer, getObject, fPutObject, fGetObject and statObject round-trip small objects', async t => {
  const { mc, work, bucketDir } = await setup(t)
  const data = randomBytes(100 * 1024 + 3)
  const put = await mc.putObject('demo', 'small/stream.bin', Readable.from([data.subarray(0, 5000), data.subarray(5000)]), data.length,
    { 'Content-Type': 'application/x-test', 'X-Amz-Meta-Color': 'blue' })
  t.equal(put.etag, md5(data), 'the ETag of a single PUT is the MD5 of the body')
  t.equal(sha256(readFileSync(join(bucketDir, 'small/stream.bin'))), sha256(data), 'the file in the bucket directory matches')
  t.equal(sha256(await readAll(await mc.getObject('demo', 'small/stream.bin'))), sha256(data), 'getObject returns the same bytes')
  const stat = await mc.statObject('demo', 'small/stream.bin')
  t.match(stat, { size: data.length, etag: md5(data), metaData: { 'content-type': 'application/x-test', color: 'blue' } })
  t.ok(stat.lastModified instanceof Date && Math.abs(stat.lastModified.getTime() - Date.now()) < 60_000, 'lastModified is now')

  await mc.putObject('demo', 'small/buffer.txt', Buffer.from('hello minio\n'))
  t.equal((await readAll(await mc.getObject('demo', 'small/buffer.txt'))).toString(), 'hello minio\n')
  await mc.putObject('demo', 'small/empty', Buffer.alloc(0))
  t.equal((await mc.statObject('demo', 'small/empty')).size, 0, 'an empty object')

  writeFileSync(join(work, 'up.txt'), 'from a file\n'.repeat(1000))
  await mc.fPutObject('demo', 'small/file.txt', join(work, 'up.txt'), { 'Content-Type': 'text/plain' })
  await mc.fGetObject('demo', 'small/file.txt', join(work, 'down.txt'))
  t.equal(sha256(readFileSync(join(work, 'down.txt'))), sha256(readFileSync(join(work, 'up.txt'))))
  t.equal((await mc.statObject('demo', 'small/file.txt')).metaData['content-type'], 'text/plain')
})

t.test('a 64 MiB object goes up in 16 MiB multipart parts from a stream and from a file, and down intact', async t => {
  const { minio, creds, work, bucketDir } = await setup(t)
  // A 16 MiB part size makes minio-js use multipart for 64 MiB (its default of 64 MiB would not).
  const mc = minio(creds, { partSize: 16 * MiB })
  const file = join(work, 'big.bin')
  const data = randomBytes(64 * MiB)
  writeFileSync(file, data)
  const want = sha256(data)
  const put = await mc.putObject('demo', 'big/stream.bin', createReadStream(file, { highWaterMark: MiB }), data.length)
  t.match(put.etag, /^[0-9a-f]{32}-4$/, 'a multipart ETag with 4 parts')
  t.equal(sha256(readFileSync(join(bucketDir, 'big/stream.bin'))), want, 'the file in the bucket directory matches')
  t.same(await collect(mc.listIncompleteUploads('demo', '', true)), [], 'no upload is left open')

  await mc.fPutObject('demo', 'big/file.bin', file)
  const stat = await mc.statObject('demo', 'big/file.bin')
  t.equal(stat.size, data.length)
  t.match(stat.etag, /-4$/)
  await mc.fGetObject('demo', 'big/file.bin', join(work, 'big.down'))
  t.equal(sha256(readFileSync(join(work, 'big.down'))), want, 'fGetObject writes the same bytes')
  t.equal(await sha256Stream(await mc.getObject('demo', 'big/stream.bin')), want, 'getObject streams the same bytes')
  // A finished upload leaves only its tombstone (<uploadId>.done, so a retried Complete gets the same answer).
  t.same(Object.keys(hashTree(bucketDir)).filter(p => !/^\.s3bridge\/uploads\/[^/]+\.done$/.test(p)), ['big/file.bin', 'big/stream.bin'],
    'no staged part is left in the bucket')
})

t.test('listObjectsV2 lists nested and unicode keys by prefix, with and without recursion, in byte order', async t => {
  const { mc } = await setup(t)
  const keys = ['top.txt', 'a/one.txt', 'a/b/two.txt', 'a/b/c/three.txt', 'a/ünï cöde.txt', 'a/日本語/ファイル.txt',
    'a/with space.txt', 'a/plus+%.txt', 'b/emoji-🚀.txt', 'z.txt']
  for (const k of keys) await mc.putObject('demo', k, Buffer.from(k))
  const all = await collect<Minio.BucketItem>(mc.listObjectsV2('demo', '', true))
  t.same(all.map(i => i.name), [...keys].sort(byteOrder), 'every key, recursively, in byte order')
  t.equal(all.find(i => i.name === 'a/日本語/ファイル.txt')?.size, Buffer.byteLength('a/日本語/ファイル.txt'))
  const top = await collect<Minio.BucketItem>(mc.listObjectsV2('demo', '', false))
  t.same(top.filter(i => i.prefix !== undefined).map(i => i.prefix), ['a/', 'b/'], 'folders at the top as prefixes')
  t.same(top.filter(i => i.name !== undefined).map(i => i.name), ['top.txt', 'z.txt'])
  const a = await collect<Minio.BucketItem>(mc.listObjectsV2('demo', 'a/', false))
  t.same(a.filter(i => i.prefix !== undefined).map(i => i.prefix), ['a/b/', 'a/日本語/'])
  t.same(a.filter(i => i.name !== undefined).map(i => i.name), ['a/one.txt', 'a/plus+%.txt', 'a/with space.txt', 'a/ünï cöde.txt'])
  const deep = await collect<Minio.BucketItem>(mc.listObjectsV2('demo', 'a/b/', true))
  t.same(deep.map(i => i.name), ['a/b/c/three.txt', 'a/b/two.txt'])
  const after = await collect<Minio.BucketItem>(mc.listObjectsV2('demo', 'a/', true, 'a/one.txt'))
  t.same(after.map(i => i.name), ['a/plus+%.txt', 'a/with space.txt', 'a/ünï cöde.txt', 'a/日本語/ファイル.txt'], 'startAfter skips up to the key')
})

t.test('listObjectsV2 pages through 1,200 keys with continuation tokens', async t => {
  const { mc, bucketDir } = await setup(t)
  const files: Record<string, string> = {}
  for (let i = 0; i < 1200; i++) files[`many/${String(i).padStart(4, '0')}`] = String(i)
  // Written behind the bridge (as on the NAS): listing must page through files it never saw uploaded.
  for (const [k, v] of Object.entries(files)) { mkdirSync(join(bucketDir, 'many'), { recursive: true }); writeFileSync(join(bucketDir, k), v) }
  const items = await collect<Minio.BucketItem>(mc.listObjectsV2('demo', 'many/', true))
  t.equal(items.length, 1200)
  t.same(items.map(i => i.name), Object.keys(files))
})

t.test('getPartialObject returns byte ranges', async t => {
  const { mc } = await setup(t)
  const data = randomBytes(300_000)
  await mc.putObject('demo', 'range.bin', data)
  t.same(await readAll(await mc.getPartialObject('demo', 'range.bin', 10, 20)), data.subarray(10, 30), 'offset 10, length 20')
  t.same(await readAll(await mc.getPartialObject('demo', 'range.bin', 0, 1)), data.subarray(0, 1), 'the first byte')
  t.same(await readAll(await mc.getPartialObject('demo', 'range.bin', 299_990)), data.subarray(299_990), 'from an offset to the end')
  t.same(await readAll(await mc.getPartialObject('demo', 'range.bin', 250_000, 100_000)), data.subarray(250_000), 'a length past the end is cut')
  t.equal(await codeOf(mc.getPartialObject('demo', 'range.bin', 400_000, 10)), 'InvalidRange', 'a range starting past the end')
})

t.test('copyObject copies within and across buckets, keeping metadata', async t => {
  const { mc, addBucket } = await setup(t)
  await addBucket('other', 'tester')
  await mc.putObject('demo', 'src/orig.txt', Buffer.from('copy me\n'), undefined, { 'Content-Type': 'text/x-orig', 'X-Amz-Meta-Tag': 'v1' })
  const v1 = await mc.copyObject('demo', 'dst/copy.txt', '/demo/src/orig.txt')
  t.match(v1, { etag: md5('copy me\n') })
  t.match(await mc.statObject('demo', 'dst/copy.txt'), { size: 8, etag: md5('copy me\n'), metaData: { 'content-type': 'text/x-orig', tag: 'v1' } })
  const v2 = await mc.copyObject(new Minio.CopySourceOptions({ Bucket: 'demo', Object: 'src/orig.txt' }),
    new Minio.CopyDestinationOptions({ Bucket: 'other', Object: 'copied/über.txt' }))
  // minio-js takes Etag and Size from response headers (MinIO sends them, AWS does not), so only the body's date is checked.
  t.match(v2, { Bucket: 'other', Key: 'copied/über.txt', LastModified: Date })
  t.equal((await mc.statObject('other', 'copied/über.txt')).etag, md5('copy me\n'))
  t.equal((await readAll(await mc.getObject('other', 'copied/über.txt'))).toString(), 'copy me\n')
  const conds = new Minio.CopyConditions()
  conds.setMatchETag('"0000"')
  t.equal(await codeOf(mc.copyObject('demo', 'dst/never.txt', '/demo/src/orig.txt', conds)), 'PreconditionFailed', 'x-amz-copy-source-if-match is honoured')
  t.equal(await codeOf(mc.copyObject('demo', 'dst/never.txt', '/demo/src/missing.txt')), 'NoSuchKey')
})

t.test('removeObjects deletes a batch, including missing keys, and leaves no empty folders', async t => {
  const { mc, bucketDir } = await setup(t)
  const keys = Array.from({ length: 40 }, (_, i) => `batch/${i % 4}/sub/${i}.txt`)
  for (const k of keys) await mc.putObject('demo', k, Buffer.from(k))
  await mc.putObject('demo', 'keep.txt', Buffer.from('keep'))
  const res = await mc.removeObjects('demo', [...keys, 'batch/never-existed.txt'])
  t.same(res.filter(r => r?.Error !== undefined), [], 'no per-key errors (a missing key counts as deleted)')
  const left = await collect<Minio.BucketItem>(mc.listObjectsV2('demo', '', true))
  t.same(left.map(i => i.name), ['keep.txt'])
  t.same(Object.keys(hashTree(bucketDir)), ['keep.txt'], 'only keep.txt is on disk')
  t.notOk(existsSync(join(bucketDir, 'batch')), 'the emptied folders are gone')
})

t.test('presignedPutObject and presignedGetObject URLs work with plain fetch', async t => {
  const { mc, bucketDir } = await setup(t)
  const putUrl = await mc.presignedPutObject('demo', 'presigned/über file.txt', 300)
  t.match(putUrl, /X-Amz-Signature=/)
  const up = await fetch(putUrl, { method: 'PUT', body: 'sent with fetch\n' })
  t.equal(up.status, 200, 'presigned PUT succeeds')
  t.equal(up.headers.get('etag'), `"${md5('sent with fetch\n')}"`)
  t.equal(readFileSync(join(bucketDir, 'presigned/über file.txt'), 'utf8'), 'sent with fetch\n')
  const getUrl = await mc.presignedGetObject('demo', 'presigned/über file.txt', 300)
  const down = await fetch(getUrl)
  t.equal(down.status, 200)
  t.equal(await down.text(), 'sent with fetch\n')
  const disp = await mc.presignedGetObject('demo', 'presigned/über file.txt', 300, { 'response-content-disposition': 'attachment; filename="x.txt"' })
  const withDisp = await fetch(disp)
  t.equal(withDisp.headers.get('content-disposition'), 'attachment; filename="x.txt"', 'response-content-disposition is applied')
  await withDisp.arrayBuffer()
  const tampered = await fetch(getUrl.replace('%C3%BCber', 'uber'))
  t.equal(tampered.status, 403, 'a URL whose key was changed is refused')
  t.match(await tampered.text(), /<Code>SignatureDoesNotMatch<\/Code>/)
  const expiring = await mc.presignedGetObject('demo', 'presigned/über file.txt', 1)
  await new Promise(resolve => setTimeout(resolve, 2100))
  const late = await fetch(expiring)
  t.equal(late.status, 403, 'an expired URL is refused')
  t.match(await late.text(), /<Code>AccessDenied<\/Code>/)
})

t.test('errors come back with their S3 codes: NoSuchKey, NoSuchBucket, SignatureDoesNotMatch, InvalidAccessKeyId', async t => {
  const { mc, minio, creds } = await setup(t)
  await mc.putObject('demo', 'exists.txt', Buffer.from('x'))
  t.equal(await codeOf(mc.getObject('demo', 'missing.txt')), 'NoSuchKey')
  t.equal(await codeOf(mc.getPartialObject('demo', 'missing.txt', 0, 5)), 'NoSuchKey')
  t.equal(await codeOf(mc.statObject('demo', 'missing.txt')), 'NotFound', 'HEAD has no body, so minio-js says NotFound')
  t.equal(await codeOf(mc.getObject('no-such-bucket', 'x.txt')), 'NoSuchBucket')
  t.equal(await codeOf(mc.putObject('no-such-bucket', 'x.txt', Buffer.from('x'))), 'NoSuchBucket')
  t.equal(await codeOf(mc.removeBucket('no-such-bucket')), 'NoSuchBucket')
  t.equal(await codeOf(collect(mc.listObjectsV2('no-such-bucket', '', true))), 'NoSuchBucket')
  const wrongSecret = minio({ accessKeyId: creds.accessKeyId, secretAccessKey: 'not-the-secret-' + 'x'.repeat(25) })
  t.equal(await codeOf(wrongSecret.getObject('demo', 'exists.txt')), 'SignatureDoesNotMatch', 'a wrong secret')
  t.equal(await codeOf(wrongSecret.putObject('demo', 'new.txt', Buffer.from('x'))), 'SignatureDoesNotMatch')
  t.equal(await codeOf(collect(wrongSecret.listObjectsV2('demo', '', true))), 'SignatureDoesNotMatch')
  const unknownKey = minio({ accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: creds.secretAccessKey })
  t.equal(await codeOf(unknownKey.getObject('demo', 'exists.txt')), 'InvalidAccessKeyId', 'an access key nobody has')
  t.equal(await codeOf(unknownKey.makeBucket('by-stranger', 'us-east-1')), 'InvalidAccessKeyId')
})
