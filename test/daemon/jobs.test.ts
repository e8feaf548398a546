import t from 'tap'
import { startBridge } from '../fixtures/daemon.js'
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync, renameSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { abortStale, purgeExpiredKeys, sweepTempFiles } from '../../lib/daemon/scheduled-jobs.js'
import { rotateKey } from '../../lib/auth/rotation.js'
import { recoverInterruptedCompletes } from '../../lib/storage/multipart-list.js'
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, ListMultipartUploadsCommand, ListPartsCommand,
  PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3'

t.test('the purge job removes expired keys and old secrets from the state, and leaves live ones', async t => {
  const b = await startBridge(t)
  const state = b.daemon.services.state
  const other = await b.addUser('other', 2001, 2001)
  await state.mutate(s => {
    s.users.other!.keys[0]!.expiresAt = new Date(Date.now() - 1000).toISOString()
    rotateKey(s.users.tester!.keys[0]!, new Date(Date.now() - 20 * 60_000), 10)
  })
  const deps = { config: b.config, state, log: b.daemon.services.log, now: () => new Date(), roots: b.daemon.services.roots }
  t.equal(await purgeExpiredKeys(deps), 2)
  const snap = state.snapshot()
  t.equal(snap.users.other!.keys.length, 0, `expired key ${other.accessKeyId} purged`)
  t.equal(snap.users.tester!.keys.length, 1)
  t.equal(snap.users.tester!.keys[0]!.oldSecret, undefined, 'expired old secret purged')
  t.equal(await purgeExpiredKeys(deps), 0, 'nothing left to purge: no write')
})

t.test('the stale-upload job aborts uploads older than staleUploadHours', async t => {
  const b = await startBridge(t, { staleUploadHours: 1 })
  await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'old.bin' }))
  const deps = { config: b.config, state: b.daemon.services.state, log: b.daemon.services.log, now: () => new Date(), roots: b.daemon.services.roots }
  t.equal(await abortStale(deps), 0, 'a fresh upload stays')
  t.equal(await abortStale({ ...deps, now: () => new Date(Date.now() + 2 * 3_600_000) }), 1, 'two hours later it is aborted')
  const left = await b.s3.send(new ListMultipartUploadsCommand({ Bucket: 'demo' }))
  t.equal(left.Uploads?.length ?? 0, 0)
})

t.test('the temp-file sweep removes a crashed PUT\'s temp file once idle, without waiting for a restart', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'warm', Body: 'x' })) // makes the staging folder
  const tmp = join(b.bucketDir, '.s3bridge', 'tmp')
  writeFileSync(join(tmp, 'dead-put'), 'half an upload')
  writeFileSync(join(tmp, 'fresh-put'), 'maybe another host\'s')
  const longAgo = new Date(Date.now() - 11 * 60_000)
  utimesSync(join(tmp, 'dead-put'), longAgo, longAgo)
  const deps = { config: b.config, state: b.daemon.services.state, log: b.daemon.services.log, now: () => new Date(), roots: b.daemon.services.roots }
  t.equal(await sweepTempFiles(deps), 1)
  t.same(readdirSync(tmp), ['fresh-put'], 'the idle one goes, the fresh one stays')
})

t.test('an upload whose Complete died with its daemon is put back, so a retried Complete finishes it', async t => {
  const b = await startBridge(t)
  const up = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'big.bin' }))
  const part = await b.s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'big.bin', UploadId: up.UploadId, PartNumber: 1, Body: 'only part' }))
  const uploads = join(b.bucketDir, '.s3bridge', 'uploads')
  // What a kill -9 in the middle of Complete leaves: the upload's folder renamed to its lock.
  renameSync(join(uploads, up.UploadId!), join(uploads, `${up.UploadId!}.completing`))
  await t.rejects(b.s3.send(new ListPartsCommand({ Bucket: 'demo', Key: 'big.bin', UploadId: up.UploadId })), { name: 'NoSuchUpload' })
  t.same(await recoverInterruptedCompletes(b.bucketDir), [], 'a lock taken just now may be a Complete still running')
  t.same(await recoverInterruptedCompletes(b.bucketDir, undefined, Date.now() + 2 * 3_600_000), [up.UploadId], 'an hour later it is put back')
  t.notOk(existsSync(join(uploads, `${up.UploadId!}.completing`)))
  await b.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'big.bin', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }))
  t.equal(await (await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'big.bin' }))).Body?.transformToString(), 'only part')
})

