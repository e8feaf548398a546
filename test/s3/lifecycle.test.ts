// Bucket lifecycle: the configuration calls (AWS's schema and checks, read back as written) and the daily job that
// expires objects and aborts uploads for the bucket's owner.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, UploadPartCommand, DeleteBucketLifecycleCommand, ListPartsCommand, GetBucketLifecycleConfigurationCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand,
  PutBucketLifecycleConfigurationCommand, PutBucketPolicyCommand, PutObjectCommand, type LifecycleRule,
} from '@aws-sdk/client-s3'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { bridgectl } from '../fixtures/bridgectl.js'
import { md5Of, signedRequest } from '../fixtures/post-form.js'
import { applyLifecycle, applyLifecycleOnceADay, applyLifecycleToday } from '../../lib/daemon/lifecycle-job.js'
import { mount, oldImage, umount } from '../fixtures/old-tree.js'
import { tryLock } from '../../lib/state/store.js'
import type { BucketRoots } from '../../lib/storage/bucket-roots.js'

const DAY = 86_400_000

async function put (b: Bridge, rules: LifecycleRule[]): Promise<void> {
  await b.s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: 'demo', LifecycleConfiguration: { Rules: rules } }))
}

async function outcome (p: Promise<unknown>): Promise<string> {
  return await p.then(() => 'ok', (e: Error) => e.name)
}

/** A file as an NFS user leaves it: owned by uid/gid, last modified `daysAgo` days back. */
function nfsFile (b: Bridge, key: string, daysAgo: number, opts: { uid?: number, mode?: number, body?: string } = {}): void {
  const path = join(b.bucketDir, key)
  const parts = key.split('/').slice(0, -1)
  for (let i = 1; i <= parts.length; i++) {
    const dir = join(b.bucketDir, ...parts.slice(0, i))
    if (!existsSync(dir)) { mkdirSync(dir, { mode: 0o755 }); chownSync(dir, 2000, 2000) } // folders the owner made
  }
  writeFileSync(path, opts.body ?? 'x', { mode: opts.mode ?? 0o644 })
  chownSync(path, opts.uid ?? 2000, 2000)
  const when = new Date(Date.now() - daysAgo * DAY)
  utimesSync(path, when, when)
}

function deps (b: Bridge, now = new Date()) {
  return { config: b.config, state: b.daemon.services.state, log: b.daemon.services.log, now: () => now, roots: b.daemon.services.roots }
}

t.test('the configuration is stored and read back as written; deleting it leaves NoSuchLifecycleConfiguration', async t => {
  const b = await startBridge(t)
  await t.rejects(b.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'demo' })), { name: 'NoSuchLifecycleConfiguration' })
  const rules: LifecycleRule[] = [
    { ID: 'legacy', Prefix: 'logs/', Status: 'Enabled', Expiration: { Days: 30 } },
    { ID: 'tmp', Filter: { Prefix: 'tmp/' }, Status: 'Disabled', Expiration: { Date: new Date('2031-01-01T00:00:00Z') } },
    { ID: 'everything', Filter: {}, Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } },
    { ID: 'tagged', Filter: { And: { Prefix: 'a/', Tags: [{ Key: 'k', Value: 'v' }], ObjectSizeGreaterThan: 10 } }, Status: 'Enabled', Expiration: { Days: 1 } },
    { ID: 'archive', Filter: { ObjectSizeLessThan: 100 }, Status: 'Enabled', Transitions: [{ Days: 90, StorageClass: 'GLACIER' }] },
    { ID: 'and-empty-prefix', Filter: { And: { Prefix: '', Tags: [{ Key: 'k', Value: 'v' }] } }, Status: 'Enabled', Expiration: { Days: 5 } },
  ]
  await put(b, rules)
  const got = await b.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'demo' }))
  t.same(got.Rules, rules)
  t.match((await bridgectl(b, 'buckets', 'view', 'demo')).stdout, /lifecycle:\s+5 of 6 rules enabled: legacy, tmp, everything, tagged, archive, and-empty-prefix/, 'bridgectl shows the rules')
  const del = await b.s3.send(new DeleteBucketLifecycleCommand({ Bucket: 'demo' }))
  t.equal(del.$metadata.httpStatusCode, 204)
  await t.rejects(b.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'demo' })), { name: 'NoSuchLifecycleConfiguration' })
  const alice = b.client(await b.addUser('alice', 1001, 1001))
  t.equal(await outcome(alice.send(new PutBucketLifecycleConfigurationCommand({ Bucket: 'demo', LifecycleConfiguration: { Rules: rules } }))), 'AccessDenied', 'only the owner sets it')
})

