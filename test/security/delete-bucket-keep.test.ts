// Review 19: DeleteBucket's late "keep" (1a91195): when the S3-made directory cannot be removed because an object
// arrived after the second look, the bucket record is restored and BucketNotEmpty answered, but by then the
// staging folder's contents (every multipart upload in progress) were already removed: the bucket lives on and
// its uploads are gone, though the client was told nothing was deleted.
import t from 'tap'
import { CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand, ListMultipartUploadsCommand, UploadPartCommand } from '@aws-sdk/client-s3'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge } from '../fixtures/daemon.js'

t.test('a DeleteBucket answered BucketNotEmpty leaves the bucket\'s multipart uploads alone', async t => {
  const b = await startBridge(t)
  const admin = b.client(await b.addUser('root-admin', 2100, 2100, 'admin'))
  await admin.send(new CreateBucketCommand({ Bucket: 'fresh' }))
  const dir = join(b.config.rootPath, 'fresh')
  const ids: string[] = []
  for (let i = 0; i < 150; i++) {
    const up = await admin.send(new CreateMultipartUploadCommand({ Bucket: 'fresh', Key: `k${i}` }))
    await admin.send(new UploadPartCommand({ Bucket: 'fresh', Key: `k${i}`, UploadId: up.UploadId, PartNumber: 1, Body: 'p' }))
    ids.push(up.UploadId as string)
  }
  const uploads = join(dir, '.s3bridge', 'uploads')
  const before = readdirSync(uploads).length
  // An NFS writer (or another daemon's PUT) whose object lands while the staging folder is being emptied.
  let dropped = false
  const watcher = (async () => {
    for (let i = 0; i < 5000 && !dropped; i++) {
      const n = existsSync(uploads) ? readdirSync(uploads).length : 0
      if (n < before) { writeFileSync(join(dir, 'late.txt'), 'late'); dropped = true }
      await new Promise(resolve => setImmediate(resolve))
    }
  })()
  const res = await admin.send(new DeleteBucketCommand({ Bucket: 'fresh' })).then(() => 'deleted', (e: Error) => e.name)
  await watcher
  t.ok(dropped, 'the late object landed during the delete')
  t.equal(res, 'BucketNotEmpty', 'the bucket is kept')
  const listed = await admin.send(new ListMultipartUploadsCommand({ Bucket: 'fresh' }))
  t.equal(listed.Uploads?.length ?? 0, ids.length, `the kept bucket still has its ${ids.length} uploads (has ${listed.Uploads?.length ?? 0})`)
})
