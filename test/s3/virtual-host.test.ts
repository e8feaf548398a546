import t from 'tap'
import { PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { sendSigned } from '../fixtures/clients/raw-request.js'

t.test('virtual-hosted-style requests (bucket.<base-domain>) reach the bucket; path style still works', async t => {
  const b = await startBridge(t, { baseDomains: ['s3.test'] })
  const port = new URL(b.endpoint).port
  // Connect to loopback but name the bucket in the Host header, as DNS for bucket.s3.test would.
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'vh/one.txt', Body: 'one' }))
  const r = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/vh/one.txt', headers: { host: `demo.s3.test:${port}` } })
  t.equal(r.status, 200)
  t.equal(r.body, 'one')
  const list = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/?list-type=2', headers: { host: `demo.s3.test:${port}` } })
  t.match(list.body, /<Key>vh\/one.txt<\/Key>/)
  const got = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'vh/one.txt' }))
  t.equal(await got.Body?.transformToString(), 'one', 'path style still works')
})