t.test('rules AWS refuses are refused with its codes', async t => {
  const b = await startBridge(t)
  const cases: Array<[string, LifecycleRule[], string]> = [
    ['an ID over 255 characters', [{ ID: 'a'.repeat(256), Prefix: '', Status: 'Enabled', Expiration: { Days: 1 } }], 'InvalidArgument'],
    ['two rules with one ID', [{ ID: 'r', Prefix: 'a/', Status: 'Enabled', Expiration: { Days: 1 } }, { ID: 'r', Prefix: 'b/', Status: 'Enabled', Expiration: { Days: 2 } }], 'InvalidArgument'],
    ['zero days', [{ ID: 'r', Prefix: '', Status: 'Enabled', Expiration: { Days: 0 } }], 'InvalidArgument'],
    ['a date that is not midnight', [{ ID: 'r', Prefix: '', Status: 'Enabled', Expiration: { Date: new Date('2031-01-01T12:00:00Z') } }], 'InvalidArgument'],
    ['no action', [{ ID: 'r', Prefix: '', Status: 'Enabled' }], 'InvalidRequest'],
    ['an abort with a tag filter', [{ ID: 'r', Filter: { Tag: { Key: 'k', Value: 'v' } }, Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }], 'InvalidRequest'],
    ['STANDARD_IA before 30 days', [{ ID: 'r', Prefix: '', Status: 'Enabled', Transitions: [{ Days: 10, StorageClass: 'STANDARD_IA' }] }], 'InvalidArgument'],
    ['a bad status', [{ ID: 'r', Prefix: '', Status: 'On' as 'Enabled', Expiration: { Days: 1 } }], 'MalformedXML'],
    ['neither Prefix nor Filter', [{ ID: 'r', Status: 'Enabled', Expiration: { Days: 1 } }], 'MalformedXML'],
    ['an And of one predicate', [{ ID: 'r', Filter: { And: { Prefix: 'a/' } }, Status: 'Enabled', Expiration: { Days: 1 } }], 'MalformedXML'],
    ['an abort with a size filter', [{ ID: 'r', Filter: { ObjectSizeGreaterThan: 10 }, Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }], 'InvalidRequest'],
    ['a prefix over 1,024 bytes', [{ ID: 'r', Filter: { Prefix: 'p'.repeat(1025) }, Status: 'Enabled', Expiration: { Days: 1 } }], 'InvalidArgument'],
    ['a tag without a value', [{ ID: 'r', Filter: { Tag: { Key: 'k' } as { Key: string, Value: string } }, Status: 'Enabled', Expiration: { Days: 1 } }], 'MalformedXML'],
    ['a size bound past 5 TiB', [{ ID: 'r', Filter: { ObjectSizeGreaterThan: 5_497_558_138_881 }, Status: 'Enabled', Expiration: { Days: 1 } }], 'InvalidRequest'],
    ['a transition to a class lifecycle cannot name', [{ ID: 'r', Prefix: '', Status: 'Enabled', Transitions: [{ Days: 40, StorageClass: 'REDUCED_REDUNDANCY' as 'GLACIER' }] }], 'MalformedXML'],
  ]
  for (const [what, rules, code] of cases) t.equal(await outcome(put(b, rules)), code, what)
  await t.rejects(b.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'demo' })), { name: 'NoSuchLifecycleConfiguration' }, 'nothing was stored')
  const body = '<LifecycleConfiguration><Rule><ID>r</ID><Prefix></Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>'
  const noDigest = await signedRequest(b.endpoint, b.creds, { method: 'PUT', path: '/demo', query: { lifecycle: '' }, body })
  t.equal(noDigest.status, 400, 'Content-MD5 (or a checksum) is required, as AWS')
  t.match(noDigest.body, /Missing required header for this request: Content-MD5/)
  const ok = await signedRequest(b.endpoint, b.creds, { method: 'PUT', path: '/demo', query: { lifecycle: '' }, body, headers: { 'content-md5': md5Of(body) } })
  t.equal(ok.status, 200, ok.body)
  const emptyAnd = '<LifecycleConfiguration><Rule><ID>r</ID><Filter><And></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>'
  const and = await signedRequest(b.endpoint, b.creds, { method: 'PUT', path: '/demo', query: { lifecycle: '' }, body: emptyAnd, headers: { 'content-md5': md5Of(emptyAnd) } })
  t.match(and.body, /<Code>MalformedXML<\/Code>/, 'an empty And (which would cover the whole bucket)')
  const noIds = '<LifecycleConfiguration><Rule><Prefix>a/</Prefix><Status>Enabled</Status><Expiration><Date>2031-01-01T00:00:00</Date></Expiration></Rule>' +
    '<Rule><ID>rule-1</ID><Prefix>b/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>'
  const ids = await signedRequest(b.endpoint, b.creds, { method: 'PUT', path: '/demo', query: { lifecycle: '' }, body: noIds, headers: { 'content-md5': md5Of(noIds) } })
  t.equal(ids.status, 200, 'a rule without an ID gets one that collides with no other: ' + ids.body)
  const read = await b.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'demo' }))
  t.equal(read.Rules?.[0]?.Expiration?.Date?.toISOString(), '2031-01-01T00:00:00.000Z', 'a Date without a zone is UTC')
  t.ok((read.Rules?.[0]?.ID ?? '').length > 0)
  const unknown = body.replace('<Status>', '<Expire>1</Expire><Status>')
  const bad = await signedRequest(b.endpoint, b.creds, { method: 'PUT', path: '/demo', query: { lifecycle: '' }, body: unknown, headers: { 'content-md5': md5Of(unknown) } })
  t.match(bad.body, /<Code>MalformedXML<\/Code>/, 'an element outside the schema')
})

