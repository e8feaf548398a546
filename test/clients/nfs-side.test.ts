// The bucket directory changed behind the bridge's back, as NFS users do, and what S3 clients then see.
import t from 'tap'
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { join } from 'node:path'
import {
  GetObjectCommand, HeadObjectCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { writeTree } from '../fixtures/clients/run-client.js'
import { encodeKeyPath, sendSigned } from '../fixtures/clients/raw-request.js'

const MD5_SHAPED = /^"[0-9a-f]{32}"$/
/** The NFS user who owns the demo bucket: the same uid as the S3 user "tester". */
const NFS_UID = 2000

async function listAll (s3: S3Client, params: { Prefix?: string, MaxKeys?: number } = {}): Promise<string[]> {
  const keys: string[] = []
  let token: string | undefined
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', ...params, ContinuationToken: token }))
    keys.push(...(page.Contents ?? []).map(c => c.Key ?? ''))
    token = page.NextContinuationToken
  } while (token !== undefined)
  return keys
}

async function statusOf (p: Promise<unknown>): Promise<number> {
  try {
    await p
    return 200
  } catch (err) {
    return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? -1
  }
}

t.test('files written over NFS list in S3 byte order across nested directories', async t => {
  const { s3, bucketDir } = await startBridge(t)
  writeTree(bucketDir, { 'a-b': '1', 'a/b': '2', 'a/c/d': '3', 'a0': '4', 'a.txt': '5', ab: '6', '~': '7', 'é': '8', 'A': '9', 'a/b0': '10' })
  const expected = ['A', 'a-b', 'a.txt', 'a/b', 'a/b0', 'a/c/d', 'a0', 'ab', '~', 'é']
  t.same(await listAll(s3), expected, 'a-b < a.txt < a/b < a0, uppercase first, multi-byte last')
  t.same(await listAll(s3, { MaxKeys: 1 }), expected, 'one key per page still walks the same order')
  t.same(await listAll(s3, { MaxKeys: 3 }), expected)
  const delimited = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', Delimiter: '/' }))
  t.same((delimited.Contents ?? []).map(c => c.Key), ['A', 'a-b', 'a.txt', 'a0', 'ab', '~', 'é'])
  t.same((delimited.CommonPrefixes ?? []).map(p => p.Prefix), ['a/'])
  const v1 = await s3.send(new ListObjectsCommand({ Bucket: 'demo', Marker: 'a-b' }))
  t.same((v1.Contents ?? []).map(c => c.Key), expected.slice(2), 'ListObjects v1 resumes after a marker in byte order')
  const after = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', StartAfter: 'a/b' }))
  t.same((after.Contents ?? []).map(c => c.Key), expected.slice(4), 'StartAfter inside a directory resumes there')
})

t.test('an NFS write, rewrite, rename and delete show up in S3 with fresh, non-MD5 ETags', async t => {
  const { s3, bucketDir } = await startBridge(t)
  mkdirSync(join(bucketDir, 'docs'))
  chownSync(join(bucketDir, 'docs'), NFS_UID, NFS_UID)
  writeFileSync(join(bucketDir, 'docs/report.txt'), 'version one')
  const first = await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'docs/report.txt' }))
  t.equal(first.ContentLength, 11)
  t.notMatch(first.ETag ?? '', MD5_SHAPED, 'an NFS-written file has no MD5 to claim')
  t.match(first.ETag ?? '', /^".+"$/, 'the ETag is quoted')
  const again = await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'docs/report.txt' }))
  t.equal(again.ETag, first.ETag, 'the ETag is stable while the file is unchanged')

  await sleep(30)
  writeFileSync(join(bucketDir, 'docs/report.txt'), 'version two')
  const second = await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'docs/report.txt' }))
  t.equal(second.ContentLength, 11)
  t.not(second.ETag, first.ETag, 'same size, new content, new ETag')
  t.notMatch(second.ETag ?? '', MD5_SHAPED)
  const got = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'docs/report.txt' }))
  t.equal(await got.Body?.transformToString(), 'version two')
  t.equal(got.ETag, second.ETag, 'GET and HEAD agree')

  const put = await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'docs/s3.txt', Body: 'from s3' }))
  t.match(put.ETag ?? '', MD5_SHAPED)
  await sleep(30)
  writeFileSync(join(bucketDir, 'docs/s3.txt'), 'from nfs')
  const rewritten = await s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'docs/s3.txt' }))
  t.not(rewritten.ETag, put.ETag, 'an S3 object rewritten over NFS loses its stored MD5')
  t.notMatch(rewritten.ETag ?? '', MD5_SHAPED)

  renameSync(join(bucketDir, 'docs/report.txt'), join(bucketDir, 'docs/renamed.txt'))
  t.same(await listAll(s3), ['docs/renamed.txt', 'docs/s3.txt'])
  t.equal(await statusOf(s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'docs/report.txt' }))), 404)
  const renamed = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'docs/renamed.txt' }))
  t.equal(await renamed.Body?.transformToString(), 'version two')

  unlinkSync(join(bucketDir, 'docs/renamed.txt'))
  unlinkSync(join(bucketDir, 'docs/s3.txt'))
  t.same(await listAll(s3), [], 'deleted files disappear, and an empty folder is not an object')
  t.equal(await statusOf(s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'docs/s3.txt' }))), 404)
})

