// A bucket whose filesystem is not mounted, or whose directory is gone, is refused with 503 ServiceUnavailable:
// it used to be served as an empty bucket (a listing with no keys, NoSuchKey), so `aws s3 sync --delete` from it
// deleted the backup's copies, and PUTs landed on the host's disk under the bare mount point.
import t from 'tap'
import type { Test } from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { CopyObjectCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { abortStale, sweepTempFiles } from '../../lib/daemon/scheduled-jobs.js'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { mountHungFuse, mountTmpfs } from '../fixtures/mounts.js'
import { bridgectl } from '../fixtures/bridgectl.js'
import { awsEnv, hasProgram, rcloneEnv, runClient, type ClientResult } from '../fixtures/clients/run-client.js'
import { recordMissingMountPoints } from '../../lib/daemon/record-mounts.js'
import { mountPointOfSync } from '../../lib/storage/bucket-roots.js'
import { bootstrapDemo, DEMO_MARKER } from '../../lib/daemon/bootstrap.js'
import { parseConfig } from '../../lib/config/schema.js'
import { StateStore } from '../../lib/state/store.js'

const sh = (cmd: string, ...args: string[]): void => { execFileSync(cmd, args, { stdio: 'pipe' }) }

/** A client that does not retry: each call is one request. */
function oneShot (b: Bridge, t: Test): S3Client {
  const c = new S3Client({ endpoint: b.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: b.creds, maxAttempts: 1 })
  t.teardown(() => c.destroy())
  return c
}

async function eventually (what: string, fn: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if (await fn().catch(() => false)) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const unavailable = { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }


t.test('an export that is unmounted is refused with 503 until it is back; nothing is written under the bare mount point', async t => {
  const b = await startBridge(t)
  // The "export": a tmpfs holding the data, bind-mounted onto the bucket's directory (so it can come back).
  const store = join(b.dir, 'store')
  const nas = join(b.dir, 'nas')
  mkdirSync(store)
  mkdirSync(nas)
  if (!mountTmpfs(t, store)) return
  t.teardown(() => { try { sh('umount', '-l', nas) } catch {} try { sh('umount', '-l', store) } catch {} })
  mkdirSync(join(store, 'share'))
  chownSync(join(store, 'share'), 2000, 2000)
  sh('mount', '--bind', join(store, 'share'), nas)

  const created = await bridgectl(b, 'buckets', 'create', 'nas', nas, '--owner', 'tester')
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, `on the filesystem mounted at ${nas}`)
  const s3 = oneShot(b, t)
  await eventually('the new bucket', async () => (await s3.send(new HeadBucketCommand({ Bucket: 'nas' })), true))
  await s3.send(new PutObjectCommand({ Bucket: 'nas', Key: 'keep.txt', Body: 'precious' }))
  t.match(JSON.parse((await bridgectl(b, 'buckets', 'list', '--json')).stdout), [{ name: 'demo' }, { name: 'nas', mountPoint: nas, status: 'ok' }])

  // Within the 250 ms a "fine" verdict is reused, listings and answers of "no such key" still check afresh.
  await s3.send(new GetObjectCommand({ Bucket: 'nas', Key: 'keep.txt' }))
  sh('umount', '-l', nas) // lazy: the daemon holds the bucket's staging folder open
  t.same(readdirSync(nas), [], 'the bare mount point')
  await t.rejects(s3.send(new ListObjectsV2Command({ Bucket: 'nas' })), unavailable, 'a listing is refused at once, not empty')
  sh('mount', '--bind', join(store, 'share'), nas)
  await s3.send(new GetObjectCommand({ Bucket: 'nas', Key: 'keep.txt' }))
  sh('umount', '-l', nas)
  await t.rejects(s3.send(new GetObjectCommand({ Bucket: 'nas', Key: 'keep.txt' })), unavailable, 'a key looked up at once is not NoSuchKey')
  await new Promise(resolve => setTimeout(resolve, 300)) // past the 250 ms a "fine" verdict is reused
  await t.rejects(s3.send(new ListObjectsV2Command({ Bucket: 'nas' })), unavailable, 'a listing is refused, not empty')
  await t.rejects(s3.send(new GetObjectCommand({ Bucket: 'nas', Key: 'keep.txt' })), unavailable, 'a read is refused, not NoSuchKey')
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'nas', Key: 'new.txt', Body: 'x' })), unavailable)
  t.equal(await s3.send(new HeadBucketCommand({ Bucket: 'nas' })).then(() => 200, (e: { $metadata: { httpStatusCode: number } }) => e.$metadata.httpStatusCode), 503, 'HeadBucket')
  t.same(readdirSync(nas), [], 'nothing written on the host disk under the mount point')
  t.ok(b.logLines.some(l => l.includes('bucket nas is unavailable') && l.includes(`no filesystem is mounted at ${nas}`)), 'logged with the reason')
  t.match((await b.daemon.metrics.registry.getSingleMetricAsString('s3bridge_buckets_unavailable')), /s3bridge_buckets_unavailable 1/)
  t.match((await bridgectl(b, 'buckets', 'list')).stdout, /nas .*unavailable: no filesystem is mounted at/)
  const other = await s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.equal(other.$metadata.httpStatusCode, 200, 'other buckets are served')

  sh('mount', '--bind', join(store, 'share'), nas)
  const back = await s3.send(new GetObjectCommand({ Bucket: 'nas', Key: 'keep.txt' }))
  t.equal(await back.Body?.transformToString(), 'precious', 'served again at once when the export is back')
  t.ok(b.logLines.some(l => l.includes('bucket nas is available again')))
  t.same((await s3.send(new ListObjectsV2Command({ Bucket: 'nas' }))).Contents?.map(c => c.Key), ['keep.txt'])

  // Unmounted and mounted again between two requests: nothing saw the outage, but uploads must stage on the mount
  // that is there now (the old staging descriptor's mount would make every PUT fail with EXDEV).
  await s3.send(new PutObjectCommand({ Bucket: 'nas', Key: 'before.txt', Body: 'b' }))
  sh('umount', '-l', nas)
  sh('mount', '--bind', join(store, 'share'), nas)
  await new Promise(resolve => setTimeout(resolve, 300))
  await s3.send(new HeadBucketCommand({ Bucket: 'nas' })) // the check that notices the new mount
  await s3.send(new PutObjectCommand({ Bucket: 'nas', Key: 'after.txt', Body: 'after a remount' }))
  t.equal(readFileSync(join(store, 'share', 'after.txt'), 'utf8'), 'after a remount')
})

