// Metrics and health on the admin listener only, and the access log line: its fields, and never a secret.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { get as httpGet } from 'node:http'
import { join } from 'node:path'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { startBridge } from '../fixtures/daemon.js'
import { sleep } from '../fixtures/bridged-process.js'

interface AccessLine { msg: string, requestId?: string, principal?: string, operation?: string, bucket?: string, key?: string, status?: number, bytesIn?: number, bytesOut?: number, ms?: number, url?: string, error?: string }

const accessLines = (lines: string[]): AccessLine[] => lines.map(l => JSON.parse(l) as AccessLine).filter(l => l.msg === 'request')

t.test('/metrics on the admin listener counts a known request by operation and status; /health answers 200', async t => {
  const bridge = await startBridge(t, { admin: { host: '127.0.0.1', port: 0 } })
  const admin = bridge.daemon.adminEndpoint ?? ''
  t.match(admin, /^http:\/\/127\.0\.0\.1:\d+$/)
  const body = 'x'.repeat(1000)
  await bridge.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'counted.txt', Body: body }))
  const got = await bridge.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'counted.txt' }))
  await got.Body?.transformToString()
  await bridge.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'missing.txt' })).catch(() => undefined)
  await sleep(50)
  const res = await fetch(`${admin}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type') ?? '', /^text\/plain/)
  const text = await res.text()
  t.match(text, /^s3bridge_requests_total\{operation="PutObject",status="200"\} 1$/m, 'PutObject counted')
  t.match(text, /^s3bridge_requests_total\{operation="GetObject",status="200"\} 1$/m, 'GetObject counted')
  t.match(text, /^s3bridge_request_errors_total\{operation="GetObject",code="NoSuchKey"\} 1$/m, 'the failed GetObject counted by error code')
  t.match(text, /^s3bridge_request_duration_seconds_count\{operation="PutObject"\} 1$/m, 'latency histogram')
  t.match(text, /^s3bridge_received_bytes_total\{operation="PutObject"\} 1000$/m, 'bytes in')
  const sent = Number(/^s3bridge_sent_bytes_total\{operation="GetObject"\} (\d+)$/m.exec(text)?.[1])
  t.ok(sent > 1000, `bytes out: the object and the NoSuchKey error (${sent})`)
  t.match(text, /^s3bridge_requests_in_flight 0$/m)
  t.match(text, /^s3bridge_buckets 1$/m)
  t.match(text, /^s3bridge_access_keys 1$/m)
  t.match(text, /^s3bridge_multipart_uploads 0$/m)
  t.match(text, /^process_open_fds \d+$/m, 'process metrics')
  const health = await fetch(`${admin}/health`)
  t.equal(health.status, 200)
  t.same(await health.json(), { status: 'ok' })
  const onS3Port = await fetch(`${bridge.endpoint}/metrics`)
  t.not(onS3Port.status, 200, 'the S3 port does not serve metrics')
  t.notMatch(await onS3Port.text(), /s3bridge_requests_total/)
})

t.test('the access log line of a request has id, principal, operation, bucket, key, status, bytes and time, and no secret', async t => {
  const bridge = await startBridge(t)
  const put = await bridge.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'dir/logged.txt', Body: 'twelve bytes' }))
  const url = await getSignedUrl(bridge.s3, new GetObjectCommand({ Bucket: 'demo', Key: 'dir/logged.txt' }), { expiresIn: 300 })
  const presigned = await fetch(url)
  t.equal(await presigned.text(), 'twelve bytes')
  await sleep(50)
  const lines = accessLines(bridge.logLines)
  const putLine = lines.find(l => l.operation === 'PutObject')
  t.match(putLine, {
    requestId: put.$metadata.requestId,
    principal: 'tester',
    operation: 'PutObject',
    bucket: 'demo',
    key: 'dir/logged.txt',
    status: 200,
    ms: Number,
  })
  t.ok((putLine?.bytesIn ?? 0) >= 12, 'bytes in')
  const getLine = lines.find(l => l.operation === 'GetObject')
  t.match(getLine, { principal: 'tester', status: 200, bytesOut: 12 })
  t.match(getLine?.url, /X-Amz-Signature=\[redacted\]/, 'the presigned URL is logged without its signature')
  const signature = new URL(url).searchParams.get('X-Amz-Signature') ?? 'missing'
  const all = bridge.logLines.join('\n')
  for (const secret of [bridge.creds.secretAccessKey, signature, 'AWS4-HMAC-SHA256 Credential=']) {
    t.notOk(all.includes(secret), `the log never holds ${secret === bridge.creds.secretAccessKey ? 'the secret key' : secret}`)
  }
  t.notMatch(all, /Signature=(?!\[redacted\])/, 'every signature in a URL is redacted')

  // The same URL with its parameter names percent-encoded authenticates just as well (names are decoded), so it
  // must be redacted just as well (sweep 24a #3: it was logged in clear, a working bearer URL in the journal).
  const encoded = url.replace('X-Amz-Signature=', 'X-Amz-Signatur%65=').replace('X-Amz-Credential=', 'X-Amz-Credentia%6C=')
  t.not(encoded, url)
  const again = await fetch(encoded)
  t.equal(again.status, 200, 'the encoded names authenticate')
  await again.arrayBuffer()
  await sleep(50)
  const after = bridge.logLines.join('\n')
  t.notOk(after.includes(signature), 'its signature is not logged')
  t.match(after, /X-Amz-Signatur%65=\[redacted\]/)
  t.match(after, /X-Amz-Credentia%6C=\[redacted\]/)
})

t.test('a GET the client leaves is logged with the bytes that went out and ResponseIncomplete, not as a whole success (sweep 24c F7)', async t => {
  const bridge = await startBridge(t)
  const size = 32 * 1024 * 1024
  writeFileSync(join(bridge.bucketDir, 'big.bin'), Buffer.alloc(size, 1))
  const url = await getSignedUrl(bridge.s3, new GetObjectCommand({ Bucket: 'demo', Key: 'big.bin' }), { expiresIn: 300 })
  await new Promise<void>((resolve, reject) => {
    const req = httpGet(url, res => {
      res.once('data', () => { req.destroy(); resolve() }) // one chunk, then gone
    })
    req.on('error', () => undefined)
    req.on('close', resolve)
    setTimeout(() => reject(new Error('no data')), 10_000)
  })
  let line: AccessLine | undefined
  for (let i = 0; i < 100 && line === undefined; i++) {
    await sleep(50)
    line = accessLines(bridge.logLines).find(l => l.operation === 'GetObject' && l.key === 'big.bin')
  }
  t.ok(line, 'logged once the response is over')
  t.equal(line?.error, 'ResponseIncomplete')
  t.ok(typeof line?.bytesOut === "number" && line.bytesOut < size, `bytesOut ${String(line?.bytesOut)} is what went out, less than ${size}`)
  const whole = await fetch(url)
  t.equal((await whole.arrayBuffer()).byteLength, size)
  await sleep(50)
  const full = accessLines(bridge.logLines).filter(l => l.operation === 'GetObject' && l.key === 'big.bin').at(-1)
  t.match(full, { status: 200, bytesOut: size }, 'a whole GET still counts its length')
  t.equal(full?.error, undefined)
})
