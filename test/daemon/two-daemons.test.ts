// Two daemons over one state directory and one bucket behave as one: keys and ACL changes reach both.
import t from 'tap'
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { Writable } from 'node:stream'
import { startDaemon } from '../../lib/daemon/server.js'
import { createLogger } from '../../lib/log.js'
import { startBridge, type Credentials } from '../fixtures/daemon.js'
import { sleep } from '../fixtures/bridged-process.js'

/** Retries fn until it resolves, for up to timeoutMs; returns the last error when it never does. */
async function eventually<T> (fn: () => Promise<T>, timeoutMs = 5_000): Promise<{ value?: T, error?: unknown, ms: number }> {
  const started = Date.now()
  let error: unknown
  while (Date.now() - started < timeoutMs) {
    try {
      return { value: await fn(), ms: Date.now() - started }
    } catch (err) {
      error = err
      await sleep(100)
    }
  }
  return { error, ms: Date.now() - started }
}

t.test('a key and a bucket ACL written through daemon A take effect on daemon B within seconds', async t => {
  const a = await startBridge(t)
  const quiet = new Writable({ write (_c, _e, cb) { cb() } })
  const b = await startDaemon(a.config, { log: createLogger('info', quiet) })
  t.teardown(() => b.close())
  t.not(b.endpoint, a.endpoint, 'B listens on its own port')
  const onB = (creds: Credentials): S3Client => {
    const c = new S3Client({ endpoint: b.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: creds })
    t.teardown(() => c.destroy())
    return c
  }

  await a.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'shared.txt', Body: 'written through A' }))
  const bob = await a.addUser('bob', 3000, 3000)
  const known = await eventually(() => onB(bob).send(new ListObjectsV2Command({ Bucket: 'demo' })).catch((err: Error) => {
    if (err.name === 'InvalidAccessKeyId') throw err
    return err.name // the key is known; bob simply has no grant yet
  }))
  t.equal(known.value, 'AccessDenied', `B knows the new key (after ${known.ms} ms) and denies the ungranted list`)

  await a.daemon.services.state.mutate(s => {
    s.buckets.demo?.acl.push({ name: 'bob', type: 'user', permission: 'READ' })
  })
  const listed = await eventually(() => onB(bob).send(new ListObjectsV2Command({ Bucket: 'demo' })))
  t.same(listed.value?.Contents?.map(o => o.Key), ['shared.txt'], `B applies the ACL grant (after ${listed.ms} ms)`)
  const onA = await a.client(bob).send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.same(onA.Contents?.map(o => o.Key), ['shared.txt'], 'A applies it too')

  await a.daemon.services.state.mutate(s => {
    const bucket = s.buckets.demo
    if (bucket) bucket.acl = []
  })
  const revoked = await eventually(() => onB(bob).send(new ListObjectsV2Command({ Bucket: 'demo' })).then(() => { throw new Error('still allowed') }, (err: Error) => err.name))
  t.equal(revoked.value, 'AccessDenied', `B applies the revocation (after ${revoked.ms} ms)`)
})
