import t from 'tap'
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, PutObjectAclCommand, ListObjectsV2Command, DeleteObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3'
import { anonymousClient, startBridge } from '../fixtures/daemon.js'
import { setAttribute } from '../../lib/storage/xattr.js'


function nfsFile (path: string, body: string, uid: number, gid: number, mode: number): void {
  writeFileSync(path, body)
  chownSync(path, uid, gid)
  chmodSync(path, mode)
}

t.test('a 0640 file written over NFS is readable by its group over S3 and not by others', async t => {
  const b = await startBridge(t)
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'everyone', type: 'wellknown', permission: 'READ' }) })
  nfsFile(join(b.bucketDir, 'report.txt'), 'quarterly', 1001, 1500, 0o640)
  const bob = b.client(await b.addUser('bob', 1002, 1500))
  const carol = b.client(await b.addUser('carol', 1003, 1003))
  const got = await bob.send(new GetObjectCommand({ Bucket: 'demo', Key: 'report.txt' }))
  t.equal(await got.Body?.transformToString(), 'quarterly', 'bob (same group) reads it')
  await t.rejects(carol.send(new GetObjectCommand({ Bucket: 'demo', Key: 'report.txt' })), { name: 'AccessDenied' }, 'carol (other) is refused')
})

t.test('GetObject of a missing key is 404 for a caller who may list, 403 for one who may not', async t => {
  const b = await startBridge(t)
  const carol = b.client(await b.addUser('carol', 1003, 1003))
  await t.rejects(b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'missing' })), { name: 'NoSuchKey' })
  await t.rejects(carol.send(new GetObjectCommand({ Bucket: 'demo', Key: 'missing' })), { name: 'AccessDenied' })
})

t.test('PutObject needs the bucket WRITE grant and write on the folder; a refused PUT leaves nothing', async t => {
  const b = await startBridge(t)
  const carolCreds = await b.addUser('carol', 1003, 1003)
  const carol = b.client(carolCreds)
  await t.rejects(carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'c.txt', Body: 'x' })), { name: 'AccessDenied' }, 'no bucket grant')
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'carol', type: 'user', permission: 'WRITE' }) })
  await t.rejects(carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'c.txt', Body: 'x' })), { name: 'AccessDenied' }, 'bucket dir 0755 owned by 2000: no write for carol')
  t.notOk(existsSync(join(b.bucketDir, 'c.txt')))
  mkdirSync(join(b.bucketDir, 'drop'), { mode: 0o777 })
  chmodSync(join(b.bucketDir, 'drop'), 0o777)
  await carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'drop/c.txt', Body: 'x' }))
  const st = statSync(join(b.bucketDir, 'drop/c.txt'))
  t.equal(st.uid, 1003, 'new file belongs to carol')
  t.equal(st.gid, 1003)
})

t.test('an anonymous PUT into a public-read-write bucket makes a file owned by 65534', async t => {
  const b = await startBridge(t)
  chmodSync(b.bucketDir, 0o777)
  await b.daemon.services.state.mutate(s => {
    s.buckets.demo!.acl.push({ name: 'everyone', type: 'wellknown', permission: 'READ' }, { name: 'everyone', type: 'wellknown', permission: 'WRITE' })
  })
  const anon = anonymousClient(b.endpoint, t)
  await anon.send(new PutObjectCommand({ Bucket: 'demo', Key: 'anon.txt', Body: 'hi' }))
  const st = statSync(join(b.bucketDir, 'anon.txt'))
  t.equal(st.uid, 65534)
  t.equal(st.gid, 65534)
})

t.test('anonymous GET works for a world-readable file and is refused for a 0600 file', async t => {
  const b = await startBridge(t)
  nfsFile(join(b.bucketDir, 'public.txt'), 'open', 2000, 2000, 0o644)
  nfsFile(join(b.bucketDir, 'secret.txt'), 'closed', 2000, 2000, 0o600)
  const anon = anonymousClient(b.endpoint, t)
  const got = await anon.send(new GetObjectCommand({ Bucket: 'demo', Key: 'public.txt' }))
  t.equal(await got.Body?.transformToString(), 'open')
  await t.rejects(anon.send(new GetObjectCommand({ Bucket: 'demo', Key: 'secret.txt' })), { name: 'AccessDenied' })
  await t.rejects(anon.send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'AccessDenied' }, 'no READ on the bucket for AllUsers')
})