t.test('the job expires what is due, for the owner, and nothing else', async t => {
  const b = await startBridge(t)
  nfsFile(b, 'logs/old.log', 0)
  nfsFile(b, 'logs/2024/deep.log', 0)
  nfsFile(b, 'recent/new.log', 0)
  nfsFile(b, 'keep/old.log', 0)
  nfsFile(b, 'logs/theirs.log', 0, { uid: 3000 })
  // The owner (uid 2000) may not delete in a folder it cannot write: that file stays.
  nfsFile(b, 'logs/locked/old.log', 0)
  chownSync(join(b.bucketDir, 'logs/locked'), 3000, 3000)
  nfsFile(b, 'tmp/a.txt', 0)
  nfsFile(b, 'big/large.bin', 0, { body: 'y'.repeat(100) })
  nfsFile(b, 'big/small.bin', 0, { body: 'y' })
  await put(b, [
    { ID: 'logs', Filter: { Prefix: 'logs/' }, Status: 'Enabled', Expiration: { Days: 30 } },
    { ID: 'recent', Filter: { Prefix: 'recent/' }, Status: 'Enabled', Expiration: { Days: 60 } },
    { ID: 'off', Filter: { Prefix: 'tmp/' }, Status: 'Disabled', Expiration: { Days: 1 } },
    { ID: 'big', Filter: { And: { Prefix: 'big/', ObjectSizeGreaterThan: 50 } }, Status: 'Enabled', Expiration: { Days: 1 } },
  ])
  t.equal((await applyLifecycle(deps(b))).expired, 0, 'nothing is due today')
  const run = await applyLifecycle(deps(b, new Date(Date.now() + 32 * DAY)))
  t.same(run.sample.sort(), ['big/large.bin', 'logs/2024/deep.log', 'logs/old.log', 'logs/theirs.log'])
  t.equal(run.expired, 4)
  t.notOk(existsSync(join(b.bucketDir, 'logs/old.log')))
  t.ok(existsSync(join(b.bucketDir, 'recent/new.log')), 'not yet due under its 60-day rule')
  t.ok(existsSync(join(b.bucketDir, 'keep/old.log')), 'outside the prefix')
  t.ok(existsSync(join(b.bucketDir, 'logs/locked/old.log')), 'the owner may not delete it: it stays')
  t.ok(existsSync(join(b.bucketDir, 'tmp/a.txt')), 'a disabled rule does nothing')
  t.ok(existsSync(join(b.bucketDir, 'big/small.bin')), 'below the size bound')
  t.equal(run.kept, 1)
  t.ok(b.logLines.some(l => l.includes('logs/locked/old.log') && l.includes('may not delete')), 'the kept file is named in the log')
  t.ok(existsSync(join(b.bucketDir, 'logs')), 'folders NFS users made stay')
  const later = await applyLifecycle(deps(b, new Date(Date.now() + 62 * DAY)))
  t.same(later.sample, ['recent/new.log'])
})

