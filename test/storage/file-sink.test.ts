// fileSink writes every byte through the FileHandle and never closes it, even when the pipeline fails.
import t from 'tap'
import { createHash } from 'node:crypto'
import { fstatSync, readFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileSink } from '../../lib/storage/file-sink.js'

const dir = t.testdir()

t.test('a failed pipeline leaves the descriptor open for its owner to close once', async t => {
  const fh = await open(join(dir, 'failed'), 'w')
  let sent = 0
  const src = new Readable({
    read () {
      if (sent++ < 3) this.push(Buffer.alloc(1000, 'a'))
      else this.destroy(new Error('client went away'))
    },
  })
  await t.rejects(pipeline(src, fileSink(fh)), /client went away/)
  await new Promise(resolve => setTimeout(resolve, 20))
  t.doesNotThrow(() => fstatSync(fh.fd), 'the fd is still open after the failure')
  await fh.close()
})

t.test('many chunks of odd sizes arrive whole and in order', async t => {
  const fh = await open(join(dir, 'whole'), 'w')
  const chunks: Buffer[] = []
  for (let i = 0; i < 500; i++) chunks.push(Buffer.alloc(1 + (i * 7919) % 70_000, i % 256))
  const expected = createHash('sha256')
  for (const c of chunks) expected.update(c)
  await pipeline(Readable.from(chunks), fileSink(fh, 64 * 1024))
  await fh.close()
  t.equal(createHash('sha256').update(readFileSync(join(dir, 'whole'))).digest('hex'), expected.digest('hex'))
})

t.test('holes mode: the same bytes from chunks cut anywhere, zero blocks left unallocated, a trailing hole kept', async t => {
  const KiB = 1024
  // zeros, data, zeros spanning blocks at odd offsets, data, and 1 MiB of zeros at the end
  const data = Buffer.concat([Buffer.alloc(256 * KiB), Buffer.alloc(70 * KiB, 7), Buffer.alloc(300 * KiB), Buffer.alloc(5, 9), Buffer.alloc(1024 * KiB)])
  for (const cut of [1 << 20, 65536, 4095, 100_003]) {
    const path = join(dir, `holes-${cut}`)
    const fh = await open(path, 'w')
    const pieces: Buffer[] = []
    for (let i = 0; i < data.length; i += cut) pieces.push(data.subarray(i, i + cut))
    await pipeline(Readable.from(pieces), fileSink(fh, undefined, { holes: true }))
    const st = fstatSync(fh.fd)
    await fh.close()
    t.equal(st.size, data.length, `cut ${cut}: full length`)
    t.ok(readFileSync(path).equals(data), `cut ${cut}: same bytes`)
    if (cut % 65536 === 0) t.ok(st.blocks * 512 <= 256 * KiB, `cut ${cut}: ${st.blocks * 512} bytes allocated for 75 KiB of data`)
  }
})
