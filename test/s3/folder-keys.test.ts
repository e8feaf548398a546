// Keys that meet folders on disk: a folder is not an object under its bare name, a folder marker ("x/") is listed
// under its own prefix, and a key that cannot be a file because of a folder (or the reverse) is refused as a conflict.
import t from 'tap'
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync, existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  CopyObjectCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, ListObjectsCommand,
  ListObjectsV2Command, PutObjectCommand,
} from '@aws-sdk/client-s3'
import { anonymousClient, startBridge } from '../fixtures/daemon.js'
import { rejectsWithStatus } from '../fixtures/expect.js'

// API reference, GetObject: "If the object you request doesn't exist, the error that Amazon S3 returns depends on
// whether you also have the s3:ListBucket permission": 404 NoSuchKey with it, 403 AccessDenied without.
t.test('a folder read as an object is NoSuchKey for a lister and AccessDenied for others', async t => {
  const b = await startBridge(t)
  mkdirSync(join(b.bucketDir, 'dir'))
  writeFileSync(join(b.bucketDir, 'dir', 'x'), 'x')
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'marked/', Body: '' }))
  for (const Key of ['dir', 'marked']) {
    await t.rejects(b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key })), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }, `GET ${Key}`)
    await t.rejects(b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key })), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }, `HEAD ${Key}`)
  }
  await t.rejects(b.s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'dir' })), { name: 'NoSuchKey' }, 'GET ?tagging')
  await t.rejects(b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'copy', CopySource: 'demo/dir' })), { name: 'NoSuchKey' }, 'as a copy source')
  const anon = anonymousClient(b.endpoint, t)
  await rejectsWithStatus(t, anon.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'dir' })), 403, 'no probing without ListBucket')
  await b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'dir' }))
  t.ok(existsSync(join(b.bucketDir, 'dir', 'x')), 'DeleteObject of the bare name deletes no folder')
})

// S3 would hold both "a" and "a/b"; a filesystem cannot, so the second is refused before its body is read with
// 400 InvalidRequest naming the conflict (docs/design.md), not a permission error.
t.test('a key that conflicts with a folder or a file is 400 InvalidRequest, and nothing changes', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'a/b', Body: 'b' }))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'f', Body: 'f' }))
  for (const Key of ['a', 'f/x', 'f/x/y']) {
    await t.rejects(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key, Body: 'new' })),
      { name: 'InvalidRequest', message: 'The key conflicts with an existing directory or file.', $metadata: { httpStatusCode: 400 } }, `PUT ${Key}`)
  }
  t.ok(statSync(join(b.bucketDir, 'a')).isDirectory())
  t.equal(await (await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'f' }))).Body?.transformToString(), 'f', 'the file is intact')
  const anon = anonymousClient(b.endpoint, t)
  await t.rejects(anon.send(new PutObjectCommand({ Bucket: 'demo', Key: 'a', Body: 'x' })), { name: 'AccessDenied' }, 'without ListBucket a conflict is not revealed')
})

