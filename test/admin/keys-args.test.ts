// Small admin mistakes get the answer that names them (walkthrough 23): a key named after the user works for
// delete and rotate as for activate and deactivate, an unknown user is an error rather than an empty table, and
// creating a user that exists says so before any NSS look-up; users delete names the keys it took away, and explain
// will not answer for an object without its key.
import t from 'tap'
import { chownSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge } from '../fixtures/daemon.js'
import { bridgectl } from '../fixtures/bridgectl.js'

t.test('keys delete and rotate take the key id after the user, as activate and deactivate do', async t => {
  const b = await startBridge(t)
  t.equal((await bridgectl(b, 'users', 'create', 'kate', '--uid', '1301', '--gid', '1301')).code, 0)
  const made = JSON.parse((await bridgectl(b, 'keys', 'create', 'kate', '--json')).stdout) as { accessKeyId: string }
  const second = JSON.parse((await bridgectl(b, 'keys', 'create', 'kate', '--json')).stdout) as { accessKeyId: string }
  const rotated = await bridgectl(b, 'keys', 'rotate', 'kate', made.accessKeyId, '--old-key-expiry', '0', '--json')
  t.equal(rotated.code, 0, rotated.stderr)
  t.equal((JSON.parse(rotated.stdout) as { accessKeyId: string }).accessKeyId, made.accessKeyId, 'that key was rotated')
  const both = await bridgectl(b, 'keys', 'delete', 'kate', made.accessKeyId, '--key', second.accessKeyId)
  t.equal(both.code, 2, 'two different keys: a usage error')
  const del = await bridgectl(b, 'keys', 'delete', 'kate', made.accessKeyId)
  t.equal(del.code, 0, del.stderr)
  t.match(del.stdout, `deleted key ${made.accessKeyId}`)
  const left = JSON.parse((await bridgectl(b, 'keys', 'list', 'kate', '--json')).stdout) as Array<{ accessKeyId: string }>
  t.same(left.map(k => k.accessKeyId), [second.accessKeyId], 'only the other key is left')
  t.equal((await bridgectl(b, 'keys', 'delete', 'kate', '--key', second.accessKeyId)).code, 0, '--key still works')
})

t.test('keys list of an unknown user and users create of an existing one name the mistake', async t => {
  const b = await startBridge(t)
  const ghost = await bridgectl(b, 'keys', 'list', 'ghost')
  t.equal(ghost.code, 1)
  t.match(ghost.stderr, /user "ghost" does not exist/)
  t.equal((await bridgectl(b, 'users', 'create', 'nonss', '--uid', '1302', '--gid', '1302')).code, 0)
  const again = await bridgectl(b, 'users', 'create', 'nonss')
  t.equal(again.code, 1)
  t.match(again.stderr, /user "nonss" already exists/, 'not "no system account in NSS"')
})

t.test('users delete names the keys and service accounts it removed', async t => {
  const b = await startBridge(t)
  t.equal((await bridgectl(b, 'users', 'create', 'lena', '--uid', '1303', '--gid', '1303')).code, 0)
  const k1 = JSON.parse((await bridgectl(b, 'keys', 'create', 'lena', '--json')).stdout) as { accessKeyId: string }
  const k2 = JSON.parse((await bridgectl(b, 'keys', 'create', 'lena', '--json')).stdout) as { accessKeyId: string }
  const sa = await bridgectl(b, 'users', 'svcacct', 'add', 'lena', '--json')
  t.equal(sa.code, 0, sa.stderr)
  const child = (JSON.parse(sa.stdout) as { accessKeyId: string }).accessKeyId
  const del = await bridgectl(b, 'users', 'delete', 'lena', '--json')
  t.equal(del.code, 0, del.stderr)
  t.same((JSON.parse(del.stdout) as { keysDeleted: string[] }).keysDeleted, [k1.accessKeyId, k2.accessKeyId, child].sort())
  t.equal((await bridgectl(b, 'users', 'create', 'mona', '--uid', '1304', '--gid', '1304')).code, 0)
  const k3 = JSON.parse((await bridgectl(b, 'keys', 'create', 'mona', '--json')).stdout) as { accessKeyId: string }
  t.match((await bridgectl(b, 'users', 'delete', 'mona')).stdout, `deleted user mona; deleted its access key(s) ${k3.accessKeyId}`)
})

t.test('explain of an object operation without a key is a usage error, not an ALLOWED that skipped the file', async t => {
  const b = await startBridge(t)
  t.equal((await bridgectl(b, 'users', 'create', 'nora', '--uid', '1305', '--gid', '1305')).code, 0)
  for (const action of ['GetObject', 's3:GetObject', 'PutObject', 'DeleteObject']) {
    const r = await bridgectl(b, 'explain', 'nora', 'demo', action)
    t.equal(r.code, 2, action)
    t.match(r.stderr, /acts on an object: name its key/, action)
  }
  const list = await bridgectl(b, 'explain', 'nora', 'demo', 'ListObjectsV2')
  t.equal(list.code, 0, 'a bucket operation needs no key')
  t.match(list.stdout, /^ListObjectsV2 on /)
})

t.test('explain of GetObjectAttributes also weighs s3:GetObject, as the request does', async t => {
  const b = await startBridge(t)
  writeFileSync(join(b.bucketDir, 'f.txt'), 'x')
  chownSync(join(b.bucketDir, 'f.txt'), 2000, 2000)
  t.equal((await bridgectl(b, 'users', 'create', 'olga', '--uid', '2000', '--gid', '2000')).code, 0)
  await bridgectl(b, 'buckets', 'modify', 'demo', '--add-ace', 'name=olga,type=user,perm=read')
  const allowed = await bridgectl(b, 'explain', 'olga', 'demo', 'f.txt', 'GetObjectAttributes')
  t.match(allowed.stdout, /=> ALLOWED/, allowed.stdout)
  const deny = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::demo/*' }] })
  t.equal((await bridgectl(b, 'policies', 'create', 'no-read', '--document', deny)).code, 0)
  t.equal((await bridgectl(b, 'users', 'attach-policy', 'olga', 'no-read')).code, 0)
  const denied = await bridgectl(b, 'explain', 'olga', 'demo', 'f.txt', 'GetObjectAttributes')
  t.match(denied.stdout, /policy\s+DENY\s+Deny s3:GetObject on arn:aws:s3:::demo\/f.txt/)
  t.match(denied.stdout, /=> DENIED/)
})
