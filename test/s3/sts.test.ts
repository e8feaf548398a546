// STS over the query API (signed as the CLI signs it), and S3 requests made with the session credentials it returns.
import t from 'tap'
import { chmodSync, mkdirSync, statSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { sealSession } from '../../lib/auth/sessions.js'
import { rotateKey } from '../../lib/auth/rotation.js'
import { startDaemon } from '../../lib/daemon/server.js'
import { createLogger } from '../../lib/log.js'
import { startBridge, type Bridge, type Credentials } from '../fixtures/daemon.js'

interface SessionCredentials extends Credentials { sessionToken: string }
interface QueryResult { status: number, body: string }

/** A query-API POST signed for `sts` without x-amz-content-sha256, as botocore sends it. */
async function sts (endpoint: string, creds: Credentials & { sessionToken?: string }, params: Record<string, string>, service = 'sts'): Promise<QueryResult> {
  const url = new URL(endpoint)
  const body = new URLSearchParams({ Version: service === 'iam' ? '2010-05-08' : '2011-06-15', ...params }).toString()
  const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service, sha256: Sha256, applyChecksum: false })
  const signed = await signer.sign({
    method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {},
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body,
  })
  const res = await fetch(`${endpoint}/`, { method: 'POST', headers: signed.headers, body })
  return { status: res.status, body: await res.text() }
}

function element (xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1]
}

function sessionOf (r: QueryResult): SessionCredentials {
  const accessKeyId = element(r.body, 'AccessKeyId')
  const secretAccessKey = element(r.body, 'SecretAccessKey')
  const sessionToken = element(r.body, 'SessionToken')
  if (r.status !== 200 || !accessKeyId || !secretAccessKey || !sessionToken) throw new Error(`no credentials in ${r.status}: ${r.body}`)
  return { accessKeyId, secretAccessKey, sessionToken }
}

function clientFor (b: Bridge, creds: SessionCredentials, t: { teardown (fn: () => void): void }, endpoint = b.endpoint): S3Client {
  const c = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: creds, maxAttempts: 1 })
  t.teardown(() => c.destroy())
  return c
}

