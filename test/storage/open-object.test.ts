// openObject / openObjectToServe / headObject read only the key's own file: never through a symlink, whoever
// planted it. Every case runs twice: through the addon's one-job reads (walkPath, readObject) and through Node's fs
// calls (S3BRIDGE_NO_NATIVE_STAT=1).
import t from 'tap'
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { headObject, INLINE_READ_MAX, openObject, openObjectToServe, prefetchForRead } from '../../lib/storage/objects.js'
import { nativeAddon } from '../../lib/storage/native.js'
import { parseObjectKey } from '../../lib/storage/paths.js'

const top = t.testdir({ bucket: { real: { 'inside.txt': 'inside' }, 'plain.txt': 'plain' }, outside: { 'secret.txt': 'secret' } })
const root = join(top, 'bucket')
const bucket = { name: 'b', root }
symlinkSync(join(top, 'outside'), join(root, 'out-link'))
symlinkSync(join(root, 'real'), join(root, 'dir-link'))
symlinkSync('real/inside.txt', join(root, 'file-link'))

async function text (body: Readable | Buffer): Promise<string> {
  if (Buffer.isBuffer(body)) return body.toString()
  const chunks: Buffer[] = []
  for await (const c of body) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString()
}

const modes = nativeAddon()?.readObject ? [true, false] : [false]
for (const native of modes) {
  t.test(native ? 'with the addon' : 'with Node fs calls', async t => {
    const saved = process.env.S3BRIDGE_NO_NATIVE_STAT
    if (!native) process.env.S3BRIDGE_NO_NATIVE_STAT = '1'
    t.teardown(() => { if (saved === undefined) delete process.env.S3BRIDGE_NO_NATIVE_STAT; else process.env.S3BRIDGE_NO_NATIVE_STAT = saved })
    t.test('plain files are served, inline when small and as a stream when large', async t => {
      const small = await openObjectToServe(bucket, parseObjectKey('plain.txt'))
      t.ok(Buffer.isBuffer(small.body), 'a small object is one buffer')
      t.equal(await text(small.body), 'plain')
      const ranged = await openObjectToServe(bucket, parseObjectKey('real/inside.txt'), { start: 1, end: 3 })
      t.equal(await text(ranged.body), 'nsi', 'a range is read at its offset')
      writeFileSync(join(root, 'big'), Buffer.alloc(INLINE_READ_MAX + 1, 'z'))
      const tail = await openObjectToServe(bucket, parseObjectKey('big'), { start: INLINE_READ_MAX - 1, end: INLINE_READ_MAX })
      t.equal(await text(tail.body), 'zz', 'a small range of a large object')
      for (const k of ['plain.txt', 'real/inside.txt', 'big']) {
        const direct = await openObjectToServe(bucket, parseObjectKey(k))
        const early = await openObjectToServe(bucket, parseObjectKey(k), { start: 1, end: 3 }, prefetchForRead(bucket, parseObjectKey(k)))
        t.same(early.info, direct.info, `${k}: the walk's read gives the same info`)
        t.equal(await text(early.body), (await text(direct.body)).slice(1, 4), `${k}: and the same bytes`)
        t.same(await headObject(bucket, parseObjectKey(k), prefetchForRead(bucket, parseObjectKey(k), { read: false })), direct.info, `${k}: HeadObject from the walk`)
      }
      const big = await openObjectToServe(bucket, parseObjectKey('big'))
      t.notOk(Buffer.isBuffer(big.body), 'a large object is streamed')
      t.equal((await text(big.body)).length, INLINE_READ_MAX + 1)
      t.equal(await text((await openObject(bucket, parseObjectKey('plain.txt'))).body), 'plain', 'openObject streams')
    })

    for (const key of ['out-link/secret.txt', 'dir-link/inside.txt', 'file-link']) {
      t.test(`${key}: NoSuchKey, never the file behind the link`, async t => {
        await t.rejects(openObjectToServe(bucket, parseObjectKey(key)), { code: 'NoSuchKey' })
        await t.rejects(openObject(bucket, parseObjectKey(key)), { code: 'NoSuchKey' })
        await t.rejects(headObject(bucket, parseObjectKey(key)), { code: 'NoSuchKey' })
      const pre = prefetchForRead(bucket, parseObjectKey(key))
      t.equal(pre === undefined, !native, 'GetObject prefetches its walk and read only with the addon')
      await t.rejects(openObjectToServe(bucket, parseObjectKey(key), undefined, pre), { code: 'NoSuchKey' }, 'with the walk\'s own read')
      await t.rejects(headObject(bucket, parseObjectKey(key), prefetchForRead(bucket, parseObjectKey(key), { read: false })), { code: 'NoSuchKey' }, 'HeadObject from the walk')
      })
    }

    t.test('a version replaced after it was opened is still served whole', async t => {
      writeFileSync(join(root, 'v'), 'version-1')
      let replaced = false
      const opened = await openObjectToServe(bucket, parseObjectKey('v'), info => {
        // Runs after open and fstat: an NFS user renames a new version over the key right now.
        writeFileSync(join(root, 'v.new'), 'version-2!')
        renameSync(join(root, 'v.new'), join(root, 'v'))
        replaced = true
        t.equal(info.size, 9)
        return undefined
      })
      t.ok(replaced)
      t.equal(await text(opened.body), 'version-1')
    })

    t.test('a folder or a missing path is NoSuchKey', async t => {
      mkdirSync(join(root, 'folder'), { recursive: true })
      await t.rejects(openObjectToServe(bucket, parseObjectKey('folder')), { code: 'NoSuchKey' })
      await t.rejects(openObjectToServe(bucket, parseObjectKey('nope/x')), { code: 'NoSuchKey' })
      await t.rejects(openObjectToServe(bucket, parseObjectKey('plain.txt/x')), { code: 'NoSuchKey' })
      await t.rejects(headObject(bucket, parseObjectKey('folder')), { code: 'NoSuchKey' })
      await t.rejects(headObject(bucket, parseObjectKey('folder/')), { code: 'NoSuchKey' }, 'a folder nobody made an object')
      await t.rejects(headObject(bucket, parseObjectKey('plain.txt/x')), { code: 'NoSuchKey' })
      t.equal((await headObject(bucket, parseObjectKey('real/inside.txt'))).size, 6)
    })

    t.test('a file that shrinks after fstat: an error with Node calls, the bytes read with the addon (one job reads it whole)', async t => {
      writeFileSync(join(root, 'shrinks'), 'twelve bytes')
      const served = openObjectToServe(bucket, parseObjectKey('shrinks'), () => {
        writeFileSync(join(root, 'shrinks'), 'six b!') // truncates the same inode
        return undefined
      })
      if (native) t.equal(await text((await served).body), 'twelve bytes', 'read before the truncation, whole')
      else await t.rejects(served, { code: 'InternalError' }, 'never a body shorter than its Content-Length')
    })
  })
}