t.test('listing skips folders the principal cannot read', async t => {
  const b = await startBridge(t)
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'everyone', type: 'wellknown', permission: 'READ' }) })
  mkdirSync(join(b.bucketDir, 'open'))
  mkdirSync(join(b.bucketDir, 'private'))
  nfsFile(join(b.bucketDir, 'open/a.txt'), 'a', 2000, 2000, 0o644)
  nfsFile(join(b.bucketDir, 'private/b.txt'), 'b', 2000, 2000, 0o644)
  chownSync(join(b.bucketDir, 'private'), 2000, 2000)
  chmodSync(join(b.bucketDir, 'private'), 0o700)
  const carol = b.client(await b.addUser('carol', 1003, 1003))
  const list = await carol.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.same(list.Contents?.map(c => c.Key), ['open/a.txt'])
  const mine = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.same(mine.Contents?.map(c => c.Key), ['open/a.txt', 'private/b.txt'], 'the owner sees both')
})

t.test('a user mapped to uid 0 has no root rights unless the admin allows it', async t => {
  const b = await startBridge(t)
  nfsFile(join(b.bucketDir, 'alice-only.txt'), 'mine', 1001, 1001, 0o600)
  const rootish = b.client(await b.addUser('rootish', 0, 0))
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'rootish', type: 'user', permission: 'FULL_CONTROL' }) })
  await t.rejects(rootish.send(new GetObjectCommand({ Bucket: 'demo', Key: 'alice-only.txt' })), { name: 'AccessDenied' })
  const b2 = await startBridge(t, { allowRootUsers: true })
  nfsFile(join(b2.bucketDir, 'alice-only.txt'), 'mine', 1001, 1001, 0o600)
  const root2 = b2.client(await b2.addUser('rootish', 0, 0))
  const got = await root2.send(new GetObjectCommand({ Bucket: 'demo', Key: 'alice-only.txt' }))
  t.equal(await got.Body?.transformToString(), 'mine')
})

t.test('without allowRootUsers a uid-0 user is squashed to the anonymous uid/gid, as NFS root_squash does', async t => {
  const b = await startBridge(t)
  const bucketRoot = join(b.bucketDir, 'shared')
  mkdirSync(bucketRoot)
  chmodSync(bucketRoot, 0o777)
  mkdirSync(join(b.bucketDir, 'rootdir')) // root's own 0755 folder
  chmodSync(join(b.bucketDir, 'rootdir'), 0o755)
  nfsFile(join(b.bucketDir, 'root-only.txt'), 'root', 0, 0, 0o600)
  nfsFile(join(b.bucketDir, 'root-group.txt'), 'group', 1001, 0, 0o640)
  const rootish = b.client(await b.addUser('rootish', 0, 0))
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'rootish', type: 'user', permission: 'FULL_CONTROL' }) })
  await t.rejects(rootish.send(new GetObjectCommand({ Bucket: 'demo', Key: 'root-only.txt' })), { name: 'AccessDenied' }, 'not the owner of root-owned files')
  await t.rejects(rootish.send(new GetObjectCommand({ Bucket: 'demo', Key: 'root-group.txt' })), { name: 'AccessDenied' }, 'not in group 0')
  await t.rejects(rootish.send(new PutObjectCommand({ Bucket: 'demo', Key: 'rootdir/planted.txt', Body: 'x' })), { name: 'AccessDenied' })
  await t.rejects(rootish.send(new PutObjectAclCommand({ Bucket: 'demo', Key: 'root-only.txt', ACL: 'public-read-write' })), { name: 'AccessDenied' })
  t.equal(statSync(join(b.bucketDir, 'root-only.txt')).mode & 0o777, 0o600)
  await rootish.send(new PutObjectCommand({ Bucket: 'demo', Key: 'shared/new.txt', Body: 'x' }))
  const st = statSync(join(bucketRoot, 'new.txt'))
  t.same([st.uid, st.gid], [65534, 65534], 'what it writes belongs to nobody, as with root_squash')
})

