// A bucket that is unmapped (`bridgectl buckets delete`) or deleted (S3 DeleteBucket) must not keep its
// filesystem busy: the admin's next step is to unmount the export, and the daemon held the bucket's staging
// folder open until it restarted (sweep 12 N8), so `umount` failed with "target is busy".
import t from 'tap'
import type { Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { CreateBucketCommand, DeleteBucketCommand, HeadBucketCommand, PutObjectCommand, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { mountTmpfs } from '../fixtures/mounts.js'
import { openSignedRequest } from '../fixtures/bridged-process.js'
import { bridgectl } from '../fixtures/bridgectl.js'
import { forgetStaging } from '../../lib/storage/paths.js'
import { nativeAddon } from '../../lib/storage/native.js'

const NEEDS_ADDON = { skip: nativeAddon()?.replaceDescriptor === undefined && 'needs the native addon (without it a retired folder is released after hours)' }

/** This process's descriptors whose target lies under dir (the daemon runs in the test process). */
function heldUnder (dir: string): string[] {
  const held: string[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`)
      if (target === dir || target.startsWith(dir + '/')) held.push(`${fd} -> ${target}`)
    } catch { /* closed meanwhile */ }
  }
  return held
}

/** umount without -l: it fails with "target is busy" while anything holds the filesystem. */
function unmounts (dir: string): string | undefined {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' })
    return undefined
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err)
  }
}

async function eventually (what: string, fn: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if (await Promise.resolve().then(fn).catch(() => false)) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

function client (b: Bridge, t: { teardown (fn: () => void): void }): S3Client {
  const c = new S3Client({ endpoint: b.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: b.creds, maxAttempts: 1 })
  t.teardown(() => c.destroy())
  return c
}

/** A tmpfs "export" at dir, owned by the bridge user, mapped by bridgectl as `bucket` and served. */
async function mapExport (t: Test, b: Bridge, s3: S3Client, dir: string, bucket: string): Promise<boolean> {
  if (!existsSync(dir)) mkdirSync(dir)
  if (!mountTmpfs(t, dir)) return false
  chownSync(dir, 2000, 2000)
  const made = await bridgectl(b, 'buckets', 'create', bucket, dir, '--owner', 'tester')
  t.equal(made.code, 0, made.stderr)
  await eventually(`the bucket ${bucket}`, async () => (await s3.send(new HeadBucketCommand({ Bucket: bucket })), true))
  return true
}

t.test('after `bridgectl buckets delete` the export can be unmounted while the daemon runs', NEEDS_ADDON, async t => {
  const b = await startBridge(t)
  const s3 = client(b, t)
  const nas = join(b.dir, 'nas')
  if (!await mapExport(t, b, s3, nas, 'nas')) return
  await s3.send(new PutObjectCommand({ Bucket: 'nas', Key: 'kept.txt', Body: 'data' }))
  t.ok(heldUnder(nas).length > 0, 'the daemon holds the staging folder while the bucket is served')

  const removed = await bridgectl(b, 'buckets', 'delete', 'nas')
  t.equal(removed.code, 0, removed.stderr)
  await eventually('the daemon to let go of the export', () => heldUnder(nas).length === 0)
  t.equal(unmounts(nas), undefined, 'umount (not lazy) succeeds')
  t.same(readdirSync(nas), [], 'it was unmounted')

  // The directory can be mapped again later: the folder is opened afresh.
  if (!await mapExport(t, b, s3, nas, 'again')) return
  const put = await s3.send(new PutObjectCommand({ Bucket: 'again', Key: 'new.txt', Body: 'fresh' }))
  t.equal(put.$metadata.httpStatusCode, 200, 'uploads stage in the new staging folder')
})

t.test('an upload in flight when its bucket is unmapped finishes, and the export is let go once it is done', NEEDS_ADDON, async t => {
  const b = await startBridge(t)
  const s3 = client(b, t)
  const nas = join(b.dir, 'nas')
  if (!await mapExport(t, b, s3, nas, 'nas')) return
  const body = Buffer.alloc(1024 * 1024, 'u')
  const upload = await openSignedRequest(b.endpoint, b.creds, { method: 'PUT', path: '/nas/slow.bin', contentLength: body.length })
  upload.req.write(body.subarray(0, 1000))
  await eventually('the upload under way', () => heldUnder(nas).some(l => l.includes('/.s3bridge/tmp/')))
  t.equal((await bridgectl(b, 'buckets', 'delete', 'nas')).code, 0)
  await new Promise(resolve => setTimeout(resolve, 2500)) // the daemon has reloaded (statePollMs 200)
  t.ok(heldUnder(nas).length > 0, 'still held while the upload runs')
  upload.req.end(body.subarray(1000))
  const done = await upload.response
  t.equal(done.status, 200, 'the upload that began before the unmap is stored')
  t.equal(readFileSync(join(nas, 'slow.bin')).length, body.length)
  await eventually('the daemon to let go of the export', () => heldUnder(nas).length === 0)
  t.same(readdirSync(join(nas, '.s3bridge', 'tmp')), [], 'no temp file left')
  t.equal(unmounts(nas), undefined, 'umount (not lazy) succeeds')
})

t.test('after S3 DeleteBucket the filesystem it was on can be unmounted', NEEDS_ADDON, async t => {
  const root = join('/tmp', `s3bridge-release-${process.pid}`)
  mkdirSync(root, { recursive: true })
  if (!mountTmpfs(t, root)) return
  const b = await startBridge(t, { rootPath: root })
  const s3 = client(b, t)
  await s3.send(new CreateBucketCommand({ Bucket: 'scratch' }))
  await s3.send(new PutObjectCommand({ Bucket: 'scratch', Key: 'a.txt', Body: 'x' }))
  t.ok(heldUnder(root).length > 0, 'held while the bucket exists')
  await s3.send(new DeleteObjectCommand({ Bucket: 'scratch', Key: 'a.txt' }))
  await s3.send(new DeleteBucketCommand({ Bucket: 'scratch' }))
  t.same(heldUnder(root), [], 'nothing under the bucket root is held after DeleteBucket')
  t.equal(unmounts(root), undefined, 'umount (not lazy) succeeds')
})

t.test('DeleteBucket empties and removes the directory even when this process never opened its staging folder', async t => {
  const b = await startBridge(t)
  const s3 = client(b, t)
  await s3.send(new CreateBucketCommand({ Bucket: 'scratch2' }))
  await s3.send(new PutObjectCommand({ Bucket: 'scratch2', Key: 'a.txt', Body: 'x' }))
  await s3.send(new DeleteObjectCommand({ Bucket: 'scratch2', Key: 'a.txt' }))
  const dir = b.daemon.services.state.snapshot().buckets.scratch2!.path
  t.ok(existsSync(join(dir, '.s3bridge', 'tmp')), 'a staging folder with its tmp, as another worker leaves it')
  forgetStaging(dir) // as in a worker that never served an upload to it
  await s3.send(new DeleteBucketCommand({ Bucket: 'scratch2' }))
  t.notOk(existsSync(dir), 'the directory S3 made is gone')
  await s3.send(new CreateBucketCommand({ Bucket: 'scratch2' }))
  const put = await s3.send(new PutObjectCommand({ Bucket: 'scratch2', Key: 'b.txt', Body: 'y' }))
  t.equal(put.$metadata.httpStatusCode, 200, 'the name can be created and used again')
})