const prefixOnly = (prefix: string): string => JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::demo/${prefix}*` },
    { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::demo', Condition: { StringLike: { 's3:prefix': `${prefix}*` } } },
  ],
})

t.test('GetSessionToken returns credentials that act as the calling user on S3', async t => {
  const b = await startBridge(t)
  const r = await sts(b.endpoint, b.creds, { Action: 'GetSessionToken' })
  t.equal(r.status, 200)
  t.match(r.body, /^<\?xml[^>]*>\n<GetSessionTokenResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"><GetSessionTokenResult><Credentials>/)
  t.match(r.body, /<ResponseMetadata><RequestId>[^<]+<\/RequestId><\/ResponseMetadata><\/GetSessionTokenResponse>$/)
  const expiration = Date.parse(element(r.body, 'Expiration') ?? '')
  t.ok(Math.abs(expiration - Date.now() - 43_200_000) < 60_000, 'the default lifetime is 12 hours')
  const session = sessionOf(r)
  t.match(session.accessKeyId, /^ASIA[A-Z2-7]{16}$/)
  const s3 = clientFor(b, session, t)
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'by-session.txt', Body: 'hi' }))
  t.equal(statSync(join(b.bucketDir, 'by-session.txt')).uid, 2000, 'the file belongs to the parent user\'s uid')
  const got = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'by-session.txt' }))
  t.equal(await got.Body?.transformToString(), 'hi')
})

t.test('AssumeRole accepts any role ARN, names the assumed role, and a session Policy narrows to one prefix', async t => {
  const b = await startBridge(t)
  mkdirSync(join(b.bucketDir, 'reports'))
  chmodSync(join(b.bucketDir, 'reports'), 0o777)
  const r = await sts(b.endpoint, b.creds, { Action: 'AssumeRole', RoleArn: 'arn:aws:iam::000000000000:role/x', RoleSessionName: 'nightly', DurationSeconds: '900', Policy: prefixOnly('reports/') })
  t.equal(r.status, 200)
  t.equal(element(r.body, 'Arn'), 'arn:aws:sts::000000000000:assumed-role/x/nightly')
  t.equal(element(r.body, 'AssumedRoleId'), 'tester:nightly')
  const s3 = clientFor(b, sessionOf(r), t)
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'reports/q1.txt', Body: 'q1' }))
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'demo', Prefix: 'reports/' }))
  t.same((listed.Contents ?? []).map(c => c.Key), ['reports/q1.txt'])
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'elsewhere.txt', Body: 'x' })), { name: 'AccessDenied' }, 'outside the prefix the owner\'s own rights do not help')
  await t.rejects(s3.send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'AccessDenied' })
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'elsewhere.txt', Body: 'x' }))
})

t.test('DurationSeconds outside AWS\'s bounds, bad role ARNs and bad policies are refused in an ErrorResponse', async t => {
  const b = await startBridge(t)
  const role = { Action: 'AssumeRole', RoleArn: 'arn:aws:iam::000000000000:role/x', RoleSessionName: 's1' }
  const cases: Array<[Record<string, string>, number, string]> = [
    [{ Action: 'GetSessionToken', DurationSeconds: '899' }, 400, 'ValidationError'],
    [{ Action: 'GetSessionToken', DurationSeconds: '129601' }, 400, 'ValidationError'],
    [{ ...role, DurationSeconds: '43201' }, 400, 'ValidationError'],
    [{ ...role, DurationSeconds: 'soon' }, 400, 'ValidationError'],
    [{ ...role, RoleArn: 'arn:aws:iam::000000000000:user/x' }, 400, 'ValidationError'],
    [{ ...role, RoleSessionName: 'a' }, 400, 'ValidationError'],
    [{ ...role, Policy: '{"Version":"2012-10-17","Statement":[' }, 400, 'MalformedPolicyDocument'],
    [{ ...role, Policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*', Sid: 'x'.repeat(2100) }] }) }, 400, 'ValidationError'],
    [{ Action: 'GetFederationToken' }, 400, 'InvalidAction'],
  ]
  for (const [params, status, code] of cases) {
    const r = await sts(b.endpoint, b.creds, params)
    t.equal(r.status, status, JSON.stringify(params).slice(0, 100))
    t.match(r.body, new RegExp(`^<\\?xml[^>]*>\\n<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>[^<]+</Message></Error><RequestId>[^<]+</RequestId></ErrorResponse>$`))
  }
  const iamUnknown = await sts(b.endpoint, b.creds, { Action: 'ListUsersX' }, 'iam')
  t.match(iamUnknown.body, /<ErrorResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/"><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code>/, 'an unknown IAM action answers in IAM\'s namespace')
  t.equal((await sts(b.endpoint, b.creds, { Action: 'GetSessionToken', DurationSeconds: '129600' })).status, 200, '36 hours is the GetSessionToken maximum')
  t.equal((await sts(b.endpoint, b.creds, { ...role, DurationSeconds: '43200' })).status, 200, '12 hours is the AssumeRole maximum')
})

t.test('a bad signature or unknown key on an STS call is answered in the query envelope', async t => {
  const b = await startBridge(t)
  const wrong = await sts(b.endpoint, { ...b.creds, secretAccessKey: 'x'.repeat(40) }, { Action: 'GetSessionToken' })
  t.equal(wrong.status, 403)
  t.match(wrong.body, /<ErrorResponse [^>]*><Error><Type>Sender<\/Type><Code>SignatureDoesNotMatch<\/Code>/)
  const unknown = await sts(b.endpoint, { accessKeyId: 'SBUNKNOWNUNKNOWNUNKN', secretAccessKey: 'x'.repeat(40) }, { Action: 'GetSessionToken' })
  t.match(unknown.body, /<Code>InvalidClientTokenId<\/Code>/)
})

t.test('session and service-account credentials cannot mint further sessions', async t => {
  const b = await startBridge(t)
  const session = sessionOf(await sts(b.endpoint, b.creds, { Action: 'GetSessionToken' }))
  const again = await sts(b.endpoint, session, { Action: 'GetSessionToken' })
  t.equal(again.status, 403)
  t.match(again.body, /<Code>AccessDenied<\/Code>/)
  const svc = { accessKeyId: 'SBSERVICEACCOUNT0001', secretAccessKey: 's'.repeat(40) }
  await b.daemon.services.state.mutate(s => { s.users.tester!.serviceAccounts = [{ ...svc, secret: svc.secretAccessKey, createdAt: new Date().toISOString(), status: 'Active' }] })
  const fromService = await sts(b.endpoint, svc, { Action: 'AssumeRole', RoleArn: 'arn:aws:iam::000000000000:role/x', RoleSessionName: 's1' })
  t.equal(fromService.status, 403)
})

t.test('session and service-account credentials cannot manage the parent user\'s keys over IAM, nor can an identity policy\'s Deny', async t => {
  const b = await startBridge(t)
  const narrow = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::demo/pub.txt' }] })
  const session = sessionOf(await sts(b.endpoint, b.creds, { Action: 'AssumeRole', RoleArn: 'arn:aws:iam::000000000000:role/x', RoleSessionName: 'narrow', Policy: narrow }))
  const svc = { accessKeyId: 'SBSERVICEACCOUNT0002', secretAccessKey: 't'.repeat(40) }
  await b.daemon.services.state.mutate(s => { s.users.tester!.serviceAccounts = [{ ...svc, secret: svc.secretAccessKey, createdAt: new Date().toISOString(), status: 'Active', policy: narrow }] })
  const keysBefore = b.daemon.services.state.snapshot().users.tester!.keys.length
  for (const [who, creds] of [['a session', session], ['a service account', svc]] as const) {
    for (const params of [{ Action: 'CreateAccessKey' }, { Action: 'ListAccessKeys' }, { Action: 'DeleteAccessKey', AccessKeyId: b.creds.accessKeyId }] as Array<Record<string, string>>) {
      const r = await sts(b.endpoint, creds, params, 'iam')
      t.equal(r.status, 403, `${who}: ${params.Action}`)
      t.match(r.body, /<Code>AccessDenied<\/Code>/)
    }
  }
  t.equal(b.daemon.services.state.snapshot().users.tester!.keys.length, keysBefore, 'no key was made or removed')
  const own = await sts(b.endpoint, b.creds, { Action: 'ListAccessKeys' }, 'iam')
  t.equal(own.status, 200, 'the user\'s own long-term key still manages its keys')
  await b.daemon.services.state.mutate(s => {
    s.policies['no-keys'] = { name: 'no-keys', text: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'iam:CreateAccessKey', Resource: '*' }] }), createdAt: new Date().toISOString() }
    s.users.tester!.policies = ['no-keys']
  })
  const denied = await sts(b.endpoint, b.creds, { Action: 'CreateAccessKey' }, 'iam')
  t.equal(denied.status, 403, 'an explicit Deny of iam:CreateAccessKey holds')
  // A conditional Deny sees the request's condition keys (here: calls from loopback).
  await b.daemon.services.state.mutate(s => {
    s.policies['no-keys'] = { name: 'no-keys', text: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'iam:ListAccessKeys', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } }] }), createdAt: new Date().toISOString() }
  })
  t.equal((await sts(b.endpoint, b.creds, { Action: 'ListAccessKeys' }, 'iam')).status, 403, 'a Deny conditioned on aws:SourceIp applies')
  t.equal((await sts(b.endpoint, b.creds, { Action: 'CreateAccessKey' }, 'iam')).status, 200, 'and only to the action it names')
})

t.test('S3 answers ExpiredToken once the session has expired', async t => {
  const b = await startBridge(t, { maxClockSkewMinutes: 24 * 60 })
  let offsetMs = 0
  b.daemon.services.now = () => new Date(Date.now() + offsetMs)
  const session = sessionOf(await sts(b.endpoint, b.creds, { Action: 'GetSessionToken', DurationSeconds: '900' }))
  const s3 = clientFor(b, session, t)
  await s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  offsetMs = 901_000
  await t.rejects(s3.send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'ExpiredToken', $metadata: { httpStatusCode: 400 } })
})

t.test('S3 answers InvalidToken for a forged, garbled or mismatched token', async t => {
  const b = await startBridge(t)
  const session = sessionOf(await sts(b.endpoint, b.creds, { Action: 'GetSessionToken' }))
  const other = sessionOf(await sts(b.endpoint, b.creds, { Action: 'GetSessionToken' }))
  const flipped = session.sessionToken.slice(0, 30) + (session.sessionToken[30] === 'A' ? 'B' : 'A') + session.sessionToken.slice(31)
  const tokens = { garbled: 'not-a-token', truncated: session.sessionToken.slice(0, 40), 'one character changed': flipped, 'another session\'s token': other.sessionToken }
  for (const [what, sessionToken] of Object.entries(tokens)) {
    await t.rejects(clientFor(b, { ...session, sessionToken }, t).send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'InvalidToken', $metadata: { httpStatusCode: 400 } }, what)
  }
  const forged = sealSession({
    user: 'tester', parentAccessKeyId: b.creds.accessKeyId, accessKeyId: 'ASIAFORGEDFORGEDFORG', secretAccessKey: 'f'.repeat(40),
    issuedAt: new Date(), expiresAt: new Date(Date.now() + 3600_000),
  }, randomBytes(32))
  const foreign = { accessKeyId: 'ASIAFORGEDFORGEDFORG', secretAccessKey: 'f'.repeat(40), sessionToken: forged }
  await t.rejects(clientFor(b, foreign, t).send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'InvalidToken' }, 'a well-formed token sealed with another key')
})

t.test('a session dies when its user is disabled or deleted or its parent key is deleted', async t => {
  const b = await startBridge(t)
  const state = b.daemon.services.state
  const list = (c: S3Client): Promise<unknown> => c.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  const first = clientFor(b, sessionOf(await sts(b.endpoint, b.creds, { Action: 'GetSessionToken' })), t)
  await list(first)
  await state.mutate(s => { s.users.tester!.enabled = false })
  await t.rejects(list(first), { name: 'InvalidToken' }, 'user disabled')
  await state.mutate(s => { s.users.tester!.enabled = true })
  await list(first)
  await state.mutate(s => { s.users.tester!.keys = [] })
  await t.rejects(list(first), { name: 'InvalidToken' }, 'parent key deleted')

  const carolCreds = await b.addUser('carol', 1003, 1003)
  const carol = clientFor(b, sessionOf(await sts(b.endpoint, carolCreds, { Action: 'GetSessionToken' })), t)
  await state.mutate(s => { delete s.users.carol })
  await t.rejects(carol.send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'InvalidToken' }, 'user deleted')
})

t.test('a session issued by one daemon verifies on another sharing the state directory', async t => {
  const b = await startBridge(t)
  const second = await startDaemon(b.config, { log: createLogger('error') })
  t.teardown(() => second.close())
  const session = sessionOf(await sts(b.endpoint, b.creds, { Action: 'GetSessionToken' }))
  const listed = await clientFor(b, session, t, second.endpoint).send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.equal(listed.$metadata.httpStatusCode, 200)
})

t.test('a presigned URL made with session credentials carries the token in the query and works until the session ends', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'p.txt', Body: 'presigned' }))
  const session = sessionOf(await sts(b.endpoint, b.creds, { Action: 'GetSessionToken' }))
  const url = await getSignedUrl(clientFor(b, session, t), new GetObjectCommand({ Bucket: 'demo', Key: 'p.txt' }), { expiresIn: 300 })
  t.match(url, /[?&]X-Amz-Security-Token=/)
  const ok = await fetch(url)
  t.equal(await ok.text(), 'presigned')
  await b.daemon.services.state.mutate(s => { s.users.tester!.enabled = false })
  const dead = await fetch(url)
  t.equal(dead.status, 400)
  t.match(await dead.text(), /<Code>InvalidToken<\/Code>/)
})

t.test('GetCallerIdentity answers with the user behind the credentials', async t => {
  const b = await startBridge(t)
  const r = await sts(b.endpoint, b.creds, { Action: 'GetCallerIdentity' })
  t.equal(element(r.body, 'Arn'), 'arn:aws:iam::000000000000:user/tester')
  t.equal(element(r.body, 'Account'), '000000000000')
})

t.test('a rotated-out secret still signs S3 requests in its window, but mints no key and no session', async t => {
  const b = await startBridge(t)
  const fresh = await b.daemon.services.state.mutate(s => {
    const k = s.users.tester!.keys[0]!
    rotateKey(k, new Date(), 10)
    return k.secret
  })
  await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.pass('the old secret lists the bucket (its window is 10 minutes)')
  for (const [params, service] of [[{ Action: 'CreateAccessKey' }, 'iam'], [{ Action: 'UpdateAccessKey', AccessKeyId: b.creds.accessKeyId, Status: 'Inactive' }, 'iam'],
    [{ Action: 'GetSessionToken' }, 'sts'], [{ Action: 'AssumeRole', RoleArn: 'arn:aws:iam::000000000000:role/x', RoleSessionName: 'x' }, 'sts']] as Array<[Record<string, string>, string]>) {
    const r = await sts(b.endpoint, b.creds, params, service)
    t.equal(r.status, 403, `${params.Action} signed with the old secret: 403`)
    t.match(r.body, /previous secret/, 'saying why')
  }
  const keys = await b.daemon.services.state.snapshot().users.tester!.keys
  t.equal(keys.length, 1, 'no key was made')
  const withNew = { accessKeyId: b.creds.accessKeyId, secretAccessKey: fresh }
  t.equal((await sts(b.endpoint, withNew, { Action: 'GetSessionToken' })).status, 200, 'the current secret gets a session')
  t.equal((await sts(b.endpoint, withNew, { Action: 'CreateAccessKey' }, 'iam')).status, 200, 'and a key')
})

t.test('a key with an expiry date mints keys that expire with it', async t => {
  const b = await startBridge(t)
  const expiresAt = new Date(Date.now() + 3600_000).toISOString()
  await b.daemon.services.state.mutate(s => { s.users.tester!.keys[0]!.expiresAt = expiresAt })
  const r = await sts(b.endpoint, b.creds, { Action: 'CreateAccessKey' }, 'iam')
  t.equal(r.status, 200)
  const id = element(r.body, 'AccessKeyId')
  const minted = b.daemon.services.state.snapshot().users.tester!.keys.find(k => k.accessKeyId === id)
  t.equal(minted?.expiresAt, expiresAt, 'the new key expires when the key that made it does')
})

t.test('AssumeRole PolicyArns narrow the session (a bridge policy or AWS\'s S3 read-only one); an unknown one is refused, not ignored', async t => {
  const b = await startBridge(t)
  const readOnly = sessionOf(await sts(b.endpoint, b.creds, { Action: 'AssumeRole', RoleArn: 'arn:aws:iam::000000000000:role/r', RoleSessionName: 'ro', 'PolicyArns.member.1.arn': 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess' }))
  const ro = b.client(readOnly)
  await ro.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.pass('the read-only session lists')
  await t.rejects(ro.send(new PutObjectCommand({ Bucket: 'demo', Key: 'x', Body: 'x' })), { name: 'AccessDenied' }, 'and may not write')
  await b.daemon.services.state.mutate(s => {
    s.policies.uploads = { name: 'uploads', text: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::demo/in/*' }] }), createdAt: new Date().toISOString() }
  })
  const both = sessionOf(await sts(b.endpoint, b.creds, {
    Action: 'AssumeRole', RoleArn: 'arn:aws:iam::000000000000:role/r', RoleSessionName: 'both',
    'PolicyArns.member.1.arn': 'arn:aws:iam::000000000000:policy/uploads', 'PolicyArns.member.2.arn': 'arn:aws:iam::000000000000:policy/read-only',
  }))
  const bc = b.client(both)
  await bc.send(new PutObjectCommand({ Bucket: 'demo', Key: 'in/a', Body: 'a' }))
  await bc.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.pass('two named policies together: uploads under in/ and reads')
  await t.rejects(bc.send(new PutObjectCommand({ Bucket: 'demo', Key: 'out', Body: 'x' })), { name: 'AccessDenied' }, 'nothing else')
  const unknown = await sts(b.endpoint, b.creds, { Action: 'AssumeRole', RoleArn: 'arn:aws:iam::000000000000:role/r', RoleSessionName: 'unknown', 'PolicyArns.member.1.arn': 'arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess' })
  t.equal(unknown.status, 400, 'a policy the bridge does not have is refused')
  t.match(unknown.body, /AmazonEC2ReadOnlyAccess does not exist/)
})

t.test('aws:TokenIssueTime: AWS\'s session revocation policy (Deny all for sessions issued before a time) ends older sessions only', async t => {
  const b = await startBridge(t)
  const old = sessionOf(await sts(b.endpoint, b.creds, { Action: 'GetSessionToken' }))
  await b.client(old).send(new ListObjectsV2Command({ Bucket: 'demo' }))
  await new Promise(resolve => setTimeout(resolve, 1100)) // tokens carry whole seconds
  const cutoff = new Date().toISOString()
  await new Promise(resolve => setTimeout(resolve, 1100))
  const revoke = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:TokenIssueTime': cutoff } } }] })
  const created = await sts(b.endpoint, b.creds, { Action: 'GetSessionToken' })
  await b.daemon.services.state.mutate(s => {
    s.policies.revoke = { name: 'revoke', text: revoke, createdAt: new Date().toISOString() }
    s.users.tester!.policies.push('revoke')
  })
  await t.rejects(b.client(old).send(new ListObjectsV2Command({ Bucket: 'demo' })), { name: 'AccessDenied' }, 'a session issued before the cut-off is denied')
  await b.client(sessionOf(created)).send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.pass('one issued after it works')
  await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.pass('and the long-term key has no token issue time: not affected')
})
