import t from 'tap'
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { awsEnv, hasProgram, runClient } from '../fixtures/clients/run-client.js'

const AWS = '/usr/bin/aws'

t.test('aws iam create/list/update/delete-access-key manage the caller\'s own keys', { skip: hasProgram(AWS) ? false : 'AWS CLI v2 not installed' }, async t => {
  const b = await startBridge(t)
  const home = t.testdir({})
  const iam = (creds: { accessKeyId: string, secretAccessKey: string }, ...args: string[]) =>
    runClient(AWS, ['iam', '--endpoint-url', b.endpoint, '--output', 'json', ...args], { env: awsEnv(home, creds) })

  const user = await iam(b.creds, 'get-user')
  t.equal(user.code, 0, user.stderr)
  t.equal((JSON.parse(user.stdout) as { User: { UserName: string } }).User.UserName, 'tester')

  const made = await iam(b.creds, 'create-access-key')
  t.equal(made.code, 0, made.stderr)
  const key = (JSON.parse(made.stdout) as { AccessKey: { AccessKeyId: string, SecretAccessKey: string, Status: string } }).AccessKey
  t.equal(key.Status, 'Active')
  const second = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey }
  await b.client(second).send(new ListObjectsV2Command({ Bucket: 'demo' }))

  const listed = JSON.parse((await iam(b.creds, 'list-access-keys')).stdout) as { AccessKeyMetadata: Array<{ AccessKeyId: string }> }
  t.same(listed.AccessKeyMetadata.map(k => k.AccessKeyId).sort(), [b.creds.accessKeyId, key.AccessKeyId].sort())
  t.notOk(JSON.stringify(listed).includes(key.SecretAccessKey), 'listing never shows secrets')

  const third = await iam(b.creds, 'create-access-key')
  t.not(third.code, 0)
  t.match(third.stderr, /LimitExceeded/)

  t.equal((await iam(b.creds, 'update-access-key', '--access-key-id', key.AccessKeyId, '--status', 'Inactive')).code, 0)
  await t.rejects(b.client(second).send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'InvalidAccessKeyId' }, 'an inactive key stops working')
  t.equal((await iam(b.creds, 'update-access-key', '--access-key-id', key.AccessKeyId, '--status', 'Active')).code, 0)
  await b.client(second).send(new ListObjectsV2Command({ Bucket: 'demo' }))

  t.equal((await iam(b.creds, 'delete-access-key', '--access-key-id', key.AccessKeyId)).code, 0)
  await t.rejects(b.client(second).send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'InvalidAccessKeyId' })
  const gone = await iam(b.creds, 'delete-access-key', '--access-key-id', key.AccessKeyId)
  t.match(gone.stderr, /NoSuchEntity/)

  const other = await b.addUser('other', 2001, 2001)
  const foreign = await iam(other, 'list-access-keys', '--user-name', 'tester')
  t.not(foreign.code, 0)
  t.match(foreign.stderr, /AccessDenied/, 'a user cannot manage another user\'s keys')
})