t.test('a bucket whose directory is covered by another mount is refused', async t => {
  const b = await startBridge(t)
  const store = join(b.dir, 'store3')
  mkdirSync(store)
  if (!mountTmpfs(t, store)) return
  t.teardown(() => { try { sh('umount', '-l', join(store, 'sub')) } catch {} try { sh('umount', '-l', store) } catch {} })
  mkdirSync(join(store, 'sub'))
  chownSync(join(store, 'sub'), 2000, 2000)
  t.equal((await bridgectl(b, 'buckets', 'create', 'sub', join(store, 'sub'), '--owner', 'tester')).code, 0)
  t.equal(JSON.parse((await bridgectl(b, 'buckets', 'view', 'sub', '--json')).stdout).mountPoint, store, 'the filesystem mounted above it')
  const s3 = oneShot(b, t)
  await eventually('the new bucket', async () => (await s3.send(new HeadBucketCommand({ Bucket: 'sub' })), true))
  sh('mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', join(store, 'sub')) // the mount point stays one
  await t.rejects(s3.send(new ListObjectsV2Command({ Bucket: 'sub' })), unavailable)
  t.ok(b.logLines.some(l => l.includes('bucket sub is unavailable') && l.includes(`no longer on the filesystem mounted at ${store}`)))
})

