// A key disabled, or its secret rotated away, through daemon A is still accepted by daemon B until B reloads: calls
// that change keys check the caller again in the fresh state under the lock (active, user enabled, the signing
// secret current), so a stale daemon cannot re-enable or multiply it; STS sessions die with the secret that asked
// for them (review 29).
import t from 'tap'
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'
import { startBridge, type Credentials } from '../fixtures/daemon.js'
import { startStaleTwin } from '../fixtures/stale-twin.js'

async function iam (endpoint: string, creds: Credentials, params: Record<string, string>): Promise<{ status: number, body: string }> {
  const url = new URL(endpoint)
  const body = new URLSearchParams({ Version: '2010-05-08', ...params }).toString()
  const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'iam', sha256: Sha256, applyChecksum: false })
  const signed = await signer.sign({
    method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {},
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body,
  })
  const res = await fetch(`${endpoint}/`, { method: 'POST', headers: signed.headers, body })
  return { status: res.status, body: await res.text() }
}


t.test('a key disabled through A re-activates itself through B before B reloads', async t => {
  const { a, b } = await startStaleTwin(t, { freeze: true })
  const keyId = a.creds.accessKeyId
  await a.daemon.services.state.mutate(s => { s.users.tester!.keys.find(k => k.accessKeyId === keyId)!.status = 'Inactive' })
  t.equal((await iam(a.endpoint, a.creds, { Action: 'GetUser' })).status, 403, 'A refuses the disabled key at once')
  const r = await iam(b.endpoint, a.creds, { Action: 'UpdateAccessKey', AccessKeyId: keyId, Status: 'Active' })
  t.equal(r.status, 403, `B must not let the disabled key change keys (got ${r.status})`)
  const status = a.daemon.services.state.snapshot().users.tester!.keys.find(k => k.accessKeyId === keyId)!.status
  t.equal(status, 'Inactive', 'the admin\'s disable stands')
})

t.test('a key disabled through A mints a new Active key through B before B reloads', async t => {
  const { a, b } = await startStaleTwin(t, { freeze: true })
  const keyId = a.creds.accessKeyId
  await a.daemon.services.state.mutate(s => { s.users.tester!.keys.find(k => k.accessKeyId === keyId)!.status = 'Inactive' })
  const r = await iam(b.endpoint, a.creds, { Action: 'CreateAccessKey' })
  t.equal(r.status, 403, `B must not let the disabled key mint a key (got ${r.status})`)
  const keys = a.daemon.services.state.snapshot().users.tester!.keys
  t.equal(keys.filter(k => k.status === 'Active').length, 0, `no Active key for the user (keys: ${keys.map(k => `${k.accessKeyId}:${k.status}`).join(', ')})`)
})

t.test('a leaked secret rotated away (no old-secret window) through A still mints a key through B', async t => {
  const { rotateKey } = await import('../../lib/auth/rotation.js')
  const { a, b } = await startStaleTwin(t, { freeze: true })
  const keyId = a.creds.accessKeyId
  await a.daemon.services.state.mutate(s => { rotateKey(s.users.tester!.keys.find(k => k.accessKeyId === keyId)!, new Date(), 0) })
  t.equal((await iam(a.endpoint, a.creds, { Action: 'GetUser' })).status, 403, 'A refuses the rotated-away secret at once')
  const r = await iam(b.endpoint, a.creds, { Action: 'CreateAccessKey' })
  t.equal(r.status, 403, `B must not let the rotated-away secret mint a key (got ${r.status})`)
  t.equal(a.daemon.services.state.snapshot().users.tester!.keys.length, 1, 'no second key')
})

t.test('an STS session minted before a rotation (no old-secret window) outlives the rotation', async t => {
  const { rotateKey } = await import('../../lib/auth/rotation.js')
  const { ListObjectsV2Command, S3Client } = await import('@aws-sdk/client-s3')
  const a = await startBridge(t)
  const url = new URL(a.endpoint)
  const body = new URLSearchParams({ Version: '2011-06-15', Action: 'GetSessionToken' }).toString()
  const signer = new SignatureV4({ credentials: a.creds, region: 'us-east-1', service: 'sts', sha256: Sha256, applyChecksum: false })
  const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body })
  const xml = await (await fetch(`${a.endpoint}/`, { method: 'POST', headers: signed.headers, body })).text()
  const el = (n: string): string => new RegExp(`<${n}>([^<]*)</${n}>`).exec(xml)![1]!
  const session = { accessKeyId: el('AccessKeyId'), secretAccessKey: el('SecretAccessKey'), sessionToken: el('SessionToken') }
  await a.daemon.services.state.mutate(s => { rotateKey(s.users.tester!.keys[0]!, new Date(), 0) })
  const c = new S3Client({ endpoint: a.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: session, maxAttempts: 1 })
  t.teardown(() => c.destroy())
  const r = await c.send(new ListObjectsV2Command({ Bucket: 'demo' })).then(() => 'ok', (e: Error) => e.name)
  t.not(r, 'ok', `a session minted with the rotated-away secret stops working (got ${r})`)
})
