// putObject publishes with one rename: a folder at the key's name is refused, and nothing is left in staging.
import t from 'tap'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { putObject } from '../../lib/storage/objects.js'
import { parseObjectKey } from '../../lib/storage/paths.js'

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