t.test('aws s3 sync --delete and rclone sync from an unmounted bucket fail and delete nothing locally', async t => {
  const aws = ['/usr/bin/aws', '/usr/local/bin/aws'].find(hasProgram)
  const rclone = ['/usr/bin/rclone', '/usr/local/bin/rclone'].find(hasProgram)
  if (aws === undefined || rclone === undefined) {
    t.plan(0, 'needs the AWS CLI and rclone (.ci/run installs them)')
    return
  }
  const b = await startBridge(t)
  const nas = join(b.dir, 'nas2')
  mkdirSync(nas)
  if (!mountTmpfs(t, nas)) return
  t.teardown(() => { try { sh('umount', '-l', nas) } catch {} })
  chownSync(nas, 2000, 2000)
  t.equal((await bridgectl(b, 'buckets', 'create', 'nas2', nas, '--owner', 'tester')).code, 0)
  const s3 = oneShot(b, t)
  await eventually('the new bucket', async () => (await s3.send(new HeadBucketCommand({ Bucket: 'nas2' })), true))
  await s3.send(new PutObjectCommand({ Bucket: 'nas2', Key: 'a.txt', Body: 'a' }))
  const home = join(b.dir, 'home')
  mkdirSync(home)
  const awsSync = (to: string): Promise<ClientResult> => runClient(aws, ['--endpoint-url', b.endpoint, 's3', 'sync', '--delete', 's3://nas2', to], { env: { ...awsEnv(home, b.creds), AWS_MAX_ATTEMPTS: '2' } })
  const rcloneSync = (to: string): Promise<ClientResult> => runClient(rclone, ['sync', 'bridge:nas2', to, '--retries', '1', '--low-level-retries', '2'], { env: rcloneEnv(home, join(home, 'rclone.conf'), b.endpoint, b.creds) })
  const backups = { aws: join(b.dir, 'backup-aws'), rclone: join(b.dir, 'backup-rclone') }
  for (const [name, sync] of [['aws', awsSync], ['rclone', rcloneSync]] as const) {
    mkdirSync(backups[name])
    const r = await sync(backups[name])
    t.equal(r.code, 0, `${name}: ${r.stderr}`)
    t.equal(readFileSync(join(backups[name], 'a.txt'), 'utf8'), 'a')
    writeFileSync(join(backups[name], 'b.txt'), 'b')
  }

  sh('umount', '-l', nas)
  await new Promise(resolve => setTimeout(resolve, 300))
  for (const [name, sync] of [['aws', awsSync], ['rclone', rcloneSync]] as const) {
    const r = await sync(backups[name])
    t.not(r.code, 0, `${name} sync fails`)
    t.match(r.stderr, /503|ServiceUnavailable/, name)
    t.same(readdirSync(backups[name]).sort(), ['a.txt', 'b.txt'], `${name}: the backup keeps every file`)
  }
})

t.test('a bucket directory removed by hand is refused with 503, and not made again by a PUT', async t => {
  const b = await startBridge(t)
  const path = await b.addBucket('gone', 'tester')
  const s3 = oneShot(b, t)
  await s3.send(new PutObjectCommand({ Bucket: 'gone', Key: 'x', Body: 'x' }))
  execFileSync('rm', ['-rf', path])
  await new Promise(resolve => setTimeout(resolve, 300))
  await t.rejects(s3.send(new ListObjectsV2Command({ Bucket: 'gone' })), unavailable)
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'gone', Key: 'y', Body: 'y' })), unavailable)
  t.notOk(existsSync(path))
  t.ok(b.logLines.some(l => l.includes('bucket gone is unavailable') && l.includes('is missing')))
  const view = await bridgectl(b, 'buckets', 'view', 'gone')
  t.match(view.stdout, /status:\s+unavailable: its directory .* is missing/)
  t.match((await bridgectl(b, 'buckets', 'modify', 'gone', '--record-mount')).stderr, /is missing or not a directory; mount its filesystem first/)
})

