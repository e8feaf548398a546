// Signature edges from sweep 24a: a Date header in ISO 8601 basic form signs alone (AWS Common Request Headers), and
// a presigned upload that sends an x-amz-content-sha256 it did not sign still has its body checked against it.
import t from 'tap'
import { createHash, createHmac } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { startBridge } from '../fixtures/daemon.js'

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex')
const hmac = (key: Buffer | string, s: string): Buffer => createHmac('sha256', key).update(s).digest()

t.test('SigV4 signed over a Date header in ISO 8601 basic form, with no x-amz-date, verifies', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'd.txt', Body: 'dated' }))
  const url = new URL(`${b.endpoint}/demo/d.txt`)
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
  const day = amzDate.slice(0, 8)
  const headers: Record<string, string> = { date: amzDate, host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }
  const signed = Object.keys(headers).sort()
  const canonical = ['GET', '/demo/d.txt', '', ...signed.map(h => `${h}:${headers[h]}`), '', signed.join(';'), 'UNSIGNED-PAYLOAD'].join('\n')
  const scope = `${day}/us-east-1/s3/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n')
  let key: Buffer = hmac(`AWS4${b.creds.secretAccessKey}`, day)
  for (const part of ['us-east-1', 's3', 'aws4_request']) key = hmac(key, part)
  const signature = createHmac('sha256', key).update(toSign).digest('hex')
  const res = await fetch(url, { headers: { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${b.creds.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}` } })
  t.equal(res.status, 200, await res.clone().text())
  t.equal(await res.text(), 'dated')
})

t.test('a presigned PUT whose unsigned x-amz-content-sha256 does not match the body is refused and stores nothing', async t => {
  const b = await startBridge(t)
  const url = await getSignedUrl(b.s3, new PutObjectCommand({ Bucket: 'demo', Key: 'p.txt' }), { expiresIn: 300 })
  const lying = await fetch(url, { method: 'PUT', body: 'EVIL', headers: { 'x-amz-content-sha256': sha256('zzz') } })
  t.equal(lying.status, 400)
  t.match(await lying.text(), /<Code>XAmzContentSHA256Mismatch<\/Code>/)
  t.notOk(existsSync(join(b.bucketDir, 'p.txt')), 'nothing stored')
  const honest = await fetch(url, { method: 'PUT', body: 'GOOD', headers: { 'x-amz-content-sha256': sha256('GOOD') } })
  t.equal(honest.status, 200, 'a matching hash is fine')
  t.equal(readFileSync(join(b.bucketDir, 'p.txt'), 'utf8'), 'GOOD')
  const none = await fetch(url, { method: 'PUT', body: 'PLAIN' })
  t.equal(none.status, 200, 'and so is none (UNSIGNED-PAYLOAD)')
})
