// Review 21 #1: two DeleteBuckets of the same bucket at once (a double click, rclone purge + a retry, two daemons).
// The one that loses now "remaps" the bucket (aa8c300: any failure after the unmap maps it again), although the
// other one has removed the directory and answered 204: the bucket is mapped to a directory that no longer exists,
// and can neither be deleted nor created again through S3.
import t, { type Test } from 'tap'
import { S3Client, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand, HeadBucketCommand, ListBucketsCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge } from '../fixtures/daemon.js'

async function twice (t: Test, withStaging: boolean) {
  const b = await startBridge(t)
  const once = new S3Client({ endpoint: b.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: b.creds, maxAttempts: 1 })
  t.teardown(() => once.destroy())
  await b.s3.send(new CreateBucketCommand({ Bucket: 'twice' }))
  const dir = join(b.config.rootPath, 'twice')
  if (withStaging) await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'twice', Key: 'k' }))
  const results = await Promise.all([0, 1].map(() => once.send(new DeleteBucketCommand({ Bucket: 'twice' })).then(() => 'deleted', (e: Error) => `${e.name} (${(e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode})`)))
  await new Promise(resolve => setTimeout(resolve, 500)) // reloads
  const mapped = b.daemon.services.state.snapshot().buckets.twice !== undefined
  t.comment(`answers: ${results.join(', ')}; directory ${existsSync(dir) ? 'exists' : 'gone'}; bucket ${mapped ? 'mapped' : 'unmapped'}`)
  t.ok(results.includes('deleted'), 'one DeleteBucket answered 204')
  t.notOk(mapped && !existsSync(dir), 'after a 204 the bucket is not mapped to a directory that no longer exists')
  if (mapped) {
    const listed = (await b.s3.send(new ListBucketsCommand({}))).Buckets?.map(x => x.Name)
    const head = await b.s3.send(new HeadBucketCommand({ Bucket: 'twice' })).then(() => '200', (e: Error) => e.name)
    const put = await once.send(new PutObjectCommand({ Bucket: 'twice', Key: 'a', Body: 'x' })).then(() => '200', (e: Error) => e.name)
    const del = await once.send(new DeleteBucketCommand({ Bucket: 'twice' })).then(() => 'deleted', (e: Error) => e.name)
    const create = await once.send(new CreateBucketCommand({ Bucket: 'twice' })).then(() => 'created', (e: Error) => e.name)
    t.comment(`ListBuckets: ${listed}; HeadBucket: ${head}; PutObject: ${put}; DeleteBucket again: ${del}; CreateBucket: ${create}; still mapped: ${b.daemon.services.state.snapshot().buckets.twice !== undefined}`)
  }
}

t.test('two DeleteBuckets at once, bucket with a staging folder (an upload in flight)', t => twice(t, true))
t.test('two DeleteBuckets at once, bucket without a staging folder', t => twice(t, false))