t.test('a file moved into the prefix is new there (its ctime), whatever its mtime says', async t => {
  const b = await startBridge(t)
  nfsFile(b, 'scratch/project/data.csv', 400) // mtime 400 days back, as mv, tar x or rsync -a keep it
  await put(b, [{ ID: 'scratch', Filter: { Prefix: 'scratch/' }, Status: 'Enabled', Expiration: { Days: 7 } }])
  t.equal((await applyLifecycle(deps(b, new Date(Date.now() + DAY)))).expired, 0, 'a day after it arrived it stays')
  t.equal((await applyLifecycle(deps(b, new Date(Date.now() + 8 * DAY)))).expired, 1, 'seven days after, it goes')
})

t.test('a folder moved into the prefix since the last run is new there; a folder the last run saw keeps its date', async t => {
  const b = await startBridge(t)
  nfsFile(b, 'scratch/busy/a.txt', 0)
  nfsFile(b, 'project/data.csv', 0) // outside the prefix, as old as a.txt
  await put(b, [{ ID: 'scratch', Filter: { Prefix: 'scratch/' }, Status: 'Enabled', Expiration: { Days: 30 } }])
  const t0 = Date.now()
  t.equal((await applyLifecycle(deps(b, new Date(t0 + 10 * DAY)))).expired, 0, 'nothing is due ten days on')
  // Since that run: the busy folder's inode changed (chmod: ctime later than mtime, as a rename leaves it), and the
  // NFS user moved the project folder in (mv sets the folder's ctime only; data.csv keeps its dates).
  await new Promise(resolve => setTimeout(resolve, 1100))
  chmodSync(join(b.bucketDir, 'scratch/busy'), 0o775)
  renameSync(join(b.bucketDir, 'project'), join(b.bucketDir, 'scratch/project'))
  const run = await applyLifecycle(deps(b, new Date(t0 + 31 * DAY)))
  t.same(run.sample, ['scratch/busy/a.txt'], 'the folder the last run saw keeps its date: a.txt is due after 30 days')
  t.ok(existsSync(join(b.bucketDir, 'scratch/project/data.csv')), 'data.csv arrived with its folder after the last run: not due yet')
  t.equal((await applyLifecycle(deps(b, new Date(t0 + 39 * DAY)))).expired, 0, 'thirty days after the run it arrived after, less a day: it stays')
  const last = await applyLifecycle(deps(b, new Date(t0 + 41 * DAY)))
  t.same(last.sample, ['scratch/project/data.csv'], 'thirty days after that run it goes')
})

