import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DeleteObjectsCommand, ListObjectsCommand, ListObjectsV2Command, ListObjectVersionsCommand, GetBucketVersioningCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { sendSigned } from '../fixtures/clients/raw-request.js'

const SEVEN = ['a-b', 'a/b', 'a/c/d', 'a0', 'b+c', 'dir/ü ber', 'z%41']

async function putAll (s3: S3Client, keys: string[]): Promise<void> {
  for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: 'demo', Key, Body: Key }))
}

t.test('ListObjectsV2 returns keys in S3 byte order across nested folders', async t => {
  const { s3 } = await startBridge(t)
  await putAll(s3, [...SEVEN].reverse())
  const r = await s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.same(r.Contents?.map(c => c.Key), SEVEN)
  t.equal(r.KeyCount, 7)
  t.equal(r.IsTruncated, false)
})

t.test('ListObjectsV2 paginates 7 keys by 2 with continuation tokens', async t => {
  const { s3 } = await startBridge(t)
  await putAll(s3, SEVEN)
  const seen: string[] = []
  let token: string | undefined
  let pages = 0
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', MaxKeys: 2, ContinuationToken: token }))
    pages++
    t.ok((r.KeyCount ?? 0) <= 2)
    seen.push(...(r.Contents ?? []).map(c => c.Key!))
    token = r.IsTruncated ? r.NextContinuationToken : undefined
  } while (token)
  t.equal(pages, 4)
  t.same(seen, SEVEN)
})

t.test('ListObjects v1 paginates 7 keys by 2 with markers', async t => {
  const { s3 } = await startBridge(t)
  await putAll(s3, SEVEN)
  const seen: string[] = []
  let marker: string | undefined
  for (let i = 0; i < 10; i++) {
    const r = await s3.send(new ListObjectsCommand({ Bucket: 'demo', MaxKeys: 2, Marker: marker }))
    const keys = (r.Contents ?? []).map(c => c.Key!)
    seen.push(...keys)
    if (!r.IsTruncated) break
    marker = r.NextMarker ?? keys.at(-1)
  }
  t.same(seen, SEVEN)
})

t.test('a delimiter groups folders into common prefixes, with prefix and start-after', async t => {
  const { s3 } = await startBridge(t)
  await putAll(s3, SEVEN)
  const r = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', Delimiter: '/' }))
  t.same(r.Contents?.map(c => c.Key), ['a-b', 'a0', 'b+c', 'z%41'])
  t.same(r.CommonPrefixes?.map(p => p.Prefix), ['a/', 'dir/'])
  const inA = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', Delimiter: '/', Prefix: 'a/' }))
  t.same(inA.Contents?.map(c => c.Key), ['a/b'])
  t.same(inA.CommonPrefixes?.map(p => p.Prefix), ['a/c/'])
  const after = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', StartAfter: 'a0' }))
  t.same(after.Contents?.map(c => c.Key), ['b+c', 'dir/ü ber', 'z%41'])
  const partial = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', Prefix: 'a/c' }))
  t.same(partial.Contents?.map(c => c.Key), ['a/c/d'])
  const paged = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', Delimiter: '/', MaxKeys: 2 }))
  t.same([...(paged.Contents ?? []).map(c => c.Key), ...(paged.CommonPrefixes ?? []).map(p => p.Prefix)].sort(), ['a-b', 'a/'])
  const rest = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', Delimiter: '/', ContinuationToken: paged.NextContinuationToken }))
  t.same(rest.Contents?.map(c => c.Key), ['a0', 'b+c', 'z%41'])
  t.same(rest.CommonPrefixes?.map(p => p.Prefix), ['dir/'])
})

t.test('a non-slash delimiter groups by that character', async t => {
  const { s3 } = await startBridge(t)
  await putAll(s3, ['x-1', 'x-2', 'y', 'x/z-3'])
  const r = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', Delimiter: '-' }))
  t.same(r.Contents?.map(c => c.Key), ['y'])
  t.same(r.CommonPrefixes?.map(p => p.Prefix), ['x-', 'x/z-'])
})

t.test('encoding-type=url encodes keys in the listing', async t => {
  const { s3 } = await startBridge(t)
  await putAll(s3, ['sp ace', 'plus+'])
  const r = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', EncodingType: 'url' }))
  t.equal(r.EncodingType, 'url')
  // AWS encodes like application/x-www-form-urlencoded (boto decodes with unquote_plus); SDK v3 leaves it encoded.
  t.same(r.Contents?.map(c => c.Key).sort(), ['plus%2B', 'sp+ace'])
})

