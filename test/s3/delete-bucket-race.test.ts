// DeleteBucket while writers are still putting objects in: it must never answer 204 and leave an object whose PUT
// was acknowledged in a directory no bucket maps (gone for S3 clients; an S3-made bucket's name then unusable).
// The emptiness check ran once, before the unmap, and the final rmdir's ENOTEMPTY was ignored (sweep 25a F2).
import t from 'tap'
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge } from '../fixtures/daemon.js'

t.test('DeleteBucket racing writers: 204 only when nothing acknowledged is left; else BucketNotEmpty and the bucket stays', async t => {
  const b = await startBridge(t)
  let stranded = 0
  for (let round = 0; round < 8; round++) {
    const bucket = `race-${round}`
    await b.s3.send(new CreateBucketCommand({ Bucket: bucket }))
    const dir = join(b.dir, 'buckets', bucket)
    const acked = new Set<string>()
    let stop = false
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const key = `w${w}-${i}`
        try {
          await b.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x'.repeat(100) }))
        } catch { continue }
        acked.add(key)
        try {
          await b.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
          acked.delete(key)
        } catch { /* the bucket is gone: the object stays acknowledged */ }
      }
    }
    const writers = [0, 1, 2].map(writer)
    let deleted = false
    for (let i = 0; i < 400 && !deleted; i++) {
      deleted = await b.s3.send(new DeleteBucketCommand({ Bucket: bucket })).then(() => true, () => false)
    }
    await new Promise(resolve => setTimeout(resolve, 200))
    stop = true
    await Promise.all(writers)
    if (!deleted) continue
    const left = existsSync(dir) ? readdirSync(dir).filter(n => acked.has(n)) : []
    if (left.length > 0) {
      stranded++
      t.fail(`round ${round}: DeleteBucket answered 204, yet acknowledged ${left.join(', ')} are in the unmapped ${dir}`)
    }
    if (b.daemon.services.state.snapshot().buckets[bucket] === undefined && existsSync(dir)) t.fail(`round ${round}: the unmapped S3-made directory is left`)
  }
  t.equal(stranded, 0, 'no acknowledged object was stranded')
})