t.test('a delete prunes only folders the caller could remove itself, whatever marks a folder carries', async t => {
  const b = await startBridge(t)
  const top = join(b.bucketDir, 'top')
  mkdirSync(join(top, 'sub'), { recursive: true })
  chownSync(top, 1001, 1001)
  chmodSync(top, 0o755) // alice's: bob may not remove what is in it
  chownSync(join(top, 'sub'), 1001, 1001)
  chmodSync(join(top, 'sub'), 0o777)
  // The implicit mark is a user.* xattr: bob may set it over NFS on a folder he can write.
  await setAttribute(join(top, 'sub'), 'user.s3bridge.implicit', Buffer.from('1'))
  const bob = b.client(await b.addUser('bob', 1002, 1002))
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'bob', type: 'user', permission: 'FULL_CONTROL' }) })
  await bob.send(new PutObjectCommand({ Bucket: 'demo', Key: 'top/sub/f.txt', Body: 'x' }))
  await bob.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'top/sub/f.txt' }))
  t.ok(existsSync(join(top, 'sub')), 'alice\'s folder stays: bob could not rmdir it')
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'alice', type: 'user', permission: 'FULL_CONTROL' }) })
  const alice = b.client(await b.addUser('alice', 1001, 1001))
  await alice.send(new PutObjectCommand({ Bucket: 'demo', Key: 'top/sub/g.txt', Body: 'x' }))
  await alice.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'top/sub/g.txt' }))
  t.notOk(existsSync(join(top, 'sub')), 'a caller who may remove it prunes it')
})

t.test('DeleteObject in a sticky folder is refused for files of other users', async t => {
  const b = await startBridge(t)
  const dir = join(b.bucketDir, 'tmp')
  mkdirSync(dir)
  chmodSync(dir, 0o1777)
  nfsFile(join(dir, 'alice.txt'), 'a', 1001, 1001, 0o666)
  const carol = b.client(await b.addUser('carol', 1003, 1003))
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'carol', type: 'user', permission: 'WRITE' }) })
  await t.rejects(carol.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'tmp/alice.txt' })), { name: 'AccessDenied' })
  t.ok(existsSync(join(dir, 'alice.txt')))
})

t.test('PutObject with x-amz-acl public-read makes the file world-readable; under deny it is refused', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'pub.txt', Body: 'x', ACL: 'public-read' }))
  t.equal(statSync(join(b.bucketDir, 'pub.txt')).mode & 0o777, 0o644)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'priv.txt', Body: 'x', ACL: 'private' }))
  t.equal(statSync(join(b.bucketDir, 'priv.txt')).mode & 0o777, 0o600)
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.objectAclPolicy = 'deny' })
  await t.rejects(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'pub2.txt', Body: 'x', ACL: 'public-read' })), { name: 'AccessDenied' })
  t.notOk(existsSync(join(b.bucketDir, 'pub2.txt')))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'ok.txt', Body: 'x', ACL: 'private' }))
  t.ok(existsSync(join(b.bucketDir, 'ok.txt')), 'x-amz-acl: private still passes under deny')
})

t.test('new files and folders honour setgid parents and default ACLs', async t => {
  const b = await startBridge(t)
  const { execFileSync } = await import('node:child_process')
  const shared = join(b.bucketDir, 'shared')
  mkdirSync(shared)
  chownSync(shared, 2000, 4242)
  chmodSync(shared, 0o2775)
  execFileSync('setfacl', ['-d', '-m', 'u:1005:rw,g::r,o::-', shared])
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'shared/sub/f.txt', Body: 'x' }))
  const f = statSync(join(shared, 'sub/f.txt'))
  t.equal(f.uid, 2000)
  t.equal(f.gid, 4242, 'group comes from the setgid parent')
  const acl = execFileSync('getfacl', ['-n', '--omit-header', join(shared, 'sub/f.txt')]).toString()
  t.match(acl, /user:1005:rw-/, 'access ACL inherited from the default ACL')
  t.match(acl, /other::---/)
  const dacl = execFileSync('getfacl', ['-n', '--omit-header', '-d', join(shared, 'sub')]).toString()
  t.match(dacl, /user:1005:rw-/, 'the new folder inherits the default ACL too')
  t.equal(statSync(join(shared, 'sub')).gid, 4242)
  // A typical project default ACL (group::rwx): canned ACLs on files made under it give nobody execute.
  const proj = join(b.bucketDir, 'proj')
  mkdirSync(proj)
  chownSync(proj, 2000, 4242)
  execFileSync('setfacl', ['-m', 'u::rwx,g::rwx,o::rx', '-d', '-m', 'u::rwx,g::rwx,o::rx,u:1005:rwx', proj])
  for (const [ACL, mode] of [['private', 0o600], ['public-read', 0o644]] as const) {
    await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: `proj/${ACL}.txt`, Body: 'x', ACL }))
    t.equal(statSync(join(proj, `${ACL}.txt`)).mode & 0o777, mode, `${ACL}: no execute bit from the folder's default ACL`)
  }
})

