// Folders made over NFS can nest deeper than S3 keys reach (1,024 bytes). Such keys used to be listed, then every
// GET, HEAD and DELETE of them was 400 KeyTooLongError, so `aws s3 sync` and `s3 rm --recursive` failed on them.
// They are left out of listings, as names that are not UTF-8 are.
import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CopyObjectCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'

t.test('keys longer than 1,024 bytes are not listed; the rest of the folder is', async t => {
  const b = await startBridge(t)
  const deep = ['a'.repeat(250), 'b'.repeat(250), 'c'.repeat(250), 'd'.repeat(150)] // 904 bytes with the slashes
  const dir = join(b.bucketDir, ...deep)
  mkdirSync(dir, { recursive: true })
  const prefix = deep.join('/') + '/'
  const names: string[] = []
  for (let i = 0; i < 40; i++) {
    // Alternating: 904 + 110 bytes fits, 904 + 130 does not.
    const name = `f${String(i).padStart(3, '0')}-` + 'x'.repeat(i % 2 === 0 ? 105 : 125)
    writeFileSync(join(dir, name), String(i))
    names.push(name)
  }
  mkdirSync(join(dir, 'e'.repeat(130))) // a folder whose own key is too long
  writeFileSync(join(dir, 'e'.repeat(130), 'inside'), 'x')
  writeFileSync(join(b.bucketDir, 'top.txt'), 'top')
  const fits = names.filter(n => Buffer.byteLength(prefix + n) <= 1024)
  t.equal(fits.length, 20)
  const all: string[] = []
  let token: string | undefined
  do {
    const page = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo', MaxKeys: 7, ContinuationToken: token }))
    all.push(...(page.Contents ?? []).map(c => c.Key!))
    token = page.NextContinuationToken
  } while (token !== undefined)
  t.same(all, [...fits.map(n => prefix + n), 'top.txt'], 'every listed key is usable, pages of 7')
  for (const key of all) t.ok(Buffer.byteLength(key) <= 1024)
  const got = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: all[0] }))
  t.equal(await got.Body?.transformToString(), '0')
})

t.test('names that are not UTF-8 are no keys, files or folders; a real U+FFFD name is listed once', async t => {
  const b = await startBridge(t)
  const raw = (...parts: Array<string | number[]>): Buffer => Buffer.concat([Buffer.from(b.bucketDir + '/'), ...parts.map(p => typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))])
  mkdirSync(raw('baddir', [0xff]))
  mkdirSync(raw('baddir', [0xff], '/sub'))
  writeFileSync(raw('baddir', [0xff], '/sub/f'), 'hidden')
  writeFileSync(raw('badfile', [0xc3, 0x28]), 'hidden')
  mkdirSync(join(b.bucketDir, 'baddir\uFFFD'))
  writeFileSync(join(b.bucketDir, 'baddir\uFFFD', 'g'), 'real')
  const flat = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo', Prefix: 'bad' }))
  t.same(flat.Contents?.map(c => c.Key), ['baddir\uFFFD/g'], 'the real folder, once')
  const folders = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo', Prefix: 'bad', Delimiter: '/' }))
  t.same(folders.CommonPrefixes?.map(p => p.Prefix), ['baddir\uFFFD/'], 'no phantom prefix for the bad folder')
  t.equal(folders.Contents, undefined)
})

// A segment longer than NAME_MAX (255 bytes) is a valid S3 key that no file can have: reads find nothing (404),
// deletes succeed, and only a write is refused, with the reason. The kernel's ENAMETOOLONG used to come back as
// 400 KeyTooLongError "Your key is too long" from GET/HEAD/DELETE/copy, and as a per-key InternalError from
// DeleteObjects, whenever the folder above the long name existed.
t.test('a key with a segment over 255 bytes is missing, not too long, whether its folder exists or not', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'l/a', Body: 'x' })) // a folder the user may write in
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'src', Body: 'source' }))
  const long = 'c'.repeat(256)
  for (const key of [long, `l/${long}`, `${long}/x`, `l/${long}/x`, `nonexist/${long}`]) {
    await t.rejects(b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: key })), { name: 'NoSuchKey' }, `GET ${key.slice(0, 12)}…`)
    await t.rejects(b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: key })), { name: 'NotFound' }, `HEAD ${key.slice(0, 12)}…`)
    const del = await b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: key }))
    t.equal(del.$metadata.httpStatusCode, 204, `DELETE ${key.slice(0, 12)}…`)
    await t.rejects(b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'dst', CopySource: `demo/${key}` })), { name: 'NoSuchKey' }, `copy from ${key.slice(0, 12)}…`)
    await t.rejects(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: key, Body: 'x' })),
      { name: 'KeyTooLongError', message: /segment of the key between slashes is longer than 255 bytes/ }, `PUT ${key.slice(0, 12)}… names the segment`)
    await t.rejects(b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: key, CopySource: 'demo/src' })), { name: 'KeyTooLongError' }, `copy to ${key.slice(0, 12)}…`)
  }
  const keys = [long, `l/${long}`, `${long}/x`, `nonexist/${long}`]
  const batch = await b.s3.send(new DeleteObjectsCommand({ Bucket: 'demo', Delete: { Objects: keys.map(Key => ({ Key })) } }))
  t.same(batch.Errors ?? [], [], 'DeleteObjects: no per-key error')
  t.same((batch.Deleted ?? []).map(d => d.Key).sort(), [...keys].sort(), 'every key reported deleted')
  t.equal((await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'l/a' }))).$metadata.httpStatusCode, 200, 'the folder and its file are untouched')
})
