// Large GETs reuse their read buffers once a chunk has been sent (lib/storage/file-body.ts): every byte must still
// arrive as stored when the client reads slowly (chunks wait in Node's buffers), when many GETs run at once, for
// ranges, and after a client that left mid-body.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { PassThrough, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { open } from 'node:fs/promises'
import { chownSync, closeSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { AbortMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, UploadPartCopyCommand } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { startBridge } from '../fixtures/daemon.js'
import { FileBody } from '../../lib/storage/file-body.js'

const MiB = 1024 * 1024
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex')

/** GET through a raw socket that takes its time: pauses 30 ms after every ~256 KiB, so the server's writes queue. */
function slowGet (url: string, headers: Record<string, string> = {}): Promise<{ status: number, body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, res => {
      const parts: Buffer[] = []
      let since = 0
      res.on('data', (c: Buffer) => {
        parts.push(c)
        since += c.length
        if (since > 256 * 1024) { since = 0; res.pause(); setTimeout(() => res.resume(), 30) }
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('slow readers, concurrent readers and ranges get exactly the stored bytes', async t => {
  const { s3 } = await startBridge(t)
  const bodies = [randomBytes(24 * MiB + 123), randomBytes(9 * MiB + 7), randomBytes(3 * MiB)]
  for (const [i, b] of bodies.entries()) await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: `big/${i}`, Body: b }))
  const url = (i: number): Promise<string> => getSignedUrl(s3, new GetObjectCommand({ Bucket: 'demo', Key: `big/${i}` }), { expiresIn: 300 })

  const slow = await slowGet(await url(0))
  t.equal(slow.status, 200)
  t.equal(slow.body.length, bodies[0]!.length)
  t.equal(md5(slow.body), md5(bodies[0]!), 'a slow reader gets every byte as stored')

  const all = await Promise.all([0, 1, 2, 0, 1, 2, 0, 1].map(async i => ({ i, got: await slowGet(await url(i)) })))
  for (const { i, got } of all) t.equal(md5(got.body), md5(bodies[i]!), `concurrent GET of big/${i}`)

  const ranged = await slowGet(await url(0), { Range: 'bytes=1000003-20000000' })
  t.equal(ranged.status, 206)
  t.equal(md5(ranged.body), md5(bodies[0]!.subarray(1000003, 20000001)), 'a range')
})

t.test('a client that leaves mid-body does not disturb the next GET', async t => {
  const { s3 } = await startBridge(t)
  const body = randomBytes(16 * MiB)
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'left', Body: body }))
  const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'demo', Key: 'left' }), { expiresIn: 300 })
  await new Promise<void>((resolve, reject) => {
    const req = request(url, res => {
      let got = 0
      res.on('data', (c: Buffer) => { got += c.length; if (got > 2 * MiB) { req.destroy(); resolve() } })
    })
    req.on('error', () => undefined)
    req.once('error', reject)
    req.end()
  })
  const again = await slowGet(url)
  t.equal(md5(again.body), md5(body))
})

t.test('piped anywhere but an HTTP response, FileBody is a plain stream (a Transform may hold a chunk it passed on)', async t => {
  const dir = t.testdir({})
  const data = randomBytes(6 * MiB + 5)
  const fh = await open(join(dir, 'f'), 'w+')
  await fh.write(data, 0, data.length, 0)
  const body = new FileBody(fh, 0, data.length, MiB, async function * (chunks) { yield * chunks })
  const held: Buffer[] = []
  // A pass-through keeps references to the chunks it forwards: had they been reused, the copies would differ.
  await pipeline(body, new PassThrough({ objectMode: true }), new Writable({ objectMode: true, write (c: Buffer, _e, cb) { held.push(c); setTimeout(cb, 2) } }))
  await fh.close()
  t.equal(md5(Buffer.concat(held)), md5(data))
})

// Review 16: a body read by anything but a ServerResponse never gives buffers back, so the record of lent buffers
// must not keep them: a CopyObject of 512 MiB held +522 MiB of buffers until its end.
t.test('CopyObject and UploadPartCopy of 256 MiB hold a bounded amount of read buffers', async t => {
  const b = await startBridge(t)
  const SIZE = 256 * MiB
  const path = join(b.bucketDir, 'src')
  const fd = openSync(path, 'w')
  const block = randomBytes(8 * MiB)
  for (let off = 0; off < SIZE; off += block.length) writeSync(fd, block, 0, block.length, off)
  closeSync(fd)
  chownSync(path, 2000, 2000)
  const peakGrowth = async (fn: () => Promise<unknown>): Promise<number> => {
    const base = process.memoryUsage().arrayBuffers
    let peak = base
    const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().arrayBuffers) }, 20)
    await fn()
    clearInterval(timer)
    return (peak - base) / MiB
  }
  const copy = await peakGrowth(() => b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'dst', CopySource: 'demo/src' })))
  t.ok(copy < 128, `CopyObject held +${copy.toFixed(0)} MiB of buffers`)
  const up = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp' }))
  const part = await peakGrowth(() => b.s3.send(new UploadPartCopyCommand({ Bucket: 'demo', Key: 'mp', UploadId: up.UploadId, PartNumber: 1, CopySource: 'demo/src' })))
  t.ok(part < 128, `UploadPartCopy held +${part.toFixed(0)} MiB of buffers`)
  await b.s3.send(new AbortMultipartUploadCommand({ Bucket: 'demo', Key: 'mp', UploadId: up.UploadId }))
})