t.test('ACL headers sent with CreateMultipartUpload apply to the completed object', async t => {
  const b = await startBridge(t)
  const { CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand } = await import('@aws-sdk/client-s3')
  const { UploadId } = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp.bin', ACL: 'public-read' }))
  const part = await b.s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'mp.bin', UploadId, PartNumber: 1, Body: 'tiny' }))
  await b.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'mp.bin', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }))
  t.equal(statSync(join(b.bucketDir, 'mp.bin')).mode & 0o777, 0o644)
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.objectAclPolicy = 'deny' })
  await t.rejects(b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp2.bin', ACL: 'public-read' })), { name: 'AccessDenied' })
})

t.test('parallel uploads into a new folder all succeed: the folder appears already owned by the writer', async t => {
  const b = await startBridge(t)
  for (let round = 0; round < 3; round++) {
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) =>
      b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: `r${round}/sub/deeper/${i}.txt`, Body: String(i) }))))
    t.same(results.map(r => r.status), Array(12).fill('fulfilled'), `round ${round}`)
    t.equal(statSync(join(b.bucketDir, `r${round}/sub`)).uid, 2000)
  }
})

t.test('an ETag If-Match on a write needs read on the file: no 412/200 oracle on content the writer may not read (sweep 24b F3)', async t => {
  const b = await startBridge(t)
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'carol', type: 'user', permission: 'WRITE' }, { name: 'carol', type: 'user', permission: 'READ' }) })
  mkdirSync(join(b.bucketDir, 'cw'))
  chmodSync(join(b.bucketDir, 'cw'), 0o777)
  const put = await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'cw/pin', Body: '4711' }))
  chmodSync(join(b.bucketDir, 'cw/pin'), 0o600)
  const carol = b.client(await b.addUser('carol', 1003, 1003))
  const right = put.ETag!
  const wrong = '"81dc9bdb52d04dc20036dbd8313ed055"'
  await carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'cw/src', Body: '4711' }))
  for (const IfMatch of [wrong, right]) {
    await t.rejects(carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'cw/pin', Body: '4711', IfMatch })), { name: 'AccessDenied' }, `PutObject If-Match ${IfMatch === right ? 'right' : 'wrong'}: 403 either way`)
    await t.rejects(carol.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'cw/pin', CopySource: 'demo/cw/src', IfMatch })), { name: 'AccessDenied' }, 'CopyObject onto it likewise')
    const { UploadId } = await carol.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'cw/pin' }))
    const part = await carol.send(new UploadPartCommand({ Bucket: 'demo', Key: 'cw/pin', UploadId, PartNumber: 1, Body: '4711' }))
    await t.rejects(carol.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'cw/pin', UploadId, IfMatch, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } })), { name: 'AccessDenied' }, 'Complete likewise')
  }
  t.equal(readFileSync(join(b.bucketDir, 'cw/pin'), 'utf8'), '4711')
  t.equal(statSync(join(b.bucketDir, 'cw/pin')).uid, 2000, 'still the owner\'s file')
  await carol.send(new PutObjectCommand({ Bucket: 'demo', Key: 'cw/pin', Body: 'replaced', IfMatch: '*' }))
  t.equal(readFileSync(join(b.bucketDir, 'cw/pin'), 'utf8'), 'replaced', 'If-Match: * only asks that it exist: the folder lets carol replace it, as over NFS')
})
