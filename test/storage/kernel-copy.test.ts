// Range copies between real files: the native kernel copy (reflink / copy_file_range) and the streaming fallback
// give the same bytes; real errors propagate; multipart Complete assembles the same object either way.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, existsSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { packageRoot } from '../../lib/config/package-root.js'
import { copyFileRange, kernelCopyAddon, type CopyOptions } from '../../lib/storage/kernel-copy.js'
import { completeUpload } from '../../lib/storage/multipart-complete.js'
import { createUpload, uploadPart } from '../../lib/storage/multipart.js'
import { keyToPath } from '../../lib/storage/paths.js'
import type { ObjectKey } from '../../lib/storage/types.js'

const MiB = 1024 * 1024
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const addonBuilt = existsSync(join(packageRoot(), 'native', 'build', 'Release', 'kernel_copy.node'))

/** [srcOffset, dstOffset, length]: odd offsets and lengths, an overwrite in the middle, multi-MiB, and past 64 MiB (several addon calls). */
const ranges: Array<[number, number, number]> = [
  [1, 7, 1],
  [13, 4099, 4093],
  [4096, 0, 8 * MiB + 5],
  [3 * MiB + 17, 9 * MiB + 1, 5 * MiB + 333],
  [0, 20 * MiB, 67 * MiB + 12345],
  [70 * MiB - 1, 5, 1],
]
const SRC_SIZE = 70 * MiB

async function copyAll (dir: string, src: Buffer, opts: CopyOptions): Promise<{ got: Buffer, methods: string[] }> {
  const srcPath = join(dir, 'src.bin')
  const dstPath = join(dir, 'dst.bin')
  writeFileSync(srcPath, src)
  writeFileSync(dstPath, Buffer.alloc(3, 0xee))
  const s = await open(srcPath, 'r')
  const d = await open(dstPath, 'r+')
  const methods: string[] = []
  try {
    for (const [so, doff, len] of ranges) methods.push(await copyFileRange(s, so, d.fd, doff, len, opts))
  } finally {
    await s.close()
    await d.close()
  }
  return { got: readFileSync(dstPath), methods }
}

function expected (src: Buffer): Buffer {
  const end = Math.max(3, ...ranges.map(([, d, l]) => d + l))
  const out = Buffer.alloc(end)
  out.fill(0xee, 0, 3)
  for (const [so, doff, len] of ranges) src.copy(out, doff, so, so + len)
  return out
}

t.test('odd ranges copy byte for byte, with the kernel and by streaming', async t => {
  const src = randomBytes(SRC_SIZE)
  const want = expected(src)
  const kernel = await copyAll(t.testdir({}), src, {})
  t.equal(kernel.got.length, want.length, 'destination length')
  t.equal(sha(kernel.got), sha(want), 'same bytes (default path)')
  const streamed = await copyAll(t.testdir({}), src, { forceStream: true })
  t.equal(sha(streamed.got), sha(want), 'same bytes (streaming)')
  t.ok(streamed.methods.every(m => m === 'stream'), 'forceStream streams')
  if (addonBuilt) {
    t.ok(kernelCopyAddon(), 'the built addon loads')
    t.ok(kernel.methods.every(m => m === 'copy' || m === 'clone'), `the kernel did the copies here: ${kernel.methods.join(',')}`)
  } else {
    t.comment('native/build/Release/kernel_copy.node not built: only the streaming path is exercised')
    t.ok(kernel.methods.every(m => m === 'stream'))
  }
})

t.test('S3BRIDGE_NO_KERNEL_COPY=1 forces streaming at call time', async t => {
  const before = process.env.S3BRIDGE_NO_KERNEL_COPY
  t.teardown(() => {
    if (before === undefined) delete process.env.S3BRIDGE_NO_KERNEL_COPY
    else process.env.S3BRIDGE_NO_KERNEL_COPY = before
  })
  process.env.S3BRIDGE_NO_KERNEL_COPY = '1'
  const src = randomBytes(SRC_SIZE)
  const { got, methods } = await copyAll(t.testdir({}), src, {})
  t.equal(sha(got), sha(expected(src)))
  t.ok(methods.every(m => m === 'stream'), methods.join(','))
})

t.test('a range past the end of the source fails with EIO, either way', async t => {
  const dir = t.testdir({ 'src.bin': randomBytes(10_000), 'dst.bin': '' })
  for (const opts of [{}, { forceStream: true }]) {
    const s = await open(join(dir, 'src.bin'), 'r')
    const d = await open(join(dir, 'dst.bin'), 'r+')
    await t.rejects(copyFileRange(s, 9_990, d, 0, 100, opts), { code: 'EIO' }, `10 of 100 bytes ${JSON.stringify(opts)}`)
    await t.rejects(copyFileRange(s, 20_000, d, 0, 1, opts), { code: 'EIO' }, `starting past EOF ${JSON.stringify(opts)}`)
    await s.close()
    await d.close()
  }
  const s = await open(join(dir, 'src.bin'), 'r')
  t.equal(await copyFileRange(s, 0, 1, 0, 0).then(() => 'ok'), 'ok', 'zero bytes copies nothing')
  await t.rejects(copyFileRange(s, -1, 1, 0, 1), RangeError)
  await s.close()
})