t.test('a file chowned over NFS is readable only by users its mode lets in', async t => {
  const { s3, bucketDir, client, addUser } = await startBridge(t)
  const other = client(await addUser('other', 3000, 3000))
  writeFileSync(join(bucketDir, 'private.txt'), 'for uid 3000 only')
  chownSync(join(bucketDir, 'private.txt'), 3000, 3000)
  chmodSync(join(bucketDir, 'private.txt'), 0o600)
  t.same(await listAll(s3), ['private.txt'], 'the directory listing still names it')
  t.equal(await statusOf(s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'private.txt' }))), 403, 'uid 2000 may not read a 0600 file of uid 3000')
  const got = await other.send(new GetObjectCommand({ Bucket: 'demo', Key: 'private.txt' }))
  t.equal(await got.Body?.transformToString(), 'for uid 3000 only', 'uid 3000 reads its own file')
  chownSync(join(bucketDir, 'private.txt'), 2000, 2000)
  t.equal(await statusOf(s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'private.txt' }))), 200, 'after chown back, uid 2000 reads it')
  t.equal(await statusOf(other.send(new GetObjectCommand({ Bucket: 'demo', Key: 'private.txt' }))), 403)
})

t.test('symlinks planted in a bucket are not listed, read, written or deleted through', async t => {
  const { s3, bucketDir, dir, endpoint, creds } = await startBridge(t)
  const outside = join(dir, 'outside')
  mkdirSync(outside)
  writeFileSync(join(outside, 'secret.txt'), 'outside the bucket')
  mkdirSync(join(bucketDir, 'real'))
  writeFileSync(join(bucketDir, 'real/inside.txt'), 'inside')
  writeFileSync(join(bucketDir, 'plain.txt'), 'plain')
  symlinkSync('/etc', join(bucketDir, 'etc-link'))
  symlinkSync('/etc/passwd', join(bucketDir, 'passwd-link'))
  symlinkSync(outside, join(bucketDir, 'out-link'))
  symlinkSync(join(bucketDir, 'real'), join(bucketDir, 'dir-link'))
  symlinkSync('real/inside.txt', join(bucketDir, 'file-link'))

  t.same(await listAll(s3), ['plain.txt', 'real/inside.txt'], 'no link, nor anything behind one, is listed')
  const delimited = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', Delimiter: '/' }))
  t.same((delimited.CommonPrefixes ?? []).map(p => p.Prefix), ['real/'])
  t.same(await listAll(s3, { Prefix: 'no-such-folder/' }), [], 'a prefix that names nothing lists nothing')

  for (const key of ['passwd-link', 'etc-link/passwd', 'out-link/secret.txt', 'dir-link/inside.txt', 'file-link']) {
    const status = await statusOf(s3.send(new GetObjectCommand({ Bucket: 'demo', Key: key })))
    t.ok(status === 403 || status === 404, `GET ${key} is refused (${status})`)
    const head = await statusOf(s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: key })))
    t.ok(head === 403 || head === 404, `HEAD ${key} is refused (${head})`)
  }

  const put = await statusOf(s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'out-link/planted.txt', Body: 'escape' })))
  t.ok(put >= 400, `PUT through a directory link is refused (${put})`)
  t.notOk(existsSync(join(outside, 'planted.txt')), 'nothing was created outside the bucket')
  const putLink = await statusOf(s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'file-link', Body: 'overwrite' })))
  t.equal(readFileSync(join(bucketDir, 'real/inside.txt'), 'utf8'), 'inside', `PUT onto a file link does not write its target (${putLink})`)

  const del = await sendSigned(endpoint, creds, { method: 'DELETE', path: '/demo/out-link/secret.txt' })
  t.ok(del.status === 204 || del.status >= 400, `DELETE through a link answers ${del.status}`)
  t.ok(existsSync(join(outside, 'secret.txt')), 'the file behind the link is still there')

  const copy = await sendSigned(endpoint, creds, { method: 'PUT', path: '/demo/stolen.txt', headers: { 'x-amz-copy-source': '/demo/out-link/secret.txt' } })
  t.ok(copy.status === 403 || copy.status === 404, `CopyObject from behind a link is refused (${copy.status})`)
  t.notOk(existsSync(join(bucketDir, 'stolen.txt')))
  const copyOut = await sendSigned(endpoint, creds, { method: 'PUT', path: '/demo/out-link/copied.txt', headers: { 'x-amz-copy-source': '/demo/plain.txt' } })
  t.ok(copyOut.status >= 400, `CopyObject into a link is refused (${copyOut.status})`)
  t.notOk(existsSync(join(outside, 'copied.txt')))
})

