// Bucket configurations the bridge does not keep: the SDK gets AWS's answers for a bucket that never had one
// (the 404 codes terraform, rclone and s3fs look for, or the default documents), deletes succeed, PUTs are 501.
import t from 'tap'
import {
  DeleteBucketEncryptionCommand, DeleteBucketLifecycleCommand, DeleteBucketOwnershipControlsCommand, DeleteBucketReplicationCommand,
  DeleteBucketWebsiteCommand, DeletePublicAccessBlockCommand, GetBucketAccelerateConfigurationCommand, GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand, GetBucketLoggingCommand, GetBucketNotificationConfigurationCommand, GetBucketOwnershipControlsCommand,
  GetBucketReplicationCommand, GetBucketRequestPaymentCommand, GetBucketWebsiteCommand, GetObjectLockConfigurationCommand,
  GetPublicAccessBlockCommand, ListObjectsV2Command, PutBucketCorsCommand, PutBucketEncryptionCommand, S3Client,
} from '@aws-sdk/client-s3'
import { mountReadOnly } from '../fixtures/mounts.js'
import { startBridge } from '../fixtures/daemon.js'

type Send = (c: S3Client) => Promise<unknown>

const notFound: Array<[string, Send, string]> = [
  ['GetBucketLifecycleConfiguration', c => c.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'demo' })), 'NoSuchLifecycleConfiguration'],
  ['GetBucketEncryption', c => c.send(new GetBucketEncryptionCommand({ Bucket: 'demo' })), 'ServerSideEncryptionConfigurationNotFoundError'],
  ['GetBucketWebsite', c => c.send(new GetBucketWebsiteCommand({ Bucket: 'demo' })), 'NoSuchWebsiteConfiguration'],
  ['GetPublicAccessBlock', c => c.send(new GetPublicAccessBlockCommand({ Bucket: 'demo' })), 'NoSuchPublicAccessBlockConfiguration'],
  ['GetObjectLockConfiguration', c => c.send(new GetObjectLockConfigurationCommand({ Bucket: 'demo' })), 'ObjectLockConfigurationNotFoundError'],
  ['GetBucketOwnershipControls', c => c.send(new GetBucketOwnershipControlsCommand({ Bucket: 'demo' })), 'OwnershipControlsNotFoundError'],
  ['GetBucketReplication', c => c.send(new GetBucketReplicationCommand({ Bucket: 'demo' })), 'ReplicationConfigurationNotFoundError'],
]

const deletes: Array<[string, Send]> = [
  ['DeleteBucketLifecycle', c => c.send(new DeleteBucketLifecycleCommand({ Bucket: 'demo' }))],
  ['DeleteBucketEncryption', c => c.send(new DeleteBucketEncryptionCommand({ Bucket: 'demo' }))],
  ['DeleteBucketWebsite', c => c.send(new DeleteBucketWebsiteCommand({ Bucket: 'demo' }))],
  ['DeletePublicAccessBlock', c => c.send(new DeletePublicAccessBlockCommand({ Bucket: 'demo' }))],
  ['DeleteBucketOwnershipControls', c => c.send(new DeleteBucketOwnershipControlsCommand({ Bucket: 'demo' }))],
  ['DeleteBucketReplication', c => c.send(new DeleteBucketReplicationCommand({ Bucket: 'demo' }))],
]

t.test('reads of configurations a bucket does not have are AWS\'s 404s, with the codes clients test for', async t => {
  const bridge = await startBridge(t)
  const other = bridge.client(await bridge.addUser('other', 2001, 2001))
  for (const [op, send, code] of notFound) {
    await t.rejects(send(bridge.s3), { name: code, $metadata: { httpStatusCode: 404 } }, `${op}: ${code}`)
    await t.rejects(send(other), { name: 'AccessDenied' }, `${op}: only the owner may read it`)
  }
})

t.test('request payment, accelerate, logging and notification read as their defaults', async t => {
  const { s3 } = await startBridge(t)
  t.equal((await s3.send(new GetBucketRequestPaymentCommand({ Bucket: 'demo' }))).Payer, 'BucketOwner')
  const accelerate = await s3.send(new GetBucketAccelerateConfigurationCommand({ Bucket: 'demo' }))
  t.equal(accelerate.$metadata.httpStatusCode, 200)
  t.equal(accelerate.Status, undefined, 'never configured: no Status')
  const logging = await s3.send(new GetBucketLoggingCommand({ Bucket: 'demo' }))
  t.equal(logging.$metadata.httpStatusCode, 200)
  t.equal(logging.LoggingEnabled, undefined)
  const notification = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: 'demo' }))
  t.equal(notification.$metadata.httpStatusCode, 200)
  t.equal(notification.TopicConfigurations, undefined)
  await t.rejects(s3.send(new GetBucketRequestPaymentCommand({ Bucket: 'nosuchbucket' })), { name: 'NoSuchBucket' })
})

t.test('deleting a configuration that is not there succeeds with 204; setting one is 501 NotImplemented', async t => {
  const bridge = await startBridge(t)
  for (const [op, send] of deletes) {
    const out = await send(bridge.s3) as { $metadata: { httpStatusCode?: number } }
    t.equal(out.$metadata.httpStatusCode, 204, op)
  }
  const other = bridge.client(await bridge.addUser('other', 2001, 2001))
  await t.rejects(other.send(new DeleteBucketLifecycleCommand({ Bucket: 'demo' })), { name: 'AccessDenied' }, 'only the owner may delete')
  await t.rejects(bridge.s3.send(new PutBucketEncryptionCommand({
    Bucket: 'demo',
    ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
  })), { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } })
})

t.test('a configuration change the state cannot save (read-only state filesystem) is 503, logged, and reads go on (sweep 24c F4)', async t => {
  const b = await startBridge(t)
  const dir = b.daemon.services.state.dir
  const unmount = mountReadOnly(t, dir)
  if (!unmount) return
  const cors = { CORSRules: [{ AllowedMethods: ['GET'], AllowedOrigins: ['*'] }] }
  await t.rejects(b.s3.send(new PutBucketCorsCommand({ Bucket: 'demo', CORSConfiguration: cors })), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })
  t.ok(b.logLines.some(l => l.includes('the state cannot be saved')), 'the operator is told')
  t.equal((await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))).$metadata.httpStatusCode, 200, 'reads go on')
  unmount()
  t.equal((await b.s3.send(new PutBucketCorsCommand({ Bucket: 'demo', CORSConfiguration: cors }))).$metadata.httpStatusCode, 200, 'and the same change works once it can be saved')
})
