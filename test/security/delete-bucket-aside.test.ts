// Review 20: DeleteBucket's rename-aside (8e417d6). The bucket record was deleted from the state before the staging
// folder was set aside; the paths that left setStagingAside without a rename (the name `.s3bridge` missing) or with
// an error (the name pointing at another folder) did not restore it, or fell back to the old code that emptied the
// staging folder before removing the directory (review 19 #4). Now any failure maps the bucket again and nothing
// is destroyed before the directory is gone. The bucket directory of an S3-made bucket belongs
// to its creator, who can rename entries in it over NFS: here the owner's renames are run (as the owner's uid, with
// setpriv) at the moment the daemon renames the staging folder, which a loop over NFS reaches by timing.
import t, { type Test } from 'tap'
import { S3Client, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand, HeadBucketCommand, ListMultipartUploadsCommand, UploadPartCommand } from '@aws-sdk/client-s3'
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge } from '../fixtures/daemon.js'
import { interceptFsPromise } from '../fixtures/fs-intercept.js'

/** Runs `before` once, just before the daemon's rename of the bucket's staging folder to its aside name. */
function beforeAside (t: Test, before: () => void): void {
  let done = false
  interceptFsPromise(t, 'rename', real => (async (from: string, to: string) => {
    if (!done && String(to).includes('.s3bridge-deleting-')) { done = true; before() }
    return await real(from, to)
  }) as typeof real)
}

const asOwner = (script: string): void => { execFileSync('setpriv', ['--reuid', '2100', '--regid', '2100', '--clear-groups', 'sh', '-c', script]) }

async function setup (t: Test) {
  const b = await startBridge(t)
  const creds = await b.addUser('creator', 2100, 2100, 'admin')
  const admin = b.client(creds)
  await admin.send(new CreateBucketCommand({ Bucket: 'fresh' }))
  const dir = join(b.config.rootPath, 'fresh')
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    const up = await admin.send(new CreateMultipartUploadCommand({ Bucket: 'fresh', Key: `k${i}` }))
    await admin.send(new UploadPartCommand({ Bucket: 'fresh', Key: `k${i}`, UploadId: up.UploadId, PartNumber: 1, Body: 'p' }))
    ids.push(up.UploadId as string)
  }
  return { b, admin, dir, ids, creds }
}

t.test('staging name pointed at another folder: 503 "try again", but the bucket is already unmapped and its directory kept', async t => {
  const { b, admin, dir, creds } = await setup(t)
  beforeAside(t, () => asOwner(`cd '${dir}' && mv .s3bridge zz && mkdir .s3bridge`))
  const once = new S3Client({ endpoint: b.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: creds, maxAttempts: 1 })
  t.teardown(() => once.destroy())
  const res = await once.send(new DeleteBucketCommand({ Bucket: 'fresh' })).then(() => 'deleted', (e: Error) => e.name)
  t.equal(res, 'ServiceUnavailable', 'answered 503 "try again"')
  t.ok(existsSync(dir), 'the directory (with the owner\'s folders) is still there')
  const retry = await admin.send(new DeleteBucketCommand({ Bucket: 'fresh' })).then(() => 'deleted', (e: Error) => e.name)
  t.comment(`the retry the message asks for: ${retry}`)
  const again = await admin.send(new CreateBucketCommand({ Bucket: 'fresh' })).then(() => 'created', (e: Error) => e.name)
  t.comment(`CreateBucket of the name: ${again}`)
  const head = await admin.send(new HeadBucketCommand({ Bucket: 'fresh' })).then(() => 'mapped', (e: Error) => e.name)
  t.equal(head, 'mapped', `a DeleteBucket that failed (${res}) leaves the bucket mapped (HeadBucket: ${head}; state has it: ${b.daemon.services.state.snapshot().buckets.fresh !== undefined})`)
})

t.test('staging name gone at the rename (the owner moved it away): the bucket is kept and no upload is destroyed', async t => {
  const { admin, dir, ids } = await setup(t)
  beforeAside(t, () => asOwner(`cd '${dir}' && mv .s3bridge zz`))
  const res = await admin.send(new DeleteBucketCommand({ Bucket: 'fresh' })).then(() => 'deleted', (e: Error) => e.name)
  t.not(res, 'deleted', `the bucket is kept (${res})`)
  t.ok(existsSync(dir), 'with its directory')
  // The owner moved the staging folder out of the daemon's sight; what matters is that the delete destroyed none of it.
  t.equal(readdirSync(join(dir, 'zz', 'uploads')).filter(n => ids.includes(n)).length, ids.length, `all ${ids.length} uploads are still on disk`)
})

t.test('put back fails (a new .s3bridge with content appeared): the uploads are kept where they were set aside, and the log says where', async t => {
  const { b, admin, dir, ids } = await setup(t)
  let done = false
  interceptFsPromise(t, 'rmdir', real => (async (p: string, o?: unknown) => {
    // Another daemon that had not pinned the folder opens `.s3bridge` afresh and stages a temp file in it (simulated
    // here by the owner, whose directory it is), and an object lands: the directory cannot go.
    if (!done && p === dir) { done = true; asOwner(`cd '${dir}' && mkdir -p .s3bridge/tmp && echo x > late.txt`) }
    return await real(p, o as never)
  }) as typeof real)
  const res = await admin.send(new DeleteBucketCommand({ Bucket: 'fresh' })).then(() => 'deleted', (e: Error) => e.name)
  t.equal(res, 'BucketNotEmpty')
  t.ok(b.daemon.services.state.snapshot().buckets.fresh, 'the bucket is mapped again')
  // Not moved into a folder someone else made (it may be the owner's): kept aside, root-only, and reported.
  const aside = readdirSync(b.config.rootPath).filter(n => n.startsWith('.s3bridge-deleting-'))
  t.equal(aside.length, 1, 'the staging folder set aside is still there')
  t.equal(readdirSync(join(b.config.rootPath, aside[0] as string, 'uploads')).filter(n => ids.includes(n)).length, ids.length, 'with every upload')
  t.ok(b.logLines.some(l => l.includes('could not put its staging folder back') && l.includes(aside[0] as string)), 'the log names the folder')
})

t.test('no attacker: the staging folder was made again by another daemon (after an admin rm) -> 503 and the bucket unmapped', async t => {
  const { b, dir, creds } = await setup(t)
  // This daemon holds the old folder (pinned); the admin cleans up staging; another daemon sharing the filesystem
  // makes it again for its next upload (openStaging: root's, mode 0700).
  execFileSync('rm', ['-rf', join(dir, '.s3bridge')])
  execFileSync('mkdir', ['-m', '700', join(dir, '.s3bridge')])
  const once = new S3Client({ endpoint: b.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: creds, maxAttempts: 1 })
  t.teardown(() => once.destroy())
  const res = await once.send(new DeleteBucketCommand({ Bucket: 'fresh' })).then(() => 'deleted', (e: Error) => e.name)
  const mapped = b.daemon.services.state.snapshot().buckets.fresh !== undefined
  t.ok(res === 'deleted' || mapped, `DeleteBucket answered ${res}; the bucket is ${mapped ? 'still mapped' : 'unmapped'}, its directory ${existsSync(dir) ? 'still there' : 'gone'}`)
})
