// Service accounts on S3: they act as their parent user, an own policy only narrows, and they die with the parent.
import t from 'tap'
import { chmodSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { newServiceAccount } from '../../lib/auth/service-accounts.js'
import { startBridge, type Bridge, type Credentials } from '../fixtures/daemon.js'

async function addServiceAccount (b: Bridge, user: string, opts: { policy?: string, expiresAt?: Date } = {}): Promise<Credentials> {
  const account = newServiceAccount(new Date(), opts)
  await b.daemon.services.state.mutate(s => { s.users[user]!.serviceAccounts = [...(s.users[user]!.serviceAccounts ?? []), account] })
  return { accessKeyId: account.accessKeyId, secretAccessKey: account.secret }
}

const onlyPrefix = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::demo/in/*' }] })

t.test('a service account without a policy has its parent\'s rights and writes files as the parent\'s uid', async t => {
  const b = await startBridge(t)
  const svc = b.client(await addServiceAccount(b, 'tester'))
  await svc.send(new PutObjectCommand({ Bucket: 'demo', Key: 'svc.txt', Body: 'x' }))
  t.equal(statSync(join(b.bucketDir, 'svc.txt')).uid, 2000)
  const listed = await svc.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.equal(listed.KeyCount, 1)
})

t.test('a service account policy narrows but never widens the parent\'s rights', async t => {
  const b = await startBridge(t)
  mkdirSync(join(b.bucketDir, 'in'))
  chmodSync(join(b.bucketDir, 'in'), 0o777)
  const svc = b.client(await addServiceAccount(b, 'tester', { policy: onlyPrefix }))
  await svc.send(new PutObjectCommand({ Bucket: 'demo', Key: 'in/a.txt', Body: 'a' }))
  await t.rejects(svc.send(new PutObjectCommand({ Bucket: 'demo', Key: 'out.txt', Body: 'x' })), { name: 'AccessDenied' })
  await t.rejects(svc.send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'AccessDenied' })
  await b.addUser('carol', 1003, 1003)
  const carolSvc = b.client(await addServiceAccount(b, 'carol', { policy: onlyPrefix }))
  await t.rejects(carolSvc.send(new PutObjectCommand({ Bucket: 'demo', Key: 'in/c.txt', Body: 'x' })), { name: 'AccessDenied' }, 'carol has no grant on demo, so neither has her service account')
})

t.test('a service account stops when its parent is disabled, when it expires, and when it is removed', async t => {
  const b = await startBridge(t)
  const list = (c: ReturnType<Bridge['client']>): Promise<unknown> => c.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  const creds = await addServiceAccount(b, 'tester')
  const svc = b.client(creds)
  await list(svc)
  await b.daemon.services.state.mutate(s => { s.users.tester!.enabled = false })
  await t.rejects(list(svc), { name: 'InvalidAccessKeyId' }, 'parent disabled')
  await b.daemon.services.state.mutate(s => { s.users.tester!.enabled = true })
  await list(svc)
  await b.daemon.services.state.mutate(s => { s.users.tester!.serviceAccounts = [] })
  await t.rejects(list(svc), { name: 'InvalidAccessKeyId' }, 'removed')
  const expiring = b.client(await addServiceAccount(b, 'tester', { expiresAt: new Date(Date.now() + 60_000) }))
  await list(expiring)
  b.daemon.services.now = () => new Date(Date.now() + 120_000)
  await t.rejects(list(expiring), { name: 'InvalidAccessKeyId' }, 'expired')
})