// API reference, ListObjectsV2, Prefix: "Limits the response to keys that begin with the specified prefix." A folder
// marker "x/" begins with the prefix "x/".
t.test('a folder marker is listed under its own prefix, before what it holds', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'x/', Body: '' }))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'x/y', Body: 'y' }))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'x/sub/', Body: '' }))
  mkdirSync(join(b.bucketDir, 'plain')) // a folder made over NFS (by the bucket's owner) is no marker
  writeFileSync(join(b.bucketDir, 'plain', 'p'), 'p')
  chownSync(join(b.bucketDir, 'plain'), 2000, 2000)
  const keys = async (Prefix: string, Delimiter?: string, StartAfter?: string): Promise<unknown> => {
    const r = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo', Prefix, Delimiter, StartAfter }))
    return { keys: (r.Contents ?? []).map(c => c.Key), prefixes: (r.CommonPrefixes ?? []).map(p => p.Prefix) }
  }
  t.same(await keys('x/'), { keys: ['x/', 'x/sub/', 'x/y'], prefixes: [] })
  t.same(await keys('x/', '/'), { keys: ['x/', 'x/y'], prefixes: ['x/sub/'] })
  t.same(await keys('x/sub/', '/'), { keys: ['x/sub/'], prefixes: [] })
  t.same(await keys('x/', undefined, 'x/'), { keys: ['x/sub/', 'x/y'], prefixes: [] }, 'start-after the marker')
  t.same(await keys('plain/'), { keys: ['plain/p'], prefixes: [] })
  const v1 = await b.s3.send(new ListObjectsCommand({ Bucket: 'demo', Prefix: 'x/', Delimiter: '/' }))
  t.same((v1.Contents ?? []).map(c => c.Key), ['x/', 'x/y'], 'ListObjects v1 too')
  const paged = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo', Prefix: 'x/', MaxKeys: 1 }))
  t.same((paged.Contents ?? []).map(c => c.Key), ['x/'])
  const next = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo', Prefix: 'x/', MaxKeys: 5, ContinuationToken: paged.NextContinuationToken }))
  t.same((next.Contents ?? []).map(c => c.Key), ['x/sub/', 'x/y'], 'the next page goes on after the marker')
  // A marker keeps its folder while it exists; once deleted, the folder the bridge made goes when it empties.
  await b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'x/y' }))
  t.same(await keys('x/'), { keys: ['x/', 'x/sub/'], prefixes: [] }, 'deleting a key leaves the marker')
  await b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'x/' }))
  t.ok(existsSync(join(b.bucketDir, 'x', 'sub')), 'a marker deleted before its contents leaves them')
  await b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'x/sub/' }))
  t.notOk(existsSync(join(b.bucketDir, 'x')), 'and its folder goes with the last of them')
  await b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'plain/p' }))
  t.ok(existsSync(join(b.bucketDir, 'plain')), 'a folder made over NFS stays')
})

// PUT "k/" on a folder that already exists (made by an earlier "k/x", or over NFS) makes it the marker object, as
// the S3 console and s3fs do for "create folder" on a prefix that holds keys; it takes write on the folder itself
// (the kernel's rule for setting an attribute on it), not a conflict.
t.test('a folder marker can be put on an existing folder; marking another user\'s folder needs write on it', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'exists/inside', Body: 'i' }))
  const put = await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'exists/', Body: '' }))
  t.equal(put.ETag, '"d41d8cd98f00b204e9800998ecf8427e"')
  t.equal((await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'exists/' }))).ContentLength, 0, 'the marker is an object')
  const listed = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo', Prefix: 'exists/' }))
  t.same((listed.Contents ?? []).map(c => c.Key), ['exists/', 'exists/inside'])
  t.equal(await (await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'exists/inside' }))).Body?.transformToString(), 'i', 'what it holds is untouched')

  const carol = b.client(await b.addUser('carol', 1003, 1003))
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'carol', type: 'user', permission: 'WRITE' }) })
  for (const [name, mode] of [['theirs', 0o755], ['open', 0o777]] as const) {
    mkdirSync(join(b.bucketDir, name))
    chmodSync(join(b.bucketDir, name), mode)
    chownSync(join(b.bucketDir, name), 2000, 2000)
  }
  await t.rejects(carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'theirs/', Body: '' })), { name: 'AccessDenied' }, 'no write on the folder')
  await t.rejects(b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'theirs/' })), { name: 'NotFound' }, 'not marked')
  await carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'open/', Body: '' }))
  t.ok(await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'open/' })), 'a folder carol may write in she may mark')
  await t.rejects(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'exists/inside/', Body: '' })), { name: 'InvalidRequest' }, 'a file is no folder to mark')

  // A sticky folder's attributes are its owner's alone (the kernel's xattr_permission): carol may write in the
  // 1777 folder but neither mark it nor strip its owner's marker.
  mkdirSync(join(b.bucketDir, 'open', 'tmpdir'))
  chmodSync(join(b.bucketDir, 'open', 'tmpdir'), 0o1777)
  chownSync(join(b.bucketDir, 'open', 'tmpdir'), 2000, 2000)
  await t.rejects(carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'open/tmpdir/', Body: '' })), { name: 'AccessDenied' }, 'sticky: not carol\'s to mark')
  await carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'open/tmpdir/carols', Body: 'c' }))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'open/tmpdir/', Body: '' }))
  await t.rejects(carol.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'open/tmpdir/' })), { name: 'AccessDenied' }, 'nor to unmark')
  t.ok(await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'open/tmpdir/' })), 'the owner\'s marker stays')
})