t.test('the first run dates a folder moved in by its ctime when that is later than its mtime', async t => {
  const b = await startBridge(t)
  // An ext4 volume whose files and folders were last changed on 2025-01-01, as an old NFS tree is.
  const img = oldImage(t, ['project/data.csv', 'logs/old.log'], ['scratch'], ['project/data.csv', 'project', 'logs/old.log', 'logs'])
  const nas = join(b.bucketDir, 'nas')
  mount(img, nas)
  t.teardown(() => umount(nas))
  // The NFS user moves the old project into scratch/, and writes a new file into the old logs folder.
  renameSync(join(nas, 'project'), join(nas, 'scratch/project'))
  writeFileSync(join(nas, 'logs/today.log'), 'new')
  t.match(statSync(join(nas, 'scratch/project/data.csv')).ctime.toISOString(), /^2025-01-01/, 'the moved file keeps its 2025 ctime')
  await put(b, [
    { ID: 'scratch', Filter: { Prefix: 'nas/scratch/' }, Status: 'Enabled', Expiration: { Days: 7 } },
    { ID: 'logs', Filter: { Prefix: 'nas/logs/' }, Status: 'Enabled', Expiration: { Days: 7 } },
  ])
  const run = await applyLifecycle(deps(b, new Date(Date.now() + 60_000)))
  t.ok(existsSync(join(nas, 'scratch/project/data.csv')), 'moved into scratch/ a minute ago: not due under a 7-day rule')
  t.same(run.sample, ['nas/logs/old.log'], 'a folder busy today (a file made in it) does not hold its old files')
  const later = await applyLifecycle(deps(b, new Date(Date.now() + 9 * DAY)))
  t.same(later.sample.sort(), ['nas/logs/today.log', 'nas/scratch/project/data.csv'], 'eight days on, the moved file goes (and today\'s log)')
})

t.test('the scheduled run happens once a day across the daemons sharing the state', async t => {
  const b = await startBridge(t)
  nfsFile(b, 'tmp/a', 0)
  nfsFile(b, 'tmp/b', 0)
  await put(b, [{ ID: 'tmp', Filter: { Prefix: 'tmp/' }, Status: 'Enabled', Expiration: { Days: 1 } }])
  const day = new Date(Date.now() + 2 * DAY)
  const [x, y] = await Promise.all([applyLifecycleOnceADay(deps(b, day)), applyLifecycleOnceADay(deps(b, day))])
  t.same([x, y].map(r => typeof r === 'string' ? r : r.expired).sort(), [2, 'busy'], 'two daemons at once: one applies the rules')
  nfsFile(b, 'tmp/c', 0)
  t.equal(await applyLifecycleOnceADay(deps(b, day)), 'done', 'a later start on the same day does nothing')
  t.ok(existsSync(join(b.bucketDir, 'tmp/c')))
  // A daemon that finds the lock taken asks again until that run completed: here the holder's run is cut short
  // (its daemon died: the lock goes, today's date is never written), so the waiting daemon applies the rules.
  const next = new Date(day.getTime() + DAY)
  const holder = await tryLock(join(b.config.stateDir, 'lifecycle/run.lock'))
  t.ok(holder !== undefined)
  const waiting = applyLifecycleToday(deps(b, next), () => false, 20)
  await new Promise(resolve => setTimeout(resolve, 100))
  t.ok(existsSync(join(b.bucketDir, 'tmp/c')), 'nothing happens while another daemon holds the lock')
  closeSync(holder!)
  await waiting
  t.notOk(existsSync(join(b.bucketDir, 'tmp/c')), 'the waiting daemon ran once the lock was free')
})

