// @aws-sdk/lib-storage's managed Upload against the bridge: concurrent parts, one large object.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { startBridge } from '../fixtures/daemon.js'

const MiB = 1024 * 1024

/** 40 MiB of random bytes produced in 1 MiB chunks, hashed as they are made. */
function randomStream (bytes: number): { stream: Readable, sha256: () => string } {
  const hash = createHash('sha256')
  let left = bytes
  const stream = new Readable({
    read () {
      if (left === 0) { this.push(null); return }
      const chunk = randomBytes(Math.min(MiB, left))
      left -= chunk.length
      hash.update(chunk)
      this.push(chunk)
    },
  })
  return { stream, sha256: () => hash.digest('hex') }
}

t.test('lib-storage Upload of a 40 MiB stream in 5 MiB parts round-trips with an "-8" ETag', async t => {
  const { s3, bucketDir } = await startBridge(t)
  const source = randomStream(40 * MiB)
  const upload = new Upload({ client: s3, params: { Bucket: 'demo', Key: 'big/blob.bin', Body: source.stream, ContentType: 'application/x-test', Metadata: { origin: 'lib-storage' } }, partSize: 5 * MiB, queueSize: 4 })
  const done = await upload.done()
  t.match(done.ETag, /^"[0-9a-f]{32}-8"$/)
  const got = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'big/blob.bin' }))
  const hash = createHash('sha256')
  for await (const chunk of got.Body as Readable) hash.update(chunk as Buffer)
  t.equal(hash.digest('hex'), source.sha256(), 'the downloaded bytes are the uploaded bytes')
  t.equal(got.ContentLength, 40 * MiB)
  t.equal(got.ETag, done.ETag)
  t.equal(got.ContentType, 'application/x-test', 'headers given at CreateMultipartUpload are kept')
  t.same(got.Metadata, { origin: 'lib-storage' })
  const { readdirSync } = await import('node:fs')
  t.same(readdirSync(`${bucketDir}/.s3bridge/uploads`).filter(n => !n.endsWith('.done')), [], 'nothing is left in staging')
})
