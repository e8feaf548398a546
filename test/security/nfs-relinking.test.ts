// Write paths against an NFS user who renames or re-links what the daemon (root) works on (found by a security
// sweep): the staging folder (<bucket>/.s3bridge) in a bucket root the user owns, a folder swapped with a symlink
// while PUTs and DELETEs run, and another user's folder renamed into the path during an upload. Root must never
// create, keep, replace or delete anything outside the bucket, nor lend one folder's rights to another.
import t from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, chownSync, copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { request } from 'node:http'
import { startBridge, type Bridge, type Credentials } from '../fixtures/daemon.js'
import { signHeaders } from '../fixtures/robustness/wire.js'
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

t.test('a planted staging folder is never used: the sweeps skip it, the next write sets it aside and makes its own', async t => {
  const b = await startBridge(t)
  const v = victim(b.dir)
  asNfsUser(`cd '${b.bucketDir}' && rm -rf .s3bridge && mkdir .s3bridge && ln -s '${v}' .s3bridge/tmp && ln -s '${v}' .s3bridge/uploads`)
  const bucket = b.daemon.services.state.snapshot().buckets.demo!
  await sweepStaleStagingFiles([bucket], { minIdleMs: 0, nowMs: Date.now() + 86400_000 })
  await abortStaleUploads(b.bucketDir, 0, Date.now() + 365 * 86400_000)
  t.same(readdirSync(v), ['precious.db'], 'the sweeps deleted nothing outside the bucket')
  t.equal(lstatSync(join(b.bucketDir, '.s3bridge')).uid, 2000, 'and, being read-only, left the planted folder where it was')
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'x', Body: 'staged in a folder of the daemon\'s own' }))
  t.equal(statSync(join(b.bucketDir, '.s3bridge')).uid, 0, 'the folder now at the name is the daemon\'s')
  t.equal(statSync(join(b.bucketDir, '.s3bridge')).mode & 0o7777, 0o700)
  t.ok(readdirSync(b.bucketDir).some(n => n.startsWith('.s3bridge.untrusted-')), 'the planted one was set aside, not deleted')
  t.same(readdirSync(v), ['precious.db'])
})

t.test('a root-owned folder renamed into the staging folder\'s place (a 1777 drop box) is not adopted', async t => {
  const b = await startBridge(t)
  const v = victim(b.dir)
  // An admin's world-writable drop box in the bucket root: root's, like the daemon's own staging folder.
  const drop = join(b.bucketDir, 'drop')
  mkdirSync(drop)
  chmodSync(drop, 0o1777)
  asNfsUser(`cd '${b.bucketDir}' && ln -s '${v}' drop/tmp && ln -s '${v}' drop/uploads && rm -rf .s3bridge && mv drop .s3bridge`)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'y', Body: 'y' }))
  await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp' }))
  t.same(readdirSync(v), ['precious.db'], 'nothing was made in the linked folder')
  t.equal(statSync(join(b.bucketDir, '.s3bridge')).mode & 0o7777, 0o700, 'a fresh staging folder replaced the drop box')
  t.equal(lstatSync(join(b.bucketDir, '.s3bridge', 'tmp')).isDirectory(), true)
})

