// The staging folder (<bucket>/.s3bridge) sits in a bucket root an NFS user may own, and the daemon runs as root:
// an NFS user who renames it away and plants a symlink must not make root create, keep or delete files outside the
// bucket (temp files of PUTs, the stale-upload sweep, the start-up tmp sweep). Found by a security sweep.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PutObjectCommand, GetObjectCommand, CreateMultipartUploadCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { abortStaleUploads } from '../../lib/storage/multipart-list.js'
import { sweepStaleStagingFiles } from '../../lib/daemon/staging-cleanup.js'

/** Runs a shell command as the NFS user who owns the bucket root (uid/gid 2000). */
function asNfsUser (script: string): void {
  execFileSync('setpriv', ['--reuid=2000', '--regid=2000', '--clear-groups', 'sh', '-c', script])
}

/** A root-only folder outside the bucket, holding a file an attacker would love to see deleted or joined. */
function victim (dir: string): string {
  const v = join(dir, 'victim')
  mkdirSync(v, { recursive: true })
  writeFileSync(join(v, 'precious.db'), 'keep me')
  utimesSync(join(v, 'precious.db'), new Date(0), new Date(0))
  chmodSync(v, 0o700)
  return v
}

t.test('a staging folder swapped for the NFS user\'s own, with tmp and uploads linked out, is never used', async t => {
  const b = await startBridge(t)
  const v = victim(b.dir)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'before', Body: 'pins the real staging folder' }))
  t.equal(statSync(join(b.bucketDir, '.s3bridge')).mode & 0o777, 0o700, 'the daemon\'s folder is 0700')
  // The user owns the bucket root, so it may rename root's folder away and make its own in its place.
  asNfsUser(`cd '${b.bucketDir}' && mv .s3bridge .hidden && mkdir .s3bridge && ln -s '${v}' .s3bridge/tmp && ln -s '${v}' .s3bridge/uploads`)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'after', Body: 'still staged safely' }))
  t.equal(await (await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'after' }))).Body?.transformToString(), 'still staged safely')
  await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp' }))
  t.same(readdirSync(v), ['precious.db'], 'nothing was created in the linked folder')
  // The sweeps: stale uploads (hourly) and stale tmp files (at start), with every entry old enough.
  await abortStaleUploads(b.bucketDir, 0, Date.now() + 365 * 86400_000)
  await sweepStaleStagingFiles([{ ...b.daemon.services.state.snapshot().buckets.demo! }], { minIdleMs: 0, nowMs: Date.now() + 365 * 86400_000 })
  t.same(readdirSync(v), ['precious.db'], 'the sweeps deleted nothing outside the bucket')
  t.equal(lstatSync(join(b.bucketDir, '.s3bridge', 'tmp')).isSymbolicLink(), true, 'the user\'s own links are left alone')
})

t.test('a daemon that meets a planted staging folder at start sets it aside and makes its own', async t => {
  const b = await startBridge(t)
  const v = victim(b.dir)
  asNfsUser(`cd '${b.bucketDir}' && rm -rf .s3bridge && mkdir .s3bridge && ln -s '${v}' .s3bridge/tmp && ln -s '${v}' .s3bridge/uploads`)
  // Spelled with a trailing slash, the root is one this process has not opened a staging folder for yet: what a
  // freshly started daemon meets.
  const root = b.bucketDir + '/'
  await sweepStaleStagingFiles([{ ...b.daemon.services.state.snapshot().buckets.demo!, path: root }], { minIdleMs: 0, nowMs: Date.now() + 86400_000 })
  t.same(readdirSync(v), ['precious.db'], 'the start-up sweep deleted nothing outside the bucket')
  t.equal(statSync(join(root, '.s3bridge')).uid, 0, 'the folder now at the name is the daemon\'s')
  t.ok(readdirSync(b.bucketDir).some(n => n.startsWith('.s3bridge.untrusted-')), 'the planted one was set aside, not deleted')
  await abortStaleUploads(root, 0, Date.now() + 365 * 86400_000)
  t.same(readdirSync(v), ['precious.db'])
  t.ok(existsSync(join(v, 'precious.db')))
})
