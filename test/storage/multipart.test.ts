// Multipart storage on its own: ids, part size runs, the admin listing and the stale-upload sweep.
import t from 'tap'
import { existsSync, readdirSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { completeUpload, tombstonePath } from '../../lib/storage/multipart-complete.js'
import { abortStaleUploads, listAllUploads } from '../../lib/storage/multipart-list.js'
import {
  createUpload, encodePartSizes, multipartETag, parsePartNumber, parseUploadId, partByteRange, partCountOf,
  uploadPart, uploadsDir,
} from '../../lib/storage/multipart.js'
import type { ObjectKey, ObjectMeta } from '../../lib/storage/types.js'

const meta: ObjectMeta = { user: {} }
const initiator = { name: 'tester', uid: 2000, gid: 2000 }
const writeOpts = { owner: { uid: 2000, gid: 2000 }, fileMode: 0o644, dirMode: 0o755, fsync: false }

t.test('upload ids are unguessable, time-ordered and validated before they touch the filesystem', async t => {
  const root = t.testdir({})
  const bucket = { name: 'b', root }
  const first = await createUpload(bucket, 'k' as ObjectKey, meta, initiator, new Date(1_000))
  const second = await createUpload(bucket, 'k' as ObjectKey, meta, initiator, new Date(2_000))
  t.ok(first.uploadId < second.uploadId, 'ids sort by initiation')
  t.equal(parseUploadId(first.uploadId), first.uploadId)
  for (const bad of ['', '..', `${first.uploadId}.completing`, '../uploads/x', first.uploadId.toUpperCase().replace(/^0/, 'G')]) {
    t.throws(() => parseUploadId(bad), { code: 'NoSuchUpload' }, JSON.stringify(bad))
  }
  for (const bad of ['0', '10001', '1.5', '-1', 'x', '']) t.throws(() => parsePartNumber(bad), { code: 'InvalidArgument' })
  t.equal(parsePartNumber('10000'), 10000)
})

t.test('part sizes are stored as runs and give each part\'s byte range', async t => {
  const mib5 = 5 * 1024 * 1024
  const runs = encodePartSizes([mib5, mib5, mib5, 7])
  t.same(runs, [[mib5, 3], [7, 1]])
  t.equal(partCountOf(runs), 4)
  t.same(partByteRange(runs, 1), { start: 0, end: mib5 - 1 })
  t.same(partByteRange(runs, 3), { start: 2 * mib5, end: 3 * mib5 - 1 })
  t.same(partByteRange(runs, 4), { start: 3 * mib5, end: 3 * mib5 + 6 })
  t.equal(partByteRange(runs, 5), undefined)
  t.equal(multipartETag(['d41d8cd98f00b204e9800998ecf8427e']), '59adb24ef3cdbe0297f05b395827453f-1', 'MD5 of the binary part MD5s, then the count')
})

t.test('listAllUploads reports live uploads with their parts and bytes', async t => {
  const root = t.testdir({})
  const bucket = { name: 'b', root }
  const u = await createUpload(bucket, 'a/b.bin' as ObjectKey, meta, initiator, new Date())
  await uploadPart(bucket, 'a/b.bin' as ObjectKey, u.uploadId, 1, Readable.from([Buffer.from('hello')]))
  await uploadPart(bucket, 'a/b.bin' as ObjectKey, u.uploadId, 2, Readable.from([Buffer.from('world!')]))
  const all = await listAllUploads(root)
  t.match(all, [{ uploadId: u.uploadId, key: 'a/b.bin', partCount: 2, bytes: 11, initiator: { name: 'tester' } }])
  t.same(await listAllUploads(t.testdir({})), [], 'a bucket that never had uploads')
})

t.test('abortStaleUploads removes old uploads and leftovers, and keeps recent ones', async t => {
  const root = t.testdir({})
  const bucket = { name: 'b', root }
  const dayMs = 24 * 3600_000
  const now = Date.now()
  const old = await createUpload(bucket, 'old' as ObjectKey, meta, initiator, new Date(now - 3 * dayMs))
  await uploadPart(bucket, 'old' as ObjectKey, old.uploadId, 1, Readable.from([Buffer.from('x')]))
  const fresh = await createUpload(bucket, 'fresh' as ObjectKey, meta, initiator, new Date(now - 1000))
  const done = await createUpload(bucket, 'done' as ObjectKey, meta, initiator, new Date(now - 1000))
  const part = await uploadPart(bucket, 'done' as ObjectKey, done.uploadId, 1, Readable.from([Buffer.from('y')]))
  await completeUpload(bucket, 'done' as ObjectKey, done.uploadId, [{ partNumber: 1, etag: part.etag }], writeOpts)
  const dir = uploadsDir(root)
  const crashed = join(dir, `${fresh.uploadId.slice(0, 12)}${'A'.repeat(32)}.completing`)
  mkdirSync(crashed)
  writeFileSync(join(crashed, 'upload.json'), '{}')
  const past = new Date(now - 2 * dayMs)
  utimesSync(tombstonePath(root, done.uploadId), past, past)

  const later = await abortStaleUploads(root, dayMs, now)
  t.same(later.abortedUploadIds, [old.uploadId])
  t.same(later.removedEntries, [], 'a recent crash leftover and a recent tombstone are kept (their ctime is now)')
  t.same(readdirSync(dir).filter(n => !n.includes('.')).sort(), [fresh.uploadId].sort())

  const sweep = await abortStaleUploads(root, dayMs, now + 2 * dayMs)
  t.same(sweep.abortedUploadIds, [fresh.uploadId])
  t.same(sweep.removedEntries.sort(), [`${done.uploadId}.done`, crashed.slice(dir.length + 1)].sort())
  t.same(readdirSync(dir), [])
  t.ok(existsSync(join(root, 'done')), 'completed objects are never touched')
})