t.test('a write right after the bucket directory went away (within the reuse of a fine verdict) is 503, not NoSuchKey (sweep 24c F2)', async t => {
  const b = await startBridge(t)
  const path = await b.addBucket('moved', 'tester')
  const s3 = oneShot(b, t)
  const answers: string[] = []
  for (let i = 0; i < 5; i++) {
    await s3.send(new PutObjectCommand({ Bucket: 'moved', Key: 'warm', Body: 'x' })) // a fine verdict, reused for 250 ms
    execFileSync('mv', [path, `${path}.away`])
    for (const send of [
      () => s3.send(new PutObjectCommand({ Bucket: 'moved', Key: 'p', Body: 'y' })),
      () => s3.send(new PutObjectCommand({ Bucket: 'moved', Key: 'new/dir/p', Body: 'y' })),
      () => s3.send(new CreateMultipartUploadCommand({ Bucket: 'moved', Key: 'p' })),
    ]) answers.push(await send().then(() => '200', (err: Error & { $metadata?: { httpStatusCode?: number } }) => `${err.$metadata?.httpStatusCode} ${err.name}`))
    execFileSync('mv', [`${path}.away`, path])
    await new Promise(resolve => setTimeout(resolve, 300))
  }
  t.same([...new Set(answers)], ['503 ServiceUnavailable'], answers.join('; '))
  t.notOk(existsSync(join(path, 'p')), 'nothing was written under the path while it was away')
})

t.test('buckets mapped before mount points were recorded get theirs at start, from a filesystem of their own with files', async t => {
  const b = await startBridge(t)
  const nfs = join(b.dir, 'nfs')
  mkdirSync(nfs)
  if (!mountTmpfs(t, nfs)) return
  t.teardown(() => { try { sh('umount', '-l', nfs) } catch {} })
  const add = async (name: string, path: string, files: string[]): Promise<void> => {
    mkdirSync(path, { recursive: true })
    for (const f of files) mkdirSync(join(path, f), { recursive: true })
    await b.daemon.services.state.mutate(s => { s.buckets[name] = { name, path, owner: 'tester', createdAt: new Date().toISOString(), createdByS3: false, acl: [], objectAclPolicy: 'replace' } })
  }
  await add('full', join(nfs, 'full'), ['reports'])
  await add('staged', join(nfs, 'staged'), ['.s3bridge', '.s3bridge.untrusted-1'])
  await add('empty', join(nfs, 'empty'), [])
  await add('local', join(b.dir, 'local'), ['reports'])
  await recordMissingMountPoints(b.daemon.services.state, b.daemon.services.log)
  const buckets = b.daemon.services.state.snapshot().buckets
  t.equal(buckets.full?.mountPoint, nfs, 'files on a filesystem of its own: recorded')
  t.equal(buckets.staged?.mountPoint, undefined, 'only the bridge\'s staging folders: may be a bare mount point')
  t.equal(buckets.empty?.mountPoint, undefined, 'empty: may be a bare mount point')
  const local = mountPointOfSync(join(b.dir, 'local'))
  t.equal(buckets.local?.mountPoint, local === '/' ? undefined : local, 'on the root filesystem: may be a bare mount point')
  const recorded = await bridgectl(b, 'buckets', 'modify', 'empty', '--record-mount')
  t.equal(recorded.code, 0, recorded.stderr)
  t.match(JSON.parse((await bridgectl(b, 'buckets', 'view', 'empty', '--json')).stdout), { mountPoint: nfs, status: 'ok' })
})

t.test('the demo user and bucket are made on a first start only, never again once deleted', async t => {
  const dir = t.testdir({})
  const config = parseConfig({ http: { host: '127.0.0.1', port: 0 }, stateDir: 'state', rootPath: 'buckets', demo: { bucket: 'demo', path: 'var/demo', uid: 2000, gid: 2000 } }, dir)
  const state = new StateStore(config.stateDir)
  t.teardown(() => state.close())
  const first = await bootstrapDemo(config, state, new Date())
  t.match(first, { bucket: 'demo', secret: /^.{40}$/ })
  t.ok(state.snapshot().users.demo && state.snapshot().buckets.demo?.mountPoint, 'made, with its mount point')
  const again = await bootstrapDemo(config, state, new Date())
  t.same(again, { accessKeyId: first?.accessKeyId, bucket: 'demo' }, 'a restart prints the key id, not a secret')
  await state.mutate(s => { delete s.buckets.demo; delete s.users.demo })
  t.equal(await bootstrapDemo(config, state, new Date()), undefined)
  t.same(state.snapshot().users, {}, 'the deleted demo user stays deleted')
  t.same(state.snapshot().buckets, {})
})

