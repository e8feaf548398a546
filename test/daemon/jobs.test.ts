import t from 'tap'
import { startBridge } from '../fixtures/daemon.js'
import { abortStale, purgeExpiredKeys } from '../../lib/daemon/scheduled-jobs.js'
import { rotateKey } from '../../lib/auth/rotation.js'
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3'

t.test('the purge job removes expired keys and old secrets from the state, and leaves live ones', async t => {
  const b = await startBridge(t)
  const state = b.daemon.services.state
  const other = await b.addUser('other', 2001, 2001)
  await state.mutate(s => {
    s.users.other!.keys[0]!.expiresAt = new Date(Date.now() - 1000).toISOString()
    rotateKey(s.users.tester!.keys[0]!, new Date(Date.now() - 20 * 60_000), 10)
  })
  const deps = { config: b.config, state, log: b.daemon.services.log, now: () => new Date() }
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
  const deps = { config: b.config, state: b.daemon.services.state, log: b.daemon.services.log, now: () => new Date() }
  t.equal(await abortStale(deps), 0, 'a fresh upload stays')
  t.equal(await abortStale({ ...deps, now: () => new Date(Date.now() + 2 * 3_600_000) }), 1, 'two hours later it is aborted')
  const left = await b.s3.send(new ListMultipartUploadsCommand({ Bucket: 'demo' }))
  t.equal(left.Uploads?.length ?? 0, 0)
})