t.test('a Complete lock whose daemon no longer runs on this machine is put back at once; a running one or another machine\'s waits', async t => {
  const b = await startBridge(t)
  const uploads = join(b.bucketDir, '.s3bridge', 'uploads')
  const self = readFileSync('/proc/self/stat', 'utf8')
  const me = { host: hostname(), bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), pidNs: readlinkSync('/proc/self/ns/pid'), pid: process.pid, start: self.slice(self.lastIndexOf(')') + 2).split(' ')[19] }
  const gone = spawnSync('true').pid // exited: no process of that pid and start time runs now
  const lockWith = async (key: string, holder: Record<string, unknown>): Promise<{ id: string, etag: string }> => {
    const up = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: key }))
    const part = await b.s3.send(new UploadPartCommand({ Bucket: 'demo', Key: key, UploadId: up.UploadId, PartNumber: 1, Body: `${key} data` }))
    // What a kill -9 in the middle of Complete leaves: the folder renamed to its lock, with its holder recorded.
    renameSync(join(uploads, up.UploadId!), join(uploads, `${up.UploadId!}.completing`))
    writeFileSync(join(uploads, `${up.UploadId!}.completing`, 'holder.json'), JSON.stringify(holder))
    return { id: up.UploadId!, etag: part.ETag! }
  }
  const dead = await lockWith('dead.bin', { ...me, pid: gone })
  const rebooted = await lockWith('rebooted.bin', { ...me, bootId: 'another-boot' })
  const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1])
  utimesSync(join(uploads, `${rebooted.id}.completing`, 'holder.json'), btime - 60, btime - 60) // taken before this boot
  const running = await lockWith('running.bin', me)
  const elsewhere = await lockWith('elsewhere.bin', { ...me, host: 'another-host', pid: gone })
  writeFileSync(join(uploads, `${rebooted.id}.completing`, 'assembled-0123'), 'half an object')
  const listed = (await b.s3.send(new ListMultipartUploadsCommand({ Bucket: 'demo' }))).Uploads?.map(u => u.Key)
  t.notOk(existsSync(join(uploads, rebooted.id, 'assembled-0123')), 'what the dead Complete had assembled is removed')
  t.same(listed, ['dead.bin', 'rebooted.bin'], 'listed again: the two whose daemon is gone')
  const complete = (key: string, up: { id: string, etag: string }) => b.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: key, UploadId: up.id, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: up.etag }] } }))
  await complete('rebooted.bin', rebooted)
  t.equal(readFileSync(join(b.bucketDir, 'rebooted.bin'), 'utf8'), 'rebooted.bin data', 'the retried Complete finishes it')
  await t.rejects(complete('running.bin', running), { name: 'NoSuchUpload' }, 'a Complete still running keeps its lock')
  await t.rejects(b.s3.send(new ListPartsCommand({ Bucket: 'demo', Key: 'elsewhere.bin', UploadId: elsewhere.id })), { name: 'NoSuchUpload' }, 'another machine\'s lock waits for the hour')
  // A retried Complete finds it even without a listing first.
  const direct = await lockWith('direct.bin', { ...me, pid: gone })
  await complete('direct.bin', direct)
  t.equal(readFileSync(join(b.bucketDir, 'direct.bin'), 'utf8'), 'direct.bin data')
  // A folder put back keeps the dead holder's record; the next Complete writes its own before it takes the lock,
  // so its lock never names the dead process (a reclaim would take it from under a running Complete).
  await t.rejects(b.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'dead.bin', UploadId: dead.id, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }] } })), { name: 'InvalidPart' })
  t.equal(JSON.parse(readFileSync(join(uploads, dead.id, 'holder.json'), 'utf8')).pid, process.pid, 'the record is the last Complete\'s')
  await complete('dead.bin', dead)
  t.equal(readFileSync(join(b.bucketDir, 'dead.bin'), 'utf8'), 'dead.bin data')
})
