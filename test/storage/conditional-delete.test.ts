// A conditional delete is judged again on the entry in the held folder just before the unlink: a newer version
// that lands between the first check and the unlink is not deleted by a condition only the old version met.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { deleteObject, putObject, type FolderCheck, type WriteOptions } from '../../lib/storage/objects.js'
import { deleteGuard } from '../../lib/http/conditional-write.js'
import type { ObjectKey } from '../../lib/storage/types.js'

const root = t.testdir({ d: {} })
const bucket = { name: 'demo', root }
const opts = { owner: { uid: 0, gid: 0 }, fileMode: 0o644, dirMode: 0o755, fsync: false } as WriteOptions
const put = (key: ObjectKey, body: string): ReturnType<typeof putObject> => putObject(bucket, key, Readable.from([Buffer.from(body)]), { user: {} }, opts)

t.test('a PUT landing after the first check survives an If-Match delete aimed at the old version', async t => {
  const key = 'd/lock' as ObjectKey
  const v1 = await put(key, 'v1')
  let raced = false
  // The folder check runs after the first guard and before the unlink: a stand-in for a concurrent PUT of v2.
  const check: FolderCheck = async () => {
    if (raced) return
    raced = true
    await put(key, 'v2')
  }
  await t.rejects(deleteObject(bucket, key, undefined, check, deleteGuard(`"${v1.md5Hex}"`, key)), { code: 'PreconditionFailed' })
  t.ok(raced, 'the concurrent PUT ran in the gap')
  t.equal(readFileSync(join(root, 'd', 'lock'), 'utf8'), 'v2', 'the newer version stays')
})

t.test('the matching version is deleted, and a delete aimed at a key removed in the gap is NoSuchKey', async t => {
  const key = 'd/gone' as ObjectKey
  const v1 = await put(key, 'v1')
  await deleteObject(bucket, key, undefined, undefined, deleteGuard(`"${v1.md5Hex}"`, key))
  t.throws(() => readFileSync(join(root, 'd', 'gone')), { code: 'ENOENT' })
  await put(key, 'again')
  let removed = false
  const check: FolderCheck = async () => {
    if (removed) return
    removed = true
    await deleteObject(bucket, key)
  }
  await t.rejects(deleteObject(bucket, key, undefined, check, deleteGuard('*', key)), { code: 'NoSuchKey' })
})
