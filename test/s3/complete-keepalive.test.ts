// CompleteMultipartUpload that takes longer than completeKeepAliveMs: 200 at once, white space, then the result or an
// <Error> document inside the 200 (AWS's behaviour; clients' read timeouts would otherwise fire on big assemblies).
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, ListPartsCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { startBridge } from '../fixtures/daemon.js'
import { mountTmpfs } from '../fixtures/mounts.js'

const MiB = 1024 * 1024
const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex')

async function upload (s3: S3Client, key: string, bodies: Buffer[], bucket = 'demo'): Promise<{ uploadId: string, etags: string[] }> {
  const uploadId = (await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))).UploadId ?? ''
  const etags: string[] = []
  for (const [i, b] of bodies.entries()) {
    etags.push((await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: i + 1, Body: b }))).ETag ?? '')
  }
  return { uploadId, etags }
}

const listXml = (etags: string[]): string =>
  '<CompleteMultipartUpload>' + etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('') + '</CompleteMultipartUpload>'

async function rawComplete (s3: S3Client, key: string, uploadId: string, etags: string[], bucket = 'demo'): Promise<{ status: number, type: string | null, length: string | null, text: string }> {
  const url = await getSignedUrl(s3, new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }), { expiresIn: 300 })
  const r = await fetch(url, { method: 'POST', body: listXml(etags) })
  return { status: r.status, type: r.headers.get('content-type'), length: r.headers.get('content-length'), text: await r.text() }
}