t.test('the staging folder, symlinks and special files never appear in listings', async t => {
  const { s3, bucketDir } = await startBridge(t)
  await putAll(s3, ['visible'])
  mkdirSync(join(bucketDir, '.s3bridge', 'tmp'), { recursive: true })
  writeFileSync(join(bucketDir, '.s3bridge', 'tmp', 'junk'), 'x')
  const { symlinkSync } = await import('node:fs')
  symlinkSync('/etc', join(bucketDir, 'etc-link'))
  symlinkSync('/etc/passwd', join(bucketDir, 'passwd-link'))
  const r = await s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.same(r.Contents?.map(c => c.Key), ['visible'])
})

t.test('ListObjectVersions and GetBucketVersioning answer as an unversioned bucket', async t => {
  const { s3 } = await startBridge(t)
  await putAll(s3, ['one', 'two'])
  const v = await s3.send(new ListObjectVersionsCommand({ Bucket: 'demo' }))
  t.same(v.Versions?.map(x => [x.Key, x.VersionId, x.IsLatest]), [['one', 'null', true], ['two', 'null', true]])
  const st = await s3.send(new GetBucketVersioningCommand({ Bucket: 'demo' }))
  t.equal(st.Status, undefined)
})

t.test('PutBucketVersioning: Suspended is kept and reported, Enabled is 501, bad XML is MalformedXML', async t => {
  const { s3, endpoint, creds } = await startBridge(t)
  const { PutBucketVersioningCommand } = await import('@aws-sdk/client-s3')
  await t.rejects(s3.send(new PutBucketVersioningCommand({ Bucket: 'demo', VersioningConfiguration: { Status: 'Enabled' } })),
    { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } })
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: 'demo' }))).Status, undefined, 'a refused Enabled changes nothing')
  await s3.send(new PutBucketVersioningCommand({ Bucket: 'demo', VersioningConfiguration: { Status: 'Suspended' } }))
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: 'demo' }))).Status, 'Suspended')
  await putAll(s3, ['after'])
  const v = await s3.send(new ListObjectVersionsCommand({ Bucket: 'demo' }))
  t.same(v.Versions?.map(x => x.VersionId), ['null'], 'objects keep the one null version')
  const { sendSigned } = await import('../fixtures/clients/raw-request.js')
  const bad = await sendSigned(endpoint, creds, { method: 'PUT', path: '/demo?versioning', body: '<VersioningConfiguration><Status>Sometimes</Status></VersioningConfiguration>' })
  t.equal(bad.status, 400)
  t.match(bad.body, /<Code>MalformedXML<\/Code>/)
})

t.test('a key with CR or a control character survives ListObjects v1 without encoding-type and the DeleteObjects result', async t => {
  const { s3, endpoint, creds } = await startBridge(t)
  // A raw CR in XML text reaches the client as LF (XML end-of-line handling); s3cmd lists this way.
  const keys = ['cr/a\rb', 'cr/c\r\nd', 'cr/ctrl\x01x', 'cr/tab\tx']
  await putAll(s3, keys)
  const raw = await sendSigned(endpoint, creds, { method: 'GET', path: '/demo?prefix=cr/' })
  t.match(raw.body, '<Key>cr/a&#13;b</Key>')
  t.match(raw.body, '<Key>cr/ctrl&#x1;x</Key>')
  const listed = await s3.send(new ListObjectsCommand({ Bucket: 'demo', Prefix: 'cr/' }))
  t.same(listed.Contents?.map(c => c.Key), [...keys].sort())
  const deleted = await s3.send(new DeleteObjectsCommand({ Bucket: 'demo', Delete: { Objects: keys.map(Key => ({ Key })) } }))
  t.same(deleted.Deleted?.map(d => d.Key).sort(), [...keys].sort())
  t.same((await s3.send(new ListObjectsCommand({ Bucket: 'demo', Prefix: 'cr/' }))).Contents, undefined, 'all of them were deleted')
})

// API_Object: a listed object names the algorithm of its checksum, and whether it is of the whole object or,
// for a multipart upload, COMPOSITE of its parts; a file written over NFS has none (sweep 14 F7).
t.test('listings name each object\'s checksum algorithm and type', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'ck/crc32c', Body: 'x', ChecksumAlgorithm: 'CRC32C' }))
  writeFileSync(join(b.bucketDir, 'ck-nfs'), 'nfs')
  const v2 = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  const by = Object.fromEntries((v2.Contents ?? []).map(c => [c.Key, [c.ChecksumAlgorithm, c.ChecksumType]]))
  t.same(by['ck/crc32c'], [['CRC32C'], 'FULL_OBJECT'])
  t.same(by['ck-nfs'], [undefined, undefined], 'an NFS file has no checksum')
  const versions = await b.s3.send(new ListObjectVersionsCommand({ Bucket: 'demo', Prefix: 'ck/' }))
  t.same(versions.Versions?.map(v => [v.Key, v.ChecksumAlgorithm, v.ChecksumType]), [['ck/crc32c', ['CRC32C'], 'FULL_OBJECT']])
})