t.test('a listing whose prefix passes through a directory symlink is empty, as for any prefix that names nothing', {
}, async t => {
  const { s3, bucketDir } = await startBridge(t)
  mkdirSync(join(bucketDir, 'real'))
  writeFileSync(join(bucketDir, 'real/inside.txt'), 'inside')
  symlinkSync('/etc', join(bucketDir, 'etc-link'))
  symlinkSync(join(bucketDir, 'real'), join(bucketDir, 'dir-link'))
  t.same(await listAll(s3, { Prefix: 'no-such-folder/' }), [])
  t.same(await listAll(s3, { Prefix: 'dir-link/' }), [])
  t.same(await listAll(s3, { Prefix: 'etc-link/' }), [])
  const v1 = await s3.send(new ListObjectsCommand({ Bucket: 'demo', Prefix: 'etc-link/pass' }))
  t.same(v1.Contents ?? [], [])
})

const LONG_KEY = 'k'.repeat(1025)
const BAD_KEYS: Array<[string, string]> = [
  ['a ".." segment', '/demo/a/../plain.txt'],
  ['a leading ".." segment', '/demo/../demo/plain.txt'],
  ['an encoded ".." segment', '/demo/a/%2E%2E/plain.txt'],
  ['a NUL byte', '/demo/plain%00.txt'],
  ['1025 bytes', `/demo/${LONG_KEY}`],
  ['1025 bytes of multi-byte characters', `/demo/${encodeKeyPath('é'.repeat(512) + 'x')}`],
]

t.test('keys with ".." segments, NUL or more than 1024 bytes are refused with 400 by GET, PUT, DELETE and COPY', async t => {
  const { endpoint, creds, bucketDir, s3, dir } = await startBridge(t)
  writeFileSync(join(bucketDir, 'plain.txt'), 'plain')
  writeFileSync(join(dir, 'plain.txt'), 'one level up')
  for (const [what, path] of BAD_KEYS) {
    const get = await sendSigned(endpoint, creds, { method: 'GET', path })
    t.equal(get.status, 400, `GET of a key with ${what}`)
    t.match(get.body, /<Code>(InvalidArgument|KeyTooLongError|InvalidURI)<\/Code>/)
    const put = await sendSigned(endpoint, creds, { method: 'PUT', path, body: 'overwritten' })
    t.equal(put.status, 400, `PUT of a key with ${what}`)
    const del = await sendSigned(endpoint, creds, { method: 'DELETE', path })
    t.equal(del.status, 400, `DELETE of a key with ${what}`)
    const copyTo = await sendSigned(endpoint, creds, { method: 'PUT', path, headers: { 'x-amz-copy-source': '/demo/plain.txt' } })
    t.equal(copyTo.status, 400, `COPY to a key with ${what}`)
    const copyFrom = await sendSigned(endpoint, creds, { method: 'PUT', path: '/demo/copy.txt', headers: { 'x-amz-copy-source': path } })
    t.equal(copyFrom.status, 400, `COPY from a key with ${what}`)
  }
  t.equal(readFileSync(join(bucketDir, 'plain.txt'), 'utf8'), 'plain', 'nothing was overwritten')
  t.equal(readFileSync(join(dir, 'plain.txt'), 'utf8'), 'one level up', 'nothing outside the bucket was touched')
  t.same(await listAll(s3), ['plain.txt'])
})

t.test('a 1024-byte key in short segments is stored, and a segment too long for a file name is a 400, not a 500', async t => {
  const { endpoint, creds, s3 } = await startBridge(t)
  const longest = [0, 1, 2, 3, 4].map(i => String(i).repeat(204)).join('/')
  t.equal(Buffer.byteLength(longest), 1024)
  const put = await sendSigned(endpoint, creds, { method: 'PUT', path: `/demo/${longest}`, body: 'fits' })
  t.equal(put.status, 200, put.body)
  t.same(await listAll(s3), [longest])
  const wide = await sendSigned(endpoint, creds, { method: 'PUT', path: `/demo/${'w'.repeat(256)}`, body: 'too wide' })
  t.equal(wide.status, 400, `a 256-byte segment: ${wide.body}`)
  t.match(wide.body, /<Code>(KeyTooLongError|InvalidArgument)<\/Code>/)
  const wideGet = await sendSigned(endpoint, creds, { method: 'GET', path: `/demo/${'w'.repeat(256)}` })
  t.ok(wideGet.status === 400 || wideGet.status === 404, `GET of a 256-byte segment answers ${wideGet.status}`)
})
