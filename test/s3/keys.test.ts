import t from 'tap'
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { rotateKey } from '../../lib/auth/rotation.js'

async function rotate (b: Awaited<ReturnType<typeof startBridge>>, at: Date, minutes: number): Promise<string> {
  return b.daemon.services.state.mutate(s => {
    const k = s.users.tester!.keys[0]!
    rotateKey(k, at, minutes)
    return k.secret
  })
}

t.test('after rotation the old secret works inside its window and fails after it', async t => {
  const b = await startBridge(t)
  const old = b.creds
  const minute = 60_000
  // Rotated 9 minutes ago with a 10-minute window: the old secret is still good.
  const fresh = await rotate(b, new Date(Date.now() - 9 * minute), 10)
  await b.client(old).send(new ListObjectsV2Command({ Bucket: 'demo' }))
  await b.client({ accessKeyId: old.accessKeyId, secretAccessKey: fresh }).send(new ListObjectsV2Command({ Bucket: 'demo' }))
  // Rotating again discards the older secret at once, whatever its window.
  const third = await rotate(b, new Date(), 10)
  await t.rejects(b.client(old).send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'SignatureDoesNotMatch' })
  await b.client({ accessKeyId: old.accessKeyId, secretAccessKey: fresh }).send(new ListObjectsV2Command({ Bucket: 'demo' }))
  await b.client({ accessKeyId: old.accessKeyId, secretAccessKey: third }).send(new ListObjectsV2Command({ Bucket: 'demo' }))
})

t.test('an old secret fails the moment its window ends', async t => {
  const b = await startBridge(t)
  await rotate(b, new Date(Date.now() - 11 * 60_000), 10)
  await t.rejects(b.s3.send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'SignatureDoesNotMatch' })
})

t.test('rotation with expiry 0 invalidates the old secret at once', async t => {
  const b = await startBridge(t)
  await rotate(b, new Date(), 0)
  await t.rejects(b.s3.send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'SignatureDoesNotMatch' })
})

t.test('an expired key is refused as unknown, a disabled user stops all its keys', async t => {
  const b = await startBridge(t)
  await b.daemon.services.state.mutate(s => { s.users.tester!.keys[0]!.expiresAt = new Date(Date.now() - 1000).toISOString() })
  await t.rejects(b.s3.send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'InvalidAccessKeyId' })
  const other = await b.addUser('other', 2001, 2001)
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'other', type: 'user', permission: 'READ' }) })
  await b.client(other).send(new ListObjectsV2Command({ Bucket: 'demo' }))
  await b.daemon.services.state.mutate(s => { s.users.other!.enabled = false })
  await t.rejects(b.client(other).send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'InvalidAccessKeyId' })
})