t.test('a state made before the first-start marker is marked, so a deleted demo account is not made again', async t => {
  const dir = t.testdir({})
  const config = parseConfig({ http: { host: '127.0.0.1', port: 0 }, stateDir: 'state', rootPath: 'buckets', demo: { bucket: 'demo', path: 'var/demo', uid: 2000, gid: 2000 } }, dir)
  const state = new StateStore(config.stateDir)
  t.teardown(() => state.close())
  await bootstrapDemo(config, state, new Date())
  rmSync(join(config.stateDir, DEMO_MARKER)) // as an older version left it
  t.match(await bootstrapDemo(config, state, new Date()), { bucket: 'demo' })
  t.ok(existsSync(join(config.stateDir, DEMO_MARKER)), 'marked at the next start')
  await state.mutate(s => { delete s.buckets.demo; delete s.users.demo })
  t.equal(await bootstrapDemo(config, state, new Date()), undefined)
  t.same(state.snapshot().users, {})
})

t.test('an admin who set up users before the first start gets no demo account', async t => {
  const dir = t.testdir({})
  const config = parseConfig({ http: { host: '127.0.0.1', port: 0 }, stateDir: 'state', rootPath: 'buckets', demo: { bucket: 'demo', path: 'var/demo' } }, dir)
  const state = new StateStore(config.stateDir)
  t.teardown(() => state.close())
  await state.mutate(s => { s.users.alice = { name: 'alice', uid: 1001, gid: 1001, role: 'user', enabled: true, createdAt: new Date().toISOString(), keys: [], policies: [] } })
  t.equal(await bootstrapDemo(config, state, new Date()), undefined)
  t.same(Object.keys(state.snapshot().users), ['alice'])
  t.notOk(existsSync(join(dir, 'var/demo')), 'no demo directory made')
})

/** A bridge whose bucket checks get `deadlineMs` to answer, and a tmpfs "export" mounted at its dir/nas. */
async function bridgeWithExport (t: Test, deadlineMs: number): Promise<{ b: Bridge, nas: string } | undefined> {
  process.env.S3BRIDGE_ROOT_ANSWER_MS = String(deadlineMs)
  t.teardown(() => { delete process.env.S3BRIDGE_ROOT_ANSWER_MS })
  const b = await startBridge(t)
  const nas = join(b.dir, 'nas')
  mkdirSync(nas)
  return mountTmpfs(t, nas) ? { b, nas } : undefined
}

