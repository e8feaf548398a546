// A conditional delete is judged again on the entry in the held folder just before the unlink: a newer version
// that lands between the first check and the unlink is not deleted by a condition only the old version met.
import t from 'tap'
import { readFileSync, renameSync } from 'node:fs'
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

t.test('an ETag condition is compared only on the file first resolved: another renamed in meanwhile fails it, whatever its ETag (review 18)', async t => {
  const key = 'd/pin' as ObjectKey
  const mine = await put(key, 'mine')
  const victim = await put('d/victim' as ObjectKey, '4711')
  let swapped = false
  // Between the first look (the file the caller's read check judged) and the unlink: an NFS rename puts another
  // file at the key, one whose ETag the condition names.
  const check: FolderCheck = async () => {
    if (swapped) return
    swapped = true
    renameSync(join(root, 'd', 'victim'), join(root, 'd', 'pin'))
  }
  // The list names the caller's own file (the first look passes) and the one it wants to learn about.
  await t.rejects(deleteObject(bucket, key, undefined, check, deleteGuard(`"${mine.md5Hex}", "${victim.md5Hex}"`, key)), { code: 'PreconditionFailed' })
  t.ok(swapped)
  t.equal(readFileSync(join(root, 'd', 'pin'), 'utf8'), '4711', 'the file renamed in stays: its ETag matching said nothing')
  // `*` only asks that something be there: the same swap does not fail it.
  await put('d/other' as ObjectKey, 'other')
  let again = false
  const check2: FolderCheck = async () => {
    if (again) return
    again = true
    renameSync(join(root, 'd', 'other'), join(root, 'd', 'pin'))
  }
  await deleteObject(bucket, key, undefined, check2, deleteGuard('*', key))
  t.throws(() => readFileSync(join(root, 'd', 'pin')), { code: 'ENOENT' })
})