t.test('past the keep-alive point: 200 with the declaration first, then the result document', async t => {
  const { s3 } = await startBridge(t, { completeKeepAliveMs: 0 })
  const bodies = [randomBytes(5 * MiB), randomBytes(5 * MiB), Buffer.from('tail')]
  const { uploadId, etags } = await upload(s3, 'slow/raw.bin', bodies)
  const r = await rawComplete(s3, 'slow/raw.bin', uploadId, etags)
  t.equal(r.status, 200)
  t.equal(r.type, 'application/xml')
  t.equal(r.length, null, 'streamed: its length was not known when the status went out')
  t.ok(r.text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n'), 'the declaration went out first')
  const doc = r.text.slice(r.text.indexOf('?>') + 2)
  t.match(doc, /^\s*<CompleteMultipartUploadResult xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/">/, 'white space, then the result')
  t.equal(doc.match(/<\?xml/g), null, 'one declaration only')
  const whole = md5(Buffer.concat(etags.map(e => Buffer.from(e.replace(/"/g, ''), 'hex'))))
  t.match(doc, `<ETag>&quot;${whole}-3&quot;</ETag>`)
  const got = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'slow/raw.bin' }))
  t.equal(md5(Buffer.from(await got.Body!.transformToByteArray())), md5(Buffer.concat(bodies)), 'the object is the parts')
})

t.test('the SDK reads a kept-alive success and a kept-alive <Error> alike; a refused part list is still a 400', async t => {
  const b = await startBridge(t, { completeKeepAliveMs: 0 })
  const s3 = b.s3
  const bodies = [randomBytes(5 * MiB), Buffer.from('end')]
  const ok = await upload(s3, 'slow/sdk.bin', bodies)
  const done = await s3.send(new CompleteMultipartUploadCommand({
    Bucket: 'demo', Key: 'slow/sdk.bin', UploadId: ok.uploadId, MultipartUpload: { Parts: ok.etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
  }))
  t.match(done.ETag, /^"[0-9a-f]{32}-2"$/)

  // Checked before the 200 goes out: a wrong part list keeps its own status, as AWS answers it.
  const bad = await upload(s3, 'slow/bad.bin', bodies)
  const wrong = [bad.etags[0] as string, `"${md5('not this part')}"`]
  const refused = await rawComplete(s3, 'slow/bad.bin', bad.uploadId, wrong)
  t.equal(refused.status, 400)
  t.match(refused.text, /<Code>InvalidPart<\/Code>/)

  // Failing after the copying began: the bucket's filesystem fills up (a tmpfs), so the assembly hits ENOSPC.
  const dir = join(b.dir, 'tiny')
  mkdirSync(dir)
  if (!mountTmpfs(t, dir, 'size=16m')) return
  chownSync(dir, 2000, 2000)
  await b.daemon.services.state.mutate(st => { st.buckets.tiny = { name: 'tiny', path: dir, owner: 'tester', createdAt: new Date().toISOString(), createdByS3: false, acl: [], objectAclPolicy: 'replace' } })
  const late = await upload(s3, 'late/obj.bin', bodies, 'tiny')
  const fs = statfsSync(dir)
  writeFileSync(join(dir, 'filler'), Buffer.alloc(Math.max(0, Number(fs.bavail * fs.bsize) - 2 * MiB)))
  const raw = await rawComplete(s3, 'late/obj.bin', late.uploadId, late.etags, 'tiny')
  t.equal(raw.status, 200, 'the status went out before the failure')
  t.match(raw.text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n\s*<Error><Code>InsufficientStorage<\/Code><Message>[^<]+<\/Message>/)
  t.match(raw.text, /<RequestId>[^<]+<\/RequestId><HostId>[^<]+<\/HostId><\/Error>$/)
  const complete = (): Promise<unknown> => s3.send(new CompleteMultipartUploadCommand({
    Bucket: 'tiny', Key: 'late/obj.bin', UploadId: late.uploadId, MultipartUpload: { Parts: late.etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
  }))
  await t.rejects(complete(), { name: 'InsufficientStorage' }, 'the SDK throws the error a 200 carried')
  t.same(readdirSync(dir).sort(), ['.s3bridge', 'filler'], 'no partial object')
  await new Promise(resolve => setTimeout(resolve, 50))
  t.ok(b.logLines.some(l => /"operation":"CompleteMultipartUpload"/.test(l) && /"status":200/.test(l) && l.includes('"error":"InsufficientStorage"')),
    'the access log names the error the 200 carried')
  rmSync(join(dir, 'filler'))
  t.match(await complete(), { ETag: /-2"$/ }, 'the parts were kept: with room again the same Complete succeeds')
})

t.test('a client that leaves a kept-alive Complete: the access log waits for the outcome (review 15)', async t => {
  const b = await startBridge(t, { completeKeepAliveMs: 0 })
  const key = 'gone/obj.bin'
  const { uploadId, etags } = await upload(b.s3, key, [1, 2, 3, 4].map(i => Buffer.alloc(48 * MiB, i)))
  const url = await getSignedUrl(b.s3, new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: key, UploadId: uploadId }), { expiresIn: 300 })
  const xml = listXml(etags)
  const first = await new Promise<{ status: number, text: string }>((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-length': Buffer.byteLength(xml) } }, res => {
      res.once('data', (chunk: Buffer) => { resolve({ status: res.statusCode ?? 0, text: chunk.toString() }); req.destroy() })
    })
    req.on('error', () => undefined)
    req.once('error', reject)
    req.end(xml)
  })
  t.equal(first.status, 200, 'the 200 went out while assembling, then the client left')
  // While it copies, an NFS client makes a folder at the key, so the publish fails (when it is still copying).
  let conflict = true
  try { mkdirSync(join(b.bucketDir, key), { recursive: true }) } catch { conflict = false }
  const uploads = join(b.bucketDir, '.s3bridge', 'uploads')
  for (let i = 0; i < 300; i++) {
    if (!existsSync(join(uploads, `${uploadId}.completing`))) break
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const failed = lstatSync(join(b.bucketDir, key)).isDirectory()
  t.comment(conflict && failed ? 'the folder came first: the Complete failed' : 'the Complete published before the folder came')
  await new Promise(resolve => setTimeout(resolve, 200))
  const lines = b.logLines.filter(l => l.includes('"operation":"CompleteMultipartUpload"'))
  t.equal(lines.length, 1, 'one access-log line')
  const line = JSON.parse(lines[0] ?? '{}') as { status?: number, error?: string }
  t.equal(line.status, 200)
  // The line tells how the Complete ended, not how far it had got when the client left.
  if (failed) t.match(line.error, /^[A-Za-z]+$/, 'the failure is named')
  else t.equal(line.error, undefined, 'a success has no error')
})

t.test('a Complete done within completeKeepAliveMs (default 2 s) answers as before: errors keep their status', async t => {
  const { s3 } = await startBridge(t)
  const bad = await upload(s3, 'quick/bad.bin', [randomBytes(5 * MiB), Buffer.from('end')])
  const raw = await rawComplete(s3, 'quick/bad.bin', bad.uploadId, [bad.etags[0] as string, `"${md5('x')}"`])
  t.equal(raw.status, 400)
  t.match(raw.text, /<Code>InvalidPart<\/Code>/)
})

t.test('a stop waits for a Complete still assembling before it is done (sweep 24c F5)', async t => {
  const b = await startBridge(t, { completeKeepAliveMs: 0, shutdownGraceSeconds: 1 })
  const key = 'stopping/obj.bin'
  const parts = [1, 2, 3, 4].map(i => Buffer.alloc(48 * MiB, i))
  const { uploadId, etags } = await upload(b.s3, key, parts)
  const url = await getSignedUrl(b.s3, new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: key, UploadId: uploadId }), { expiresIn: 300 })
  const xml = listXml(etags)
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-length': Buffer.byteLength(xml) } }, res => {
      res.once('data', () => { req.destroy(); resolve() }) // the 200 is out; the client leaves
    })
    req.on('error', () => undefined)
    req.once('error', reject)
    req.end(xml)
  })
  const completing = join(b.bucketDir, '.s3bridge', 'uploads', `${uploadId}.completing`)
  const wasAssembling = existsSync(completing)
  await b.daemon.close()
  t.comment(wasAssembling ? 'the stop began while the parts were being assembled' : 'the assembly was already over')
  t.notOk(existsSync(completing), 'no assembly is left running once the daemon says it stopped')
  t.equal(lstatSync(join(b.bucketDir, key)).size, 4 * 48 * MiB, 'the object is published whole')
})
