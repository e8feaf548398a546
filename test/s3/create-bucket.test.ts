// S3 CreateBucket's directory: under rootPath, and refused where it would nest inside a mapped bucket.
import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { CreateBucketCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'

t.test('CreateBucket is refused with 400 InvalidRequest when rootPath lies inside a mapped bucket, and leaves no folder', async t => {
  const b = await startBridge(t, { rootPath: 'data/demo/s3' })
  await t.rejects(b.s3.send(new CreateBucketCommand({ Bucket: 'nested' })), { name: 'InvalidRequest', message: /inside bucket "demo".*rootPath/ })
  t.notOk(existsSync(join(b.bucketDir, 's3', 'nested')))
  t.notOk(b.daemon.services.state.snapshot().buckets.nested)
  const fine = await startBridge(t)
  await fine.s3.send(new CreateBucketCommand({ Bucket: 'sibling' }))
  t.ok(fine.daemon.services.state.snapshot().buckets.sibling, 'a rootPath beside the buckets works')
})
