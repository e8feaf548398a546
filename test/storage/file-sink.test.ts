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