t.test('a bucket whose filesystem hangs (a hard NFS mount whose server is gone) is refused after a deadline, and the rest of the daemon keeps serving', async t => {
  const started = await bridgeWithExport(t, 400)
  if (started === undefined) return
  const { b, nas } = started
  mkdirSync(join(nas, 'share'))
  chownSync(join(nas, 'share'), 2000, 2000)
  const created = await bridgectl(b, 'buckets', 'create', 'nas', join(nas, 'share'), '--owner', 'tester')
  t.equal(created.code, 0, created.stderr)
  const s3 = oneShot(b, t)
  await eventually('the new bucket', async () => (await s3.send(new HeadBucketCommand({ Bucket: 'nas' })), true))
  await s3.send(new PutObjectCommand({ Bucket: 'nas', Key: 'keep.txt', Body: 'precious' }))

  const release = mountHungFuse(t, nas) // stacked over the tmpfs: every call under nas/ now blocks
  if (release === false) return
  await new Promise(resolve => setTimeout(resolve, 300)) // past the 250 ms a "fine" verdict is reused
  const began = Date.now()
  await t.rejects(s3.send(new GetObjectCommand({ Bucket: 'nas', Key: 'keep.txt' })), unavailable, 'a GET gets 503, not a hang')
  t.ok(Date.now() - began < 5000, `answered after ${Date.now() - began} ms`)
  // Listings check afresh; a dozen at once share the one stuck check instead of each leaving a pool thread stuck
  // (this process has libuv's 4): the demo bucket goes on being served meanwhile and after.
  const listings = await Promise.allSettled(Array.from({ length: 12 }, () => s3.send(new ListObjectsV2Command({ Bucket: 'nas' }))))
  t.ok(listings.every(r => r.status === 'rejected' && (r.reason as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 503), 'every listing 503')
  // Once its check has run out of time, the bucket is refused at once, not after another deadline each time.
  const again = Date.now()
  await t.rejects(s3.send(new GetObjectCommand({ Bucket: 'nas', Key: 'keep.txt' })), unavailable)
  t.ok(Date.now() - again < 300, `a known hang answers at once (${Date.now() - again} ms)`)
  // A copy whose source is the hung bucket is refused too: read, it would hold its request and a pool thread for good.
  await t.rejects(s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'copied.txt', CopySource: 'nas/keep.txt' })), unavailable, 'CopyObject from it')
  // The scheduled jobs and a metrics scrape skip it without waiting on it (their synchronous open would stop the daemon).
  const deps = { config: b.config, state: b.daemon.services.state, log: b.daemon.services.log, now: () => new Date(), roots: b.daemon.services.roots }
  const jobsStarted = Date.now()
  await abortStale(deps)
  await sweepTempFiles(deps)
  const scrape = await b.daemon.metrics.registry.metrics()
  t.ok(Date.now() - jobsStarted < 2000, `jobs and a scrape return (${Date.now() - jobsStarted} ms)`)
  t.match(scrape, /s3bridge_buckets_unavailable 1/, 'the scrape counts it')
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'still.txt', Body: 'served' }))
  const got = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'still.txt' }))
  t.equal(await got.Body!.transformToString(), 'served', 'other buckets are served')
  t.equal(b.logLines.filter(l => l.includes('bucket nas is unavailable') && l.includes('does not answer')).length, 1, 'logged once')

  // bridgectl (its own process) reports it after its 5 s deadline rather than hanging on the stat. (Its stuck
  // thread may wait behind this process's stuck lookup, uninterruptibly, so it exits once the mount is released.)
  const ctl = spawn(process.execPath, [join(import.meta.dirname, '../../bin/bridgectl'), '--config', join(b.dir, 'bridge.conf'), 'buckets', 'list', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>(resolve => ctl.once('exit', code => resolve(code)))
  let out = ''
  ctl.stdout.on('data', (d: Buffer) => { out += String(d) })
  const listed = await new Promise<unknown>((resolve, reject) => {
    const started = Date.now()
    const poll = setInterval(() => {
      try {
        const v: unknown = JSON.parse(out)
        clearInterval(poll)
        resolve(v)
      } catch {
        if (Date.now() - started > 20_000) { clearInterval(poll); reject(new Error(`bridgectl printed no listing: ${out}`)) }
      }
    }, 100)
  })
  t.match(listed, [{ name: 'demo', status: 'ok' }, { name: 'nas', status: /unavailable: its filesystem does not answer/ }])

  release() // the server is back, in a way: calls fail at once (ENOTCONN), then the mount is gone
  t.equal(await exited, 0, 'bridgectl exits 0')
  await eventually('the bucket back', async () => (await s3.send(new GetObjectCommand({ Bucket: 'nas', Key: 'keep.txt' })), true))
  t.ok(b.logLines.some(l => l.includes('bucket nas is available again')), 'logged when it is back')
})

