// writeHashed: an upload body into its staged file with the MD5 of what was written, by the addon's one-job
// write-and-hash and by the streamed fallback (S3BRIDGE_NO_NATIVE_STAT=1); both must agree byte for byte.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { HASH_BATCH_BYTES, writeHashed } from '../../lib/storage/hashed-write.js'
import { nativeAddon } from '../../lib/storage/native.js'
import { mountTmpfs } from '../fixtures/mounts.js'

const dir = mkdtempSync(join(tmpdir(), 's3bridge-hashed-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

function body (size: number, chunk: number): Buffer[] {
  const out: Buffer[] = []
  for (let left = size; left > 0; left -= chunk) out.push(randomBytes(Math.min(chunk, left)))
  return out
}

const native = nativeAddon()?.md5Open?.() !== undefined

t.test('md5Write itself: more buffers than one writev takes (IOV_MAX), typed arrays, one job per handle', { skip: !native && 'no addon' }, async t => {
  const addon = nativeAddon() as Required<NonNullable<ReturnType<typeof nativeAddon>>>
  const bufs = Array.from({ length: 3000 }, (_, i) => Buffer.from([i & 255, (i >> 8) & 255, 7]))
  const typed = new Uint16Array([0x0102, 0x0304])
  const path = join(dir, 'direct')
  const fh = await open(path, 'w')
  const h = addon.md5Open() as NonNullable<ReturnType<typeof addon.md5Open>>
  const job = addon.md5Write(fh.fd, [...bufs, typed as unknown as Buffer], h)
  t.throws(() => addon.md5Write(fh.fd, [], h), { code: 'ERR_INVALID_STATE' }, 'a second job on a busy handle is refused')
  t.equal(await job, 9004)
  await fh.close()
  const whole = Buffer.concat([...bufs, Buffer.from(typed.buffer)])
  t.equal(addon.md5Digest(h), createHash('md5').update(whole).digest('hex'))
  t.ok(readFileSync(path).equals(whole))
  t.throws(() => addon.md5Digest(h), { code: 'ERR_INVALID_STATE' }, 'a handle gives its digest once')

  // Reading the buffers array can run JavaScript (a getter): a job started from there on the same handle would
  // hash concurrently with the first (review 15 saw the digest differ from the file).
  const fh2 = await open(join(dir, 'reentry'), 'w')
  const h2 = addon.md5Open() as NonNullable<ReturnType<typeof addon.md5Open>>
  let inner: unknown
  const arr: Buffer[] = [Buffer.alloc(1024, 1)]
  Object.defineProperty(arr, 1, { enumerable: true, get () { try { addon.md5Write(fh2.fd, [Buffer.from('y')], h2) } catch (err) { inner = err } return Buffer.from('x') } })
  t.equal(await addon.md5Write(fh2.fd, arr, h2), 1025)
  t.match(inner, { code: 'ERR_INVALID_STATE' }, 'a job started while the first reads its buffers is refused')
  await fh2.close()
  t.equal(addon.md5Digest(h2), createHash('md5').update(Buffer.concat([Buffer.alloc(1024, 1), Buffer.from('x')])).digest('hex'))
})
const modes = [{ name: 'addon job', env: undefined }, { name: 'streamed fallback', env: '1' }] as const

t.test('the addon hashes in its write job on this machine (else only the fallback is tested)', async t => {
  t.ok(native, 'md5Open gives a handle: node exports its OpenSSL digest API')
})

for (const mode of modes) {
  t.test(mode.name, async t => {
    const saved = process.env.S3BRIDGE_NO_NATIVE_STAT
    if (mode.env === undefined) delete process.env.S3BRIDGE_NO_NATIVE_STAT
    else process.env.S3BRIDGE_NO_NATIVE_STAT = mode.env
    t.teardown(() => { if (saved === undefined) delete process.env.S3BRIDGE_NO_NATIVE_STAT; else process.env.S3BRIDGE_NO_NATIVE_STAT = saved })

    for (const [label, size, chunk] of [
      ['empty', 0, 1], ['4 KiB', 4096, 4096], ['one byte short of a batch', HASH_BATCH_BYTES - 1, 65536],
      ['a batch exactly', HASH_BATCH_BYTES, 65536], ['9 MiB in odd chunks', 9 * 1024 * 1024 + 13, 65521],
      ['5,000 one-byte chunks (batches end at 1,024 chunks)', 5000, 1],
    ] as const) {
      t.test(label, async t => {
        const chunks = body(size, chunk)
        const whole = Buffer.concat(chunks)
        const path = join(dir, `${mode.name}-${label}`)
        const fh = await open(path, 'w')
        const r = await writeHashed(Readable.from(chunks), fh).finally(() => fh.close())
        t.equal(r.md5Hex, createHash('md5').update(whole).digest('hex'), 'MD5 of the whole body')
        t.equal(r.bytes, size)
        t.ok(readFileSync(path).equals(whole), 'the file holds the body, in order')
      })
    }

    t.test('stages in `through` see every chunk before the file', async t => {
      const chunks = body(3 * 1024 * 1024 + 5, 50_000)
      const seen = createHash('sha256')
      const fh = await open(join(dir, `${mode.name}-through`), 'w')
      const r = await writeHashed(Readable.from(chunks), fh, {
        through: [new Transform({ transform (c: Buffer, _e, cb) { seen.update(c); cb(null, c) } })],
      }).finally(() => fh.close())
      const whole = Buffer.concat(chunks)
      t.equal(seen.digest('hex'), createHash('sha256').update(whole).digest('hex'))
      t.equal(r.md5Hex, createHash('md5').update(whole).digest('hex'))
    })

    t.test('a body over the limit is refused with the limit\'s error', async t => {
      const fh = await open(join(dir, `${mode.name}-limit`), 'w')
      await t.rejects(writeHashed(Readable.from(body(3 * 1024 * 1024, 65536)), fh, {
        limit: { maxBytes: 2 * 1024 * 1024, tooLarge: bytes => Object.assign(new Error(`too large: ${bytes}`), { code: 'TooLarge' }) },
      }), { code: 'TooLarge' })
      await fh.close()
    })

    t.test('a body that fails midway rejects with its error, and the descriptor is free to close at once', async t => {
      const fh = await open(join(dir, `${mode.name}-broken`), 'w')
      const src = new Readable({ read () {} })
      src.push(randomBytes(HASH_BATCH_BYTES + 100)) // one job under way when the body breaks
      setTimeout(() => src.destroy(Object.assign(new Error('client went away'), { code: 'ECONNRESET' })), 5)
      await t.rejects(writeHashed(src, fh), { code: 'ECONNRESET' })
      await fh.close() // would race a write still running on a pool thread
    })

    t.test('a write the kernel refuses is the error (a read-only descriptor: EBADF)', async t => {
      const path = join(dir, `${mode.name}-ro`)
      await (await open(path, 'w')).close()
      const fh = await open(path, 'r')
      await t.rejects(writeHashed(Readable.from(body(2 * 1024 * 1024, 65536)), fh), { code: 'EBADF' })
      await fh.close()
    })

    t.test('a full filesystem is ENOSPC, not a short file reported as whole', async t => {
      const mnt = join(dir, `${mode.name}-full`)
      rmSync(mnt, { recursive: true, force: true })
      await import('node:fs/promises').then(fs => fs.mkdir(mnt))
      if (!mountTmpfs(t, mnt, 'size=2m')) return
      const fh = await open(join(mnt, 'big'), 'w')
      await t.rejects(writeHashed(Readable.from(body(4 * 1024 * 1024, 65536)), fh), { code: 'ENOSPC' })
      await fh.close()
    })
  })
}