t.test('deleting a folder marker never removes a folder an NFS user made; one the bridge made goes when empty', async t => {
  const b = await startBridge(t)
  for (const name of ['nfs-empty', 'nfs-unmarked']) {
    mkdirSync(join(b.bucketDir, name)) // made over NFS by the bucket's owner, empty
    chownSync(join(b.bucketDir, name), 2000, 2000)
  }
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'nfs-empty/', Body: '' }))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 's3-made/', Body: '' }))
  for (const Key of ['nfs-empty/', 'nfs-unmarked/', 's3-made/']) {
    t.equal((await b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key }))).$metadata.httpStatusCode, 204, Key)
  }
  t.ok(existsSync(join(b.bucketDir, 'nfs-empty')), 'the NFS user\'s marked folder stays')
  t.ok(existsSync(join(b.bucketDir, 'nfs-unmarked')), 'so does an unmarked one (no such key: nothing to do)')
  await rejectsWithStatus(t, b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'nfs-empty/' })), 404, 'its marker is gone')
  t.notOk(existsSync(join(b.bucketDir, 's3-made')), 'the folder the bridge made for its marker is removed')
})

t.test('who may mark a folder may unmark it: deleting "k/" needs write on the folder, not on its parent (sweep 24b F5)', async t => {
  const b = await startBridge(t)
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'bob', type: 'user', permission: 'WRITE' }, { name: 'carol', type: 'user', permission: 'WRITE' }) })
  const bob = b.client(await b.addUser('bob', 1002, 2400)) // in the project group
  const carol = b.client(await b.addUser('carol', 1003, 1003))
  // A root-owned folder above a group-writable setgid project folder, as an admin lays out a share.
  mkdirSync(join(b.bucketDir, 'f5', 'shared'), { recursive: true })
  chownSync(join(b.bucketDir, 'f5'), 0, 0)
  chmodSync(join(b.bucketDir, 'f5'), 0o755)
  chownSync(join(b.bucketDir, 'f5', 'shared'), 0, 2400)
  chmodSync(join(b.bucketDir, 'f5', 'shared'), 0o2775)
  for (const round of [1, 2]) {
    await bob.send(new PutObjectCommand({ Bucket: 'demo', Key: 'f5/shared/', Body: '', Metadata: { round: String(round) } }))
    await t.rejects(carol.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'f5/shared/' })), { name: 'AccessDenied' }, 'carol may not write the folder')
    const many = await carol.send(new DeleteObjectsCommand({ Bucket: 'demo', Delete: { Objects: [{ Key: 'f5/shared/' }] } }))
    t.equal(many.Errors?.[0]?.Code, 'AccessDenied', 'nor in DeleteObjects')
    if (round === 1) {
      t.equal((await bob.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'f5/shared/' }))).$metadata.httpStatusCode, 204, 'bob marked it, bob unmarks it')
    } else {
      const del = await bob.send(new DeleteObjectsCommand({ Bucket: 'demo', Delete: { Objects: [{ Key: 'f5/shared/' }] } }))
      t.same(del.Deleted?.map(d => d.Key), ['f5/shared/'], 'also through DeleteObjects')
    }
    await rejectsWithStatus(t, b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'f5/shared/' })), 404, 'the marker is gone')
    t.ok(existsSync(join(b.bucketDir, 'f5', 'shared')), 'the folder stays')
  }
  // A folder the bridge made for a marker goes with it only for who could remove it from its parent.
  mkdirSync(join(b.bucketDir, 'f5', 'shared', 'open'))
  chownSync(join(b.bucketDir, 'f5', 'shared', 'open'), 1003, 1003)
  chmodSync(join(b.bucketDir, 'f5', 'shared', 'open'), 0o777)
  await bob.send(new PutObjectCommand({ Bucket: 'demo', Key: 'f5/shared/open/made/', Body: '' }))
  t.ok(existsSync(join(b.bucketDir, 'f5', 'shared', 'open', 'made')))
  t.equal((await bob.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'f5/shared/open/made/' }))).$metadata.httpStatusCode, 204)
  t.notOk(existsSync(join(b.bucketDir, 'f5', 'shared', 'open', 'made')), 'bob may remove it from the open folder: it goes')
})