t.test('many buckets exported from one hung server leave one stuck call between them, not one each', async t => {
  const started = await bridgeWithExport(t, 400)
  if (started === undefined) return
  const { b, nas } = started
  const names = ['proj1', 'proj2', 'proj3', 'proj4', 'proj5', 'proj6'] // more than this process's 4 pool threads
  for (const name of names) {
    mkdirSync(join(nas, name))
    chownSync(join(nas, name), 2000, 2000)
    const made = await bridgectl(b, 'buckets', 'create', name, join(nas, name), '--owner', 'tester')
    t.equal(made.code, 0, made.stderr)
  }
  const s3 = oneShot(b, t)
  await eventually('the new buckets', async () => (await s3.send(new HeadBucketCommand({ Bucket: 'proj6' })), true))
  const release = mountHungFuse(t, nas)
  if (release === false) return
  await new Promise(resolve => setTimeout(resolve, 300)) // past the 250 ms a "fine" verdict is reused
  const answers = await Promise.allSettled(names.map(Bucket => s3.send(new ListObjectsV2Command({ Bucket }))))
  t.ok(answers.every(r => r.status === 'rejected' && (r.reason as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 503), 'each bucket of the hung server is 503')
  // Each bucket stat'ing its own directory left one pool thread stuck per bucket: with six, the pool was gone and
  // the demo bucket's own check timed out behind them (503 for a healthy bucket).
  await new Promise(resolve => setTimeout(resolve, 300))
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.equal(listed.$metadata.httpStatusCode, 200, 'a bucket on another filesystem is served')
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'meanwhile.txt', Body: 'ok' }))
  t.ok(b.logLines.some(l => l.includes('bucket proj1 is unavailable') && l.includes('does not answer')), 'logged as a hang')
  release()
  await eventually('the buckets back', async () => (await s3.send(new HeadBucketCommand({ Bucket: 'proj3' })), true))
})

/**
 * A bridge whose check deadline is `deadlineMs`, and this process's 4 pool threads each stuck in a call on a FUSE
 * mount that never answers; release() lets them return (ENOTCONN). undefined where FUSE cannot be mounted.
 */
async function busyPool (t: Test, deadlineMs: number): Promise<{ b: Bridge, s3: S3Client, release: () => void, calls: Promise<unknown> } | undefined> {
  process.env.S3BRIDGE_ROOT_ANSWER_MS = String(deadlineMs)
  t.teardown(() => { delete process.env.S3BRIDGE_ROOT_ANSWER_MS })
  const b = await startBridge(t)
  const s3 = oneShot(b, t)
  await s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  const fuse = join(b.dir, 'fuse')
  mkdirSync(fuse)
  const release = mountHungFuse(t, fuse)
  if (release === false) return undefined
  const calls = Promise.all(Array.from({ length: 4 }, () => stat(join(fuse, 'x')).catch(() => undefined)))
  return { b, s3, release, calls }
}

t.test('a check queued behind busy I/O threads waits for them instead of calling a healthy bucket hung', async t => {
  const busy = await busyPool(t, 1000)
  if (busy === undefined) return
  const { b, s3, release } = busy
  // Slow, not hung, I/O: the threads come back after the deadline, well before the canary's own 2 s.
  const back = setTimeout(release, 1600)
  t.teardown(() => { clearTimeout(back); release() })
  const began = Date.now()
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.equal(listed.$metadata.httpStatusCode, 200, `served after ${Date.now() - began} ms, once the threads were free, not 503 at the 1 s deadline`)
  t.notOk(b.logLines.some(l => l.includes('bucket demo is unavailable')), 'never logged as unavailable')
  await busy.calls
})

t.test('when every I/O thread stays taken, a bucket is refused after three times the deadline, and says why', async t => {
  const busy = await busyPool(t, 400)
  if (busy === undefined) return
  const { b, s3, release } = busy
  const began = Date.now()
  await t.rejects(s3.send(new ListObjectsV2Command({ Bucket: 'demo' })), unavailable)
  const took = Date.now() - began
  t.ok(took >= 1100 && took < 5000, `503 after ${took} ms (deadline 400 ms, then 800 ms for a canary)`)
  t.ok(b.logLines.some(l => l.includes('bucket demo is unavailable') && l.includes('every I/O thread of the daemon is busy')), 'logged with the reason')
  release()
  await busy.calls
  await eventually('the bucket back', async () => (await s3.send(new ListObjectsV2Command({ Bucket: 'demo' })), true))
})
