// Md5Tap: the same MD5 whether a body is hashed inline or by a worker, bytes passed through untouched.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Md5Tap, OFFLOAD_AFTER_BYTES } from '../../lib/storage/md5-tap.js'

function body (size: number, chunk: number): Buffer[] {
  const out: Buffer[] = []
  for (let left = size; left > 0; left -= chunk) out.push(randomBytes(Math.min(chunk, left)))
  return out
}

async function run (chunks: Buffer[], tap = new Md5Tap(), slowSink = false): Promise<{ tap: Md5Tap, passed: Buffer }> {
  const got: Buffer[] = []
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write (c: Buffer, _e, cb) { got.push(c); if (slowSink) setTimeout(cb, 1); else cb() },
  })
  await pipeline(Readable.from(chunks), tap, sink)
  return { tap, passed: Buffer.concat(got) }
}

for (const [label, size, chunk] of [
  ['empty', 0, 1], ['small, inline', 5000, 1000], ['just at the threshold', OFFLOAD_AFTER_BYTES, 65536],
  ['just past the threshold', OFFLOAD_AFTER_BYTES + 1, 65536], ['40 MiB in odd chunks, offloaded', 40 * 1024 * 1024 + 7, 65521],
] as const) {
  t.test(label, async t => {
    const chunks = body(size, chunk)
    const whole = Buffer.concat(chunks)
    const { tap, passed } = await run(chunks)
    t.equal(tap.digestHex(), createHash('md5').update(whole).digest('hex'), 'same MD5 as hashing the whole body')
    t.equal(tap.bytes, size)
    t.ok(passed.equals(whole), 'the bytes passed through unchanged and in order')
  })
}

t.test('a slow consumer still gets every byte, and the digest matches', async t => {
  const chunks = body(8 * 1024 * 1024, 100_000)
  const { tap, passed } = await run(chunks, new Md5Tap(), true)
  t.equal(tap.digestHex(), createHash('md5').update(Buffer.concat(chunks)).digest('hex'))
  t.equal(passed.length, 8 * 1024 * 1024)
})

t.test('the size limit fails the stream, inline and offloaded', async t => {
  for (const max of [3000, 3 * 1024 * 1024]) {
    const tap = new Md5Tap({ maxBytes: max, tooLarge: n => Object.assign(new Error(`too large: ${n}`), { code: 'EntityTooLarge' }) })
    await t.rejects(run(body(max + 50_000, 10_000), tap), { code: 'EntityTooLarge' })
  }
})

t.test('a source that fails part-way fails the pipeline; the tap can be dropped without hanging', async t => {
  let n = 0
  const src = new Readable({
    read () {
      if (n++ < 40) this.push(randomBytes(65536))
      else this.destroy(new Error('client went away'))
    },
  })
  await t.rejects(pipeline(src, new Md5Tap(), new Writable({ write (_c, _e, cb) { cb() } })), /client went away/)
})

t.test('idle hash workers exit and give back their descriptors', async t => {
  const { readdirSync } = await import('node:fs')
  const fds = (): number => readdirSync('/proc/self/fd').length
  await run(body(4 * 1024 * 1024, 65536)) // make sure the pool exists
  await new Promise(resolve => setTimeout(resolve, 11_000))
  const idle = fds()
  await run(body(4 * 1024 * 1024, 65536))
  t.ok(fds() > idle, 'a large body starts a worker again')
  await new Promise(resolve => setTimeout(resolve, 11_000))
  t.equal(fds(), idle, 'ten seconds after the last hash the workers are gone')
  const { tap } = await run(body(3 * 1024 * 1024, 65536))
  t.match(tap.digestHex(), /^[0-9a-f]{32}$/, 'and hashing still works afterwards')
})
