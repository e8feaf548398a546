// putObject publishes with one rename: a folder at the key's name is refused, nothing is left in staging, and the
// addon's one-job publish and the Node calls (with and without fsync) leave the same owner, mode and metadata.
import t from 'tap'
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { putObject } from '../../lib/storage/objects.js'
import { parseObjectKey } from '../../lib/storage/paths.js'
import { getAttribute } from '../../lib/storage/xattr.js'
import { META_XATTR } from '../../lib/storage/xattrs.js'

const root = t.testdir({ bucket: {} })
const bucket = { name: 'b', root: join(root, 'bucket') }
const opts = { owner: { uid: 2000, gid: 2000 }, fileMode: 0o644, dirMode: 0o755, fsync: false }

t.test('a folder at the key\'s name: InvalidRequest, the folder and its files untouched, no temp file left', async t => {
  mkdirSync(join(bucket.root, 'folder'))
  writeFileSync(join(bucket.root, 'folder', 'inner'), 'kept')
  await t.rejects(putObject(bucket, parseObjectKey('folder'), Readable.from([Buffer.from('x')]), { user: {} }, opts), { code: 'InvalidRequest' })
  t.equal(readFileSync(join(bucket.root, 'folder', 'inner'), 'utf8'), 'kept')
  t.same(readdirSync(join(bucket.root, '.s3bridge', 'tmp')), [])
})

t.test('a plain key is published whole', async t => {
  const r = await putObject(bucket, parseObjectKey('a/b'), Readable.from([Buffer.from('hello')]), { user: {} }, opts)
  t.equal(readFileSync(join(bucket.root, 'a', 'b'), 'utf8'), 'hello')
  t.equal(r.md5Hex, '5d41402abc4b2a76b9719d911017c592')
})

// The publish step (owner, fsync, metadata, rename) is one addon job or four Node calls: both give the same file.
for (const native of [true, false]) {
  for (const fsync of [false, true]) {
    t.test(`published with owner, mode and metadata (${native ? 'addon' : 'Node calls'}, fsync ${fsync})`, async t => {
      const saved = process.env.S3BRIDGE_NO_NATIVE_STAT
      if (!native) process.env.S3BRIDGE_NO_NATIVE_STAT = '1'
      t.teardown(() => { if (saved === undefined) delete process.env.S3BRIDGE_NO_NATIVE_STAT; else process.env.S3BRIDGE_NO_NATIVE_STAT = saved })
      const key = `owned/${native ? 'n' : 'j'}-${fsync ? 's' : 'a'}`
      const r = await putObject(bucket, parseObjectKey(key), Readable.from([Buffer.from('data')]), { user: { k: 'v' }, contentType: 'text/x' }, { ...opts, owner: { uid: 2345, gid: 3456 }, fsync })
      const st = lstatSync(join(bucket.root, key))
      t.same([st.uid, st.gid, st.mode & 0o7777], [2345, 3456, 0o644], 'owner and mode of the principal')
      t.equal(readFileSync(join(bucket.root, key), 'utf8'), 'data')
      const stored = JSON.parse((await getAttribute(join(bucket.root, key), META_XATTR)).toString('utf8')) as { etag: string, contentType: string, user: Record<string, string>, stampSize: string }
      t.same([stored.etag, stored.contentType, stored.user, stored.stampSize], [r.md5Hex, 'text/x', { k: 'v' }, '4'], 'metadata stamped with the published size')
      t.same(readdirSync(join(bucket.root, '.s3bridge', 'tmp')), [], 'nothing left in staging')
    })
  }
}