t.test('PUTs and DELETEs racing an NFS user who swaps their folder with a symlink never touch anything outside the bucket', async t => {
  const b = await startBridge(t)
  const v = join(b.dir, 'outside')
  mkdirSync(v)
  writeFileSync(join(v, 'target.txt'), 'root secret')
  chmodSync(v, 0o755)
  asNfsUser(`cd '${b.bucketDir}' && mkdir d && echo mine > d/target.txt && ln -s '${v}' dsym`)
  // The racer runs as the NFS user, so its script and interpreter must be readable by that uid.
  const swap = join(b.bucketDir, '..', 'swap.py')
  copyFileSync(join(dirname(fileURLToPath(import.meta.url)), '../fixtures/robustness/swap.py'), swap)
  chmodSync(swap, 0o644)
  const racer = spawn('setpriv', ['--reuid=2000', '--regid=2000', '--clear-groups', '/usr/bin/python3', swap, join(b.bucketDir, 'd'), join(b.bucketDir, 'dsym'), '4'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const done = new Promise<number>(resolve => racer.on('exit', code => resolve(code ?? -1)))
  let requests = 0
  const until = Date.now() + 3500
  while (Date.now() < until) {
    await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'd/target.txt', Body: 'attacker content' })).catch(() => undefined)
    await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: `d/planted-${requests}.txt`, Body: 'planted' })).catch(() => undefined)
    await b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'd/target.txt' })).catch(() => undefined)
    requests++
  }
  t.equal(await done, 0, 'the swapper ran')
  t.ok(requests > 10, `${requests} rounds of PUT, PUT, DELETE raced the swaps`)
  t.same(readdirSync(v), ['target.txt'], 'nothing was planted outside the bucket')
  t.equal(readFileSync(join(v, 'target.txt'), 'utf8'), 'root secret', 'nothing outside was replaced or deleted')
  t.equal(statSync(join(v, 'target.txt')).uid, 0)
})

/**
 * A shared, non-sticky folder holding mallory's (uid 1001) and bob's (uid 1002) folders, laid out as given
 * (relative path, owner, mode); mallory may write the bucket.
 */
async function sharedFolders (b: Bridge, layout: ReadonlyArray<readonly [string, number, number]>): Promise<{ shared: string, mallory: Credentials }> {
  const shared = join(b.bucketDir, 'shared')
  mkdirSync(shared)
  chmodSync(shared, 0o777)
  for (const [dir, uid, mode] of layout) {
    mkdirSync(join(shared, dir))
    chownSync(join(shared, dir), uid, uid)
    chmodSync(join(shared, dir), mode)
  }
  const mallory = await b.addUser('mallory', 1001, 1001)
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'mallory', type: 'user', permission: 'FULL_CONTROL' }) })
  return { shared, mallory }
}

/**
 * mallory PUTs to `path`, pausing mid-body: the permission walk has seen her own folder "mine"; she then renames
 * bob's folder into its name, and the body ends. Resolves with the status.
 */
async function putWithFolderSwap (b: Bridge, mallory: Credentials, shared: string, path: string): Promise<number> {
  const url = new URL(b.endpoint)
  const headers = await signHeaders(b.endpoint, mallory, { method: 'PUT', path, headers: { 'content-length': '8' } })
  return new Promise<number>((resolve, reject) => {
    const req = request({ host: url.hostname, port: Number(url.port), method: 'PUT', path, headers }, res => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) })
    req.on('error', reject)
    req.write('half')
    setTimeout(() => {
      execFileSync('setpriv', ['--reuid=1001', '--regid=1001', '--clear-groups', 'sh', '-c', `cd '${shared}' && mv mine mine.old && mv bobs mine`])
      req.end('rest')
    }, 300)
  })
}

t.test('a folder renamed into the path during an upload is judged on its own: no writing into another user\'s folder', async t => {
  const b = await startBridge(t)
  const { shared, mallory } = await sharedFolders(b, [['mine', 1001, 0o755], ['bobs', 1002, 0o755]])
  t.equal(await putWithFolderSwap(b, mallory, shared, '/demo/shared/mine/x.txt'), 403, 'the upload is refused at the folder it would land in')
  t.same(readdirSync(join(shared, 'mine')), [], 'nothing was written into bob\'s folder')
  t.equal(statSync(join(shared, 'mine')).uid, 1002)
})

t.test('a folder renamed into the path above the one written in is judged too: no search, no entry', async t => {
  const b = await startBridge(t)
  // mallory's folder with a world-writable subfolder; bob's private folder with one of the same name.
  const { shared, mallory } = await sharedFolders(b, [['mine', 1001, 0o755], ['mine/open', 1001, 0o777], ['bobs', 1002, 0o700], ['bobs/open', 1002, 0o777]])
  t.equal(await putWithFolderSwap(b, mallory, shared, '/demo/shared/mine/open/x.txt'), 403, 'bob\'s 0700 folder cannot be passed through')
  t.same(readdirSync(join(shared, 'mine', 'open')), [], 'nothing was written below bob\'s folder')
})
