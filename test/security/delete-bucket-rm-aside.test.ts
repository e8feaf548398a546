// Review 21 #3: in aa8c300 the `rm(aside)` that removes the set-aside staging folder runs inside the try whose
// catch remaps the bucket. The bucket directory is already removed at that point (rmdir succeeded, retireRoot
// ran), so a failing rm (on NFS: ENOTEMPTY/EBUSY from a `.nfsXXXX` file of a temp file still open, for example an
// UploadPart still streaming after waitForOtherRequests' 5 s, or a writer on another daemon that still has the
// folder pinned and stages a new temp file during the rm) answers 500 and maps the bucket again, to a directory
// that is gone. Simulated here: rm of the aside folder fails with ENOTEMPTY once, as NFS makes it fail.
import t from 'tap'
import { S3Client, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge } from '../fixtures/daemon.js'
import { interceptFsPromise } from '../fixtures/fs-intercept.js'

t.test('the aside folder cannot be removed at once: the bucket is remapped to a directory that no longer exists', async t => {
  const b = await startBridge(t)
  const once = new S3Client({ endpoint: b.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: b.creds, maxAttempts: 1 })
  t.teardown(() => once.destroy())
  await b.s3.send(new CreateBucketCommand({ Bucket: 'nfsish' }))
  await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'nfsish', Key: 'k' }))
  const dir = join(b.config.rootPath, 'nfsish')
  let failed = false
  interceptFsPromise(t, 'rm', real => (async (p: string, o?: unknown) => {
    if (!failed && String(p).includes('.s3bridge-deleting-')) {
      failed = true
      throw Object.assign(new Error(`ENOTEMPTY: directory not empty, rmdir '${p}/tmp'`), { code: 'ENOTEMPTY', syscall: 'rmdir', path: `${p}/tmp` })
    }
    return await real(p, o as never)
  }) as typeof real)
  const res = await once.send(new DeleteBucketCommand({ Bucket: 'nfsish' })).then(() => 'deleted', (e: Error) => `${e.name} (${(e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode})`)
  await new Promise(resolve => setTimeout(resolve, 400))
  const mapped = b.daemon.services.state.snapshot().buckets.nfsish !== undefined
  const head = await once.send(new HeadBucketCommand({ Bucket: 'nfsish' })).then(() => '200', (e: Error) => `${(e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode}`)
  const again = await once.send(new DeleteBucketCommand({ Bucket: 'nfsish' })).then(() => 'deleted', (e: Error) => e.name)
  t.comment(`DeleteBucket: ${res}; directory ${existsSync(dir) ? 'exists' : 'gone'}; bucket ${mapped ? 'mapped' : 'unmapped'}; HeadBucket ${head}; DeleteBucket again: ${again}`)
  t.notOk(mapped && !existsSync(dir), 'a bucket whose directory was removed is not mapped again')
})