// A common prefix rolls up keys (ListObjectsV2: "all keys between Prefix and the next occurrence of the
// delimiter"): a folder with no key beneath it is not one. An empty folder made over NFS used to be listed, and a
// HEAD or listing of it then found nothing, so s3fs showed it as `??????????` and its `rm -r` of a tree made
// over NFS failed with ENOTEMPTY once the files were gone (sweep 14 s3fs finding 1).
t.test('a delimiter listing names only folders with a key beneath them', async t => {
  const b = await startBridge(t)
  const mk = (...parts: string[]): string => { const p = join(b.bucketDir, ...parts); mkdirSync(p, { recursive: true }); return p }
  mk('empty')
  mk('nested', 'deeper', 'deepest') // folders only
  writeFileSync(join(mk('deepfile', 'a', 'b'), 'f.txt'), 'x')
  writeFileSync(join(mk('flat'), 'g.txt'), 'y')
  mk('linkonly')
  symlinkSync(join(b.bucketDir, 'flat'), join(b.bucketDir, 'linkonly', 'to-flat')) // never followed
  writeFileSync(Buffer.concat([Buffer.from(mk('badname') + '/'), Buffer.from([0xff, 0x41])]), 'not a key')
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'marked/', Body: '' })) // an empty folder marker
  const page = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo', Delimiter: '/' }))
  t.same(page.CommonPrefixes?.map(p => p.Prefix), ['deepfile/', 'flat/', 'marked/'], 'only prefixes with keys')
  const v1 = await b.s3.send(new ListObjectsCommand({ Bucket: 'demo', Delimiter: '/' }))
  t.same(v1.CommonPrefixes?.map(p => p.Prefix), ['deepfile/', 'flat/', 'marked/'], 'V1 alike')
  const inner = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo', Delimiter: '/', Prefix: 'deepfile/' }))
  t.same(inner.CommonPrefixes?.map(p => p.Prefix), ['deepfile/a/'])
  // Paged one prefix at a time, none is lost or repeated.
  const seen: string[] = []
  let token: string | undefined
  do {
    const r = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo', Delimiter: '/', MaxKeys: 1, ContinuationToken: token }))
    seen.push(...(r.CommonPrefixes ?? []).map(p => p.Prefix!))
    token = r.NextContinuationToken
  } while (token !== undefined)
  t.same(seen, ['deepfile/', 'flat/', 'marked/'])
  // A file written into the empty folder over NFS makes it a prefix at once.
  writeFileSync(join(b.bucketDir, 'empty', 'now.txt'), 'z')
  const after = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo', Delimiter: '/' }))
  t.same(after.CommonPrefixes?.map(p => p.Prefix), ['deepfile/', 'empty/', 'flat/', 'marked/'])
})

// Review 13 F3: the probe runs with the daemon's rights; a folder the caller may not enter is listed whatever it
// holds, so a delimiter listing does not tell whether another user's private folder is empty.
t.test('a folder the caller may not enter is a prefix whether or not it holds keys', async t => {
  const b = await startBridge(t)
  for (const name of ['private-full', 'private-empty']) {
    mkdirSync(join(b.bucketDir, name))
    chmodSync(join(b.bucketDir, name), 0o700) // root's: the bucket's user (uid 2000) may not enter
  }
  writeFileSync(join(b.bucketDir, 'private-full', 'secret'), 'x')
  mkdirSync(join(b.bucketDir, 'mine-empty'))
  chownSync(join(b.bucketDir, 'mine-empty'), 2000, 2000)
  const page = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo', Delimiter: '/' }))
  t.same(page.CommonPrefixes?.map(p => p.Prefix), ['private-empty/', 'private-full/'], 'both private folders alike; the caller\'s own empty folder is not listed')
})
