// Review 21 #5 (pre-existing, b019f65a): hasContent() counts a bucket directory it cannot read (EIO, ESTALE, EMFILE
// when the daemon is out of descriptors, ENOMEM) as empty, so DeleteBucket unmaps a bucket that holds objects
// and empties its staging folder (uploads destroyed). Simulated: readdir of the bucket directory fails with EIO.
import t from 'tap'
import { S3Client, DeleteBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { interceptFsPromise } from '../fixtures/fs-intercept.js'

t.test('a bucket directory that cannot be read is not empty', async t => {
  const b = await startBridge(t)
  const once = new S3Client({ endpoint: b.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: b.creds, maxAttempts: 1 })
  t.teardown(() => once.destroy())
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'important.txt', Body: 'data' }))
  interceptFsPromise(t, 'readdir', real => (async (p: string, o?: unknown) => {
    if (String(p) === b.bucketDir) throw Object.assign(new Error(`EIO: i/o error, scandir '${p}'`), { code: 'EIO', syscall: 'scandir', path: p })
    return await real(p, o as never)
  }) as typeof real)
  const res = await once.send(new DeleteBucketCommand({ Bucket: 'demo' })).then(() => 'deleted', (e: Error) => e.name)
  t.comment(`DeleteBucket: ${res}; bucket ${b.daemon.services.state.snapshot().buckets.demo ? 'mapped' : 'unmapped'}`)
  t.not(res, 'deleted', 'a bucket holding important.txt is not unmapped because one readdir failed')
})