t.test('a bucket the daemon holding the lease cannot see is left to a daemon that can, the same day', async t => {
  const b = await startBridge(t)
  nfsFile(b, 'tmp/old', 0)
  await put(b, [{ ID: 'tmp', Filter: { Prefix: 'tmp/' }, Status: 'Enabled', Expiration: { Days: 1 } }])
  const day = new Date(Date.now() + 3 * DAY)
  // Host A does not mount the export (its availability check names a problem); host B serves the bucket.
  const hostA = { ...deps(b, day), roots: { verdict: async () => 'not mounted on this host' } as unknown as BucketRoots }
  const onA = await applyLifecycleOnceADay(hostA)
  t.ok(typeof onA !== 'string' && onA.expired === 0 && onA.pending.length === 1, 'A held the lease, applied nothing and left the bucket pending')
  const onB = await applyLifecycleOnceADay(deps(b, day))
  t.ok(typeof onB !== 'string' && onB.expired === 1 && onB.pending.length === 0, 'B applies the bucket\'s rules that day')
  t.notOk(existsSync(join(b.bucketDir, 'tmp/old')))
  t.equal(await applyLifecycleOnceADay(hostA), 'done', 'then the day is done for every daemon')
})

t.test('a Days that means "never" never expires; one past an xs:int is refused', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'fresh.txt', Body: 'x' }))
  await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'up.bin' }))
  await put(b, [{ ID: 'never', Filter: {}, Status: 'Enabled', Expiration: { Days: 2147483647 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2147483647 } }])
  const run = await applyLifecycle(deps(b, new Date(Date.now() + 400 * DAY)))
  t.same({ expired: run.expired, aborted: run.aborted }, { expired: 0, aborted: 0 })
  t.ok(existsSync(join(b.bucketDir, 'fresh.txt')))
  t.equal(await outcome(put(b, [{ ID: 'r', Filter: {}, Status: 'Enabled', Expiration: { Days: 2147483648 } }])), 'MalformedXML')
})

