// A bucket deleted and made again over the same directory between two state reloads (another daemon did both, and
// this one, polling over NFS, saw only before and after), or a staging folder removed under a running daemon: the
// daemon must let go of the dead staging folder and serve the new one. It used to hold the deleted folder for good:
// PUTs never answered (Node's recursive mkdir spun under the removed folder, one core at 100%, and the process no
// longer exited on SIGTERM), CreateMultipartUpload was NoSuchKey, uploads made elsewhere were NoSuchUpload.
import t, { type Test } from 'tap'
import {
  AbortMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, ListMultipartUploadsCommand,
  PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { openSignedRequest, sleep, spawnBridged, writeConfig } from '../fixtures/bridged-process.js'

/** Each call gets 5 s: a hang is a failure, not a stuck suite. */
const timed = (): { abortSignal: AbortSignal } => ({ abortSignal: AbortSignal.timeout(5_000) })

async function useStaging (s3: S3Client): Promise<void> {
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'warm' }), timed())
  await s3.send(new AbortMultipartUploadCommand({ Bucket: 'demo', Key: 'warm', UploadId: up.UploadId }), timed())
}

async function writesWork (t: Test, s3: S3Client, bucketDir: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'after.txt', Body: 'new bucket' }), timed())
  t.ok(existsSync(join(bucketDir, 'after.txt')), 'a PUT answers and its file is in the bucket directory')
  const got = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'after.txt' }), timed())
  t.equal(await got.Body?.transformToString(), 'new bucket')
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'deep/er/folder.txt', Body: 'x' }), timed())
  t.ok(existsSync(join(bucketDir, 'deep/er/folder.txt')), 'a PUT that makes folders answers too')
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'big' }), timed())
  t.ok(up.UploadId, 'CreateMultipartUpload works')
  await s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'big', UploadId: up.UploadId, PartNumber: 1, Body: 'part' }), timed())
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'demo' }), timed())
  t.ok(listed.Uploads?.some(u => u.UploadId === up.UploadId), 'the upload is listed')
  t.same(readdirSync(join(bucketDir, '.s3bridge', 'uploads')).filter(n => n === up.UploadId), [up.UploadId],
    'and it lives in the new directory\'s staging folder')
}

/** Deletes demo and makes it again over the same directory in one state change (a new record, a new directory). */
async function deleteAndRecreate (b: Bridge): Promise<void> {
  await b.daemon.services.state.mutate(s => {
    const old = s.buckets.demo
    if (old === undefined) throw new Error('no demo bucket')
    rmSync(b.bucketDir, { recursive: true, force: true })
    mkdirSync(b.bucketDir)
    chownSync(b.bucketDir, 2000, 2000)
    s.buckets.demo = { ...old, createdAt: new Date(Date.parse(old.createdAt) + 1000).toISOString() }
  })
}

t.test('a bucket deleted and re-created in one state change: the new staging folder is used', async t => {
  const b = await startBridge(t)
  await useStaging(b.s3) // the daemon now holds demo's staging folder open
  await deleteAndRecreate(b)
  await writesWork(t, b.s3, b.bucketDir)
})

t.test('a staging folder removed under the daemon (no state change) is made again', async t => {
  const b = await startBridge(t)
  await useStaging(b.s3)
  rmSync(join(b.bucketDir, '.s3bridge'), { recursive: true, force: true })
  await writesWork(t, b.s3, b.bucketDir)
})

t.test('another daemon process: after the re-create it finds uploads made in the new folder and its PUTs answer', async t => {
  const a = await startBridge(t)
  const conf = writeConfig(mkdtempSync(join(tmpdir(), 's3bridge-b-')), { stateDir: a.config.stateDir, rootPath: a.config.rootPath })
  const proc = await spawnBridged(t, conf)
  const onB = new S3Client({ endpoint: proc.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: a.creds })
  t.teardown(() => onB.destroy())
  await useStaging(onB) // B holds demo's staging folder open
  await deleteAndRecreate(a)
  const up = await a.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'from-a' }), timed())
  await sleep(1500) // B's reload (inotify, or its 200 ms poll)
  const listed = await onB.send(new ListMultipartUploadsCommand({ Bucket: 'demo' }), timed())
  t.same(listed.Uploads?.map(u => u.UploadId), [up.UploadId], 'B lists the upload A made in the new bucket')
  const part = await onB.send(new UploadPartCommand({ Bucket: 'demo', Key: 'from-a', UploadId: up.UploadId, PartNumber: 1, Body: 'p' }), timed())
  t.ok(part.ETag, 'B takes a part of it')
  await writesWork(t, onB, a.bucketDir)
  proc.child.kill('SIGTERM')
  t.equal(await Promise.race([proc.exited, sleep(10_000).then(() => 'still running')]), 0, 'B stops on SIGTERM')
})

t.test('a PUT whose staged data is removed before it is published (the staging folder deleted) answers 503, not NoSuchKey', async t => {
  const b = await startBridge(t)
  await useStaging(b.s3)
  const size = 2 * 1024 * 1024
  const open = await openSignedRequest(b.endpoint, b.creds, { method: 'PUT', path: '/demo/vanishing.bin', contentLength: size })
  open.req.write(Buffer.alloc(size / 2, 1))
  const tmp = join(b.bucketDir, '.s3bridge', 'tmp')
  for (let i = 0; i < 200 && (!existsSync(tmp) || readdirSync(tmp).length === 0); i++) await sleep(10)
  t.ok(readdirSync(tmp).length > 0, 'the upload is staged')
  rmSync(join(b.bucketDir, '.s3bridge'), { recursive: true, force: true })
  open.req.end(Buffer.alloc(size / 2, 2))
  const r = await open.response
  t.equal(r.status, 503, r.body)
  t.match(r.body, /<Code>ServiceUnavailable<\/Code>/, 'a retryable answer')
  t.notOk(existsSync(join(b.bucketDir, 'vanishing.bin')), 'nothing half-stored')
  await writesWork(t, b.s3, b.bucketDir)
})