t.test('real failures propagate; a copy the kernel refuses falls back to streaming', async t => {
  const dir = t.testdir({ 'src.bin': randomBytes(3 * MiB + 1), 'ro.bin': 'x' })
  const s = await open(join(dir, 'src.bin'), 'r')
  t.teardown(() => s.close())
  const ro = await open(join(dir, 'ro.bin'), 'r')
  await t.rejects(copyFileRange(s, 0, ro, 0, 10), { code: 'EBADF' }, 'a read-only destination')
  await ro.close()
  if (existsSync('/dev/full')) {
    // copy_file_range refuses a character device (EINVAL): the streaming fallback then meets ENOSPC and must report it.
    const full = await open('/dev/full', 'w')
    await t.rejects(copyFileRange(s, 0, full, 0, 2 * MiB), { code: 'ENOSPC' }, 'ENOSPC is not swallowed')
    await full.close()
    t.equal((await s.stat()).size, 3 * MiB + 1, 'a failed fallback leaves the caller\'s source descriptor open')
  }
  // Another filesystem (tmpfs): copy_file_range answers EXDEV, the range is streamed instead.
  for (const other of ['/dev/shm', tmpdir()]) {
    if (!existsSync(other) || statSync(other).dev === statSync(dir).dev) continue
    const path = join(other, `s3bridge-kernel-copy-${process.pid}.bin`)
    t.teardown(() => import('node:fs/promises').then(fs => fs.rm(path, { force: true })))
    const d = await open(path, 'w+')
    const method = await copyFileRange(s, 5, d, 3, 3 * MiB - 4).finally(() => d.close())
    t.equal(sha(readFileSync(path).subarray(3)), sha(readFileSync(join(dir, 'src.bin')).subarray(5)), `across filesystems to ${other}`)
    if (addonBuilt) t.equal(method, 'stream', 'fell back to streaming')
    break
  }
})

t.test('CompleteMultipartUpload assembles the same object with and without the kernel copy', async t => {
  const before = process.env.S3BRIDGE_NO_KERNEL_COPY
  t.teardown(() => {
    if (before === undefined) delete process.env.S3BRIDGE_NO_KERNEL_COPY
    else process.env.S3BRIDGE_NO_KERNEL_COPY = before
  })
  const parts = [randomBytes(5 * MiB + 1), randomBytes(5 * MiB + 4095), randomBytes(777)]
  const whole = Buffer.concat(parts)
  for (const mode of ['kernel', 'stream']) {
    if (mode === 'stream') process.env.S3BRIDGE_NO_KERNEL_COPY = '1'
    else delete process.env.S3BRIDGE_NO_KERNEL_COPY
    const root = join(t.testdir({ kernel: {}, stream: {} }), mode)
    const bucket = { name: 'b', root }
    const key = 'dir/big.bin' as ObjectKey
    const owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }
    const u = await createUpload(bucket, key, { user: {} }, { name: 'tester', ...owner }, new Date())
    const refs = []
    for (const [i, body] of parts.entries()) {
      const rec = await uploadPart(bucket, key, u.uploadId, i + 1, Readable.from([body]))
      refs.push({ partNumber: i + 1, etag: rec.etag })
    }
    const result = await completeUpload(bucket, key, u.uploadId, refs, { owner, fileMode: 0o644, dirMode: 0o755, fsync: false })
    t.match(result.etag, /-3$/, `${mode}: multipart ETag`)
    t.equal(result.info?.size, whole.length, `${mode}: size`)
    t.equal(sha(readFileSync(keyToPath(root, key))), sha(whole), `${mode}: the object is the parts in order`)
  }
})

/** A 48 MiB file with data only at [8, 9) MiB and [40 MiB, 40 MiB + 4097): the rest are holes, the end too. */
function sparseSource (dir: string): { path: string, bytes: Buffer } {
  const path = join(dir, 'sparse.bin')
  const bytes = Buffer.alloc(48 * MiB)
  randomBytes(MiB).copy(bytes, 8 * MiB)
  randomBytes(4097).copy(bytes, 40 * MiB)
  writeFileSync(path, '')
  truncateSync(path, bytes.length)
  const fd = openSync(path, 'r+')
  writeSync(fd, bytes, 8 * MiB, MiB, 8 * MiB)
  writeSync(fd, bytes, 40 * MiB, 4097, 40 * MiB)
  closeSync(fd)
  return { path, bytes }
}

t.test('the kernel copy keeps a sparse source\'s holes as holes, and writes zeros over existing data', { skip: !addonBuilt && 'addon not built' }, async t => {
  const dir = t.testdir({})
  const src = sparseSource(dir)
  t.ok(statSync(src.path).blocks * 512 < 4 * MiB, 'the source is sparse here')
  const s = await open(src.path, 'r')
  t.teardown(() => s.close())
  // A fresh destination: what is skipped reads as zeros, and the copy allocates about what the source holds.
  const fresh = join(dir, 'fresh.bin')
  writeFileSync(fresh, '')
  const d1 = await open(fresh, 'r+')
  await copyFileRange(s, 0, d1.fd, 0, src.bytes.length, {})
  await copyFileRange(s, 16 * MiB, d1.fd, src.bytes.length, 1000, {}) // a range all hole, appended
  await d1.close()
  const got = readFileSync(fresh)
  t.equal(got.length, src.bytes.length + 1000, 'full length, though the range ended in a hole')
  t.equal(sha(got), sha(Buffer.concat([src.bytes, Buffer.alloc(1000)])), 'same bytes')
  const st = statSync(fresh)
  // Same filesystem as the source, which holds holes (checked above).
  t.ok(st.blocks * 512 < 8 * MiB, `holes stayed holes: ${st.blocks * 512} bytes allocated`)
  // A destination with data where the copy lands: the holes must overwrite it with zeros.
  const used = join(dir, 'used.bin')
  writeFileSync(used, Buffer.alloc(48 * MiB, 0xee))
  const d2 = await open(used, 'r+')
  await copyFileRange(s, 0, d2.fd, 0, src.bytes.length, {})
  await d2.close()
  t.equal(sha(readFileSync(used)), sha(src.bytes), 'zeros written over the old data')
})