t.test('the owner\'s Deny on s3:DeleteObject binds the job; a file that cannot be unlinked does not stop the rest', async t => {
  const b = await startBridge(t)
  nfsFile(b, 'archive/a.txt', 0)
  nfsFile(b, 'logs/a-immutable.log', 0)
  nfsFile(b, 'logs/b.log', 0)
  const immutable = join(b.bucketDir, 'logs/a-immutable.log')
  const chattr = (flag: string): boolean => spawnSync('chattr', [flag, immutable]).status === 0
  const hasChattr = chattr('+i')
  t.teardown(() => { if (hasChattr) chattr('-i') })
  await b.s3.send(new PutBucketPolicyCommand({
    Bucket: 'demo',
    Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::demo/archive/*' }] }),
  }))
  await put(b, [
    { ID: 'archive', Filter: { Prefix: 'archive/' }, Status: 'Enabled', Expiration: { Days: 1 } },
    { ID: 'logs', Filter: { Prefix: 'logs/' }, Status: 'Enabled', Expiration: { Days: 1 } },
  ])
  const run = await applyLifecycle(deps(b, new Date(Date.now() + 2 * DAY)))
  t.ok(existsSync(join(b.bucketDir, 'archive/a.txt')), 'the bucket policy denies the owner DeleteObject there: it stays')
  t.notOk(existsSync(join(b.bucketDir, 'logs/b.log')), 'the next key goes')
  if (hasChattr) {
    t.ok(existsSync(immutable), 'the immutable file stays')
    t.ok(b.logLines.some(l => l.includes('logs/a-immutable.log') && l.includes('could not delete')), 'and is named in the log')
  }
  t.equal(run.kept, hasChattr ? 2 : 1)
})

t.test('the job\'s requests have a context: a time-bound Deny holds files; a LAN-only Deny can exempt the job by aws:ViaAWSService', async t => {
  const b = await startBridge(t)
  nfsFile(b, 'held/evidence.bin', 0)
  nfsFile(b, 'tmp/a', 0)
  nfsFile(b, 'tmp/b', 0)
  const policy = (lanCondition: Record<string, unknown>): string => JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'hold', Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::demo/held/*', Condition: { DateLessThan: { 'aws:CurrentTime': '2099-01-01T00:00:00Z' } } },
      { Sid: 'lan-only', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::demo', 'arn:aws:s3:::demo/*'], Condition: lanCondition },
    ],
  })
  await b.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: policy({ NotIpAddress: { 'aws:SourceIp': '127.0.0.0/8' } }) }))
  await put(b, [
    { ID: 'held', Filter: { Prefix: 'held/' }, Status: 'Enabled', Expiration: { Days: 1 } },
    { ID: 'tmp', Filter: { Prefix: 'tmp/' }, Status: 'Enabled', Expiration: { Days: 1 } },
  ])
  const blocked = await applyLifecycle(deps(b, new Date(Date.now() + 2 * DAY)))
  t.same({ expired: blocked.expired, kept: blocked.kept }, { expired: 0, kept: 3 }, 'the LAN-only Deny (no source IP here) binds the job too')
  await b.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo', Policy: policy({ NotIpAddress: { 'aws:SourceIp': '127.0.0.0/8' }, Bool: { 'aws:ViaAWSService': 'false' } }) }))
  const run = await applyLifecycle(deps(b, new Date(Date.now() + 2 * DAY)))
  t.same(run.sample.sort(), ['tmp/a', 'tmp/b'], 'exempted, the job expires tmp/')
  t.ok(existsSync(join(b.bucketDir, 'held/evidence.bin')), 'the time-bound hold keeps held/ (aws:CurrentTime is the job\'s now)')
})

t.test('a rule removed or disabled while the job runs stops it; a prefix that names no key acts on nothing', async t => {
  const b = await startBridge(t)
  for (let i = 0; i < 1500; i++) nfsFile(b, `many/f${String(i).padStart(4, '0')}`, 0)
  await put(b, [{ ID: 'many', Filter: { Prefix: 'many/' }, Status: 'Enabled', Expiration: { Days: 1 } }])
  // The state as the job sees it: the configuration is gone once the first file has been deleted.
  const real = b.daemon.services.state
  const state = new Proxy(real, {
    get (target, prop, receiver) {
      if (prop !== 'snapshot') return Reflect.get(target, prop, receiver)
      return () => {
        const snap = target.snapshot()
        if (existsSync(join(b.bucketDir, 'many/f0000'))) return snap
        const changed = structuredClone(snap)
        delete changed.buckets.demo!.lifecycle
        return changed
      }
    },
  })
  const run = await applyLifecycle({ ...deps(b, new Date(Date.now() + 2 * DAY)), state })
  t.equal(run.expired, 1, 'the run stopped at the next delete after the rule went')
  nfsFile(b, 'x/y.txt', 0)
  await put(b, [{ ID: 'up', Prefix: '../', Status: 'Enabled', Expiration: { Days: 1 } }])
  const outside = await applyLifecycle(deps(b, new Date(Date.now() + 2 * DAY)))
  t.same({ expired: outside.expired, kept: outside.kept }, { expired: 0, kept: 0 })
  t.ok(b.logLines.some(l => l.includes('can name no key')), 'the log says why')
})

t.test('a tag rule expires only tagged objects', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'tagged.txt', Body: 'x', Tagging: 'tier=scratch' }))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'plain.txt', Body: 'x' }))
  await put(b, [{ ID: 'scratch', Filter: { Tag: { Key: 'tier', Value: 'scratch' } }, Status: 'Enabled', Expiration: { Days: 1 } }])
  const tagged = await applyLifecycle(deps(b, new Date(Date.now() + 2 * DAY)))
  t.same(tagged.sample, ['tagged.txt'])
})

t.test('AbortIncompleteMultipartUpload aborts uploads under the prefix once due', async t => {
  const b = await startBridge(t)
  await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'uploads/a.bin' }))
  await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'other/b.bin' }))
  await put(b, [{ ID: 'abort', Filter: { Prefix: 'uploads/' }, Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }])
  t.equal((await applyLifecycle(deps(b))).aborted, 0, 'not yet due')
  const run = await applyLifecycle(deps(b, new Date(Date.now() + 3 * DAY)))
  t.equal(run.aborted, 1)
  const left = await b.s3.send(new ListMultipartUploadsCommand({ Bucket: 'demo' }))
  t.same(left.Uploads?.map(u => u.Key), ['other/b.bin'])
})

t.test('GET, HEAD and PUT of an object a rule will expire carry x-amz-expiration with the date and the rule', async t => {
  const b = await startBridge(t)
  await put(b, [
    { ID: 'logs 30', Filter: { Prefix: 'logs/' }, Status: 'Enabled', Expiration: { Days: 30 } },
    { ID: 'soon', Filter: { And: { Prefix: 'logs/', Tags: [{ Key: 'tier', Value: 'scratch' }] } }, Status: 'Enabled', Expiration: { Days: 2 } },
    { ID: 'off', Filter: { Prefix: 'other/' }, Status: 'Disabled', Expiration: { Days: 1 } },
  ])
  const put1 = await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'logs/a.log', Body: 'x' }))
  const head = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'logs/a.log' }))
  const midnight = new Date(Math.ceil((head.LastModified!.getTime() + 30 * DAY) / DAY) * DAY)
  const want = `expiry-date="${midnight.toUTCString()}", rule-id="logs%2030"`
  t.equal(head.Expiration, want)
  t.equal(put1.Expiration, want, 'the PUT says it too')
  const got = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'logs/a.log' }))
  await got.Body?.transformToString()
  t.equal(got.Expiration, want)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'logs/b.log', Body: 'x', Tagging: 'tier=scratch' }))
  const tagged = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'logs/b.log' }))
  t.match(tagged.Expiration, /rule-id="soon"$/, 'the earliest rule that covers it')
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'other/c.log', Body: 'x' }))
  t.equal((await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'other/c.log' }))).Expiration, undefined, 'no enabled rule: no header')
  const copied = await b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'logs/copy.log', CopySource: 'demo/other/c.log' }))
  t.match(copied.Expiration, /rule-id="logs%2030"$/, 'CopyObject says it too')
  const up = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'logs/big.log', Tagging: 'tier=scratch' }))
  const part = await b.s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'logs/big.log', UploadId: up.UploadId, PartNumber: 1, Body: 'x' }))
  const done = await b.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'logs/big.log', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }))
  t.equal(done.Expiration, (await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'logs/big.log' }))).Expiration, 'CompleteMultipartUpload says it too, with the upload\'s tags')
  t.match(done.Expiration, /rule-id="soon"$/)
})

t.test('CreateMultipartUpload and ListParts of an upload a rule will abort carry x-amz-abort-date and -rule-id', async t => {
  const b = await startBridge(t)
  await put(b, [{ ID: 'abort-3', Filter: { Prefix: 'up/' }, Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 3 } }])
  const created = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'up/big.bin' }))
  t.equal(created.AbortRuleId, 'abort-3')
  const days = (created.AbortDate!.getTime() - Date.now()) / DAY
  t.ok(days > 3 && days <= 4 && created.AbortDate!.getTime() % DAY === 0, `three days on, rounded up to midnight UTC (${created.AbortDate!.toISOString()})`)
  const parts = await b.s3.send(new ListPartsCommand({ Bucket: 'demo', Key: 'up/big.bin', UploadId: created.UploadId }))
  t.equal(parts.AbortRuleId, 'abort-3')
  t.equal(parts.AbortDate?.getTime(), created.AbortDate!.getTime())
  const other = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'else/x.bin' }))
  t.equal(other.AbortRuleId, undefined, 'outside the prefix: no header')
})
