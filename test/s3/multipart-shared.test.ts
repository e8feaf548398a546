// Multipart on a shared filesystem: two daemons on one upload, racing Complete/Abort, a client killed mid-part.
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { request } from 'node:http'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { Sha256 } from '@aws-crypto/sha256-js'
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand,
  ListMultipartUploadsCommand, ListPartsCommand, PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3'
import { SignatureV4 } from '@smithy/signature-v4'
import { startDaemon } from '../../lib/daemon/server.js'
import { createLogger } from '../../lib/log.js'
import { startBridge, type Bridge } from '../fixtures/daemon.js'

const MiB = 1024 * 1024

/** A second bridged over the same state and bucket directories: it shares nothing in memory with the first. */
async function secondDaemon (t: Test, bridge: Bridge): Promise<S3Client> {
  const quiet = new Writable({ write (_chunk, _enc, cb) { cb() } })
  const daemon = await startDaemon(bridge.config, { log: createLogger('error', quiet) })
  const s3 = new S3Client({ endpoint: daemon.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: bridge.creds })
  t.teardown(async () => { s3.destroy(); await daemon.close() })
  return s3
}

async function uploadParts (clients: S3Client[], key: string, uploadId: string, bodies: Buffer[]): Promise<Array<{ PartNumber: number, ETag?: string }>> {
  const parts = []
  for (const [i, body] of bodies.entries()) {
    const s3 = clients[i % clients.length] as S3Client
    const r = await s3.send(new UploadPartCommand({ Bucket: 'demo', Key: key, UploadId: uploadId, PartNumber: i + 1, Body: body }))
    parts.push({ PartNumber: i + 1, ETag: r.ETag })
  }
  return parts
}

async function readObject (s3: S3Client, key: string): Promise<Buffer | undefined> {
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: 'demo', Key: key }))
    return Buffer.from(await got.Body?.transformToByteArray() ?? [])
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey') return undefined
    throw err
  }
}

t.test('an upload begun on one daemon takes parts from both and is completed by the other', async t => {
  const bridge = await startBridge(t)
  const a = bridge.s3
  const b = await secondDaemon(t, bridge)
  for (const [starter, finisher] of [[a, b], [b, a]] as const) {
    const key = `shared/${randomBytes(4).toString('hex')}.bin`
    const { UploadId } = await starter.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: key }))
    const bodies = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(1000)]
    const parts = await uploadParts([a, b], key, UploadId ?? '', bodies)
    const listed = await finisher.send(new ListPartsCommand({ Bucket: 'demo', Key: key, UploadId }))
    t.same(listed.Parts?.map(p => p.ETag), parts.map(p => p.ETag), 'the other daemon lists every part')
    const uploads = await finisher.send(new ListMultipartUploadsCommand({ Bucket: 'demo', Prefix: key }))
    t.same(uploads.Uploads?.map(u => u.UploadId), [UploadId])
    const done = await finisher.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: key, UploadId, MultipartUpload: { Parts: parts } }))
    t.match(done.ETag, /-3"$/)
    t.ok((await readObject(starter, key))?.equals(Buffer.concat(bodies)), 'the first daemon serves the completed object')
  }
})

t.test('a Complete racing an Abort and a second Complete has exactly one outcome and leaves an intact object', async t => {
  const bridge = await startBridge(t)
  const a = bridge.s3
  const b = await secondDaemon(t, bridge)
  const outcomes = { completed: 0, aborted: 0 }
  for (let round = 0; round < 8; round++) {
    const key = `race/${round}.bin`
    const previous = Buffer.from(`previous object ${round}`)
    await a.send(new PutObjectCommand({ Bucket: 'demo', Key: key, Body: previous }))
    const { UploadId } = await a.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: key }))
    const bodies = [randomBytes(5 * MiB), randomBytes(2 * MiB)]
    const parts = await uploadParts([a, b], key, UploadId ?? '', bodies)
    const complete = (s3: S3Client): Promise<unknown> => s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: key, UploadId, MultipartUpload: { Parts: parts } }))
    // Start the abort a little later in some rounds so that each side wins sometimes.
    const abort = sleep((round % 4) * 4).then(() => (round % 2 === 0 ? a : b).send(new AbortMultipartUploadCommand({ Bucket: 'demo', Key: key, UploadId })))
    const [c1, ab, c2] = await Promise.allSettled([complete(a), abort, complete(b)])
    const completes = [c1, c2].filter(r => r.status === 'fulfilled')
    for (const r of [c1, ab, c2]) if (r.status === 'rejected') t.equal((r.reason as Error).name, 'NoSuchUpload', 'losers get NoSuchUpload')
    const stored = await readObject(a, key)
    if (ab.status === 'fulfilled') {
      outcomes.aborted++
      t.equal(completes.length, 0, 'an abort that won leaves nothing to complete')
      t.ok(stored?.equals(previous), 'the previous object is untouched')
    } else {
      outcomes.completed++
      t.ok(completes.length >= 1, 'a complete won')
      t.ok(stored?.equals(Buffer.concat(bodies)), 'the object is the assembled upload')
    }
    t.same(readdirSync(`${bridge.bucketDir}/.s3bridge/uploads`).filter(n => !n.endsWith('.done')), [], 'no upload folder is left')
  }
  t.equal(outcomes.completed + outcomes.aborted, 8)
  t.comment(`complete won ${outcomes.completed} rounds, abort won ${outcomes.aborted}`)
})

/** Sends UploadPart by hand, signed with UNSIGNED-PAYLOAD, and cuts the connection after half the bytes. */
async function killedPart (bridge: Bridge, key: string, uploadId: string, size: number, uploadDir: string): Promise<boolean> {
  const url = new URL(bridge.endpoint)
  const signer = new SignatureV4({ credentials: bridge.creds, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false })
  const signed = await signer.sign({
    method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: `/demo/${key}`,
    query: { partNumber: '1', uploadId },
    headers: { host: url.host, 'content-length': String(size), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  })
  const req = request({ host: url.hostname, port: url.port, method: 'PUT', path: `/demo/${key}?partNumber=1&uploadId=${uploadId}`, headers: signed.headers })
  req.on('error', () => undefined)
  req.write(randomBytes(size / 2))
  let isStreaming = false
  for (let i = 0; i < 100 && !isStreaming; i++) {
    await sleep(20)
    isStreaming = readdirSync(uploadDir).some(n => n.endsWith('.tmp'))
  }
  req.destroy()
  return isStreaming
}

t.test('a client killed mid-part leaves no temp file and the previous object intact', async t => {
  const bridge = await startBridge(t)
  const s3 = bridge.s3
  const key = 'victim.bin'
  const previous = Buffer.from('the object before the upload')
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: key, Body: previous }))
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: key }))
  const uploadDir = `${bridge.bucketDir}/.s3bridge/uploads/${UploadId}`
  t.ok(await killedPart(bridge, key, UploadId ?? '', 8 * MiB, uploadDir), 'the part was being written when the client died')
  let names = readdirSync(uploadDir)
  for (let i = 0; i < 100 && names.some(n => n.endsWith('.tmp')); i++) {
    await sleep(20)
    names = readdirSync(uploadDir)
  }
  t.same(names, ['upload.json'], 'neither a temp file nor a partial part is left')
  t.ok((await readObject(s3, key))?.equals(previous), 'the previous object is intact')
  const parts = await uploadParts([s3], key, UploadId ?? '', [Buffer.from('retried part')])
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: key, UploadId, MultipartUpload: { Parts: parts } }))
  t.equal((await readObject(s3, key))?.toString(), 'retried part', 'the upload still completes after the retry')
  t.notOk(existsSync(uploadDir))
})

t.test('a client killed mid-Complete leaves either the previous object or the whole new one, never a partial file', async t => {
  const bridge = await startBridge(t)
  const s3 = bridge.s3
  const key = 'completing.bin'
  const previous = Buffer.from('the object before the upload')
  await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: key, Body: previous }))
  const bodies = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(MiB)]
  const whole = Buffer.concat(bodies)
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: key }))
  const parts = await uploadParts([s3], key, UploadId ?? '', bodies)
  const xml = `<CompleteMultipartUpload>${parts.map(p => `<Part><PartNumber>${p.PartNumber}</PartNumber><ETag>${p.ETag ?? ''}</ETag></Part>`).join('')}</CompleteMultipartUpload>`
  const url = new URL(bridge.endpoint)
  const signer = new SignatureV4({ credentials: bridge.creds, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false })
  const signed = await signer.sign({
    method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: `/demo/${key}`,
    query: { uploadId: UploadId ?? '' },
    headers: { host: url.host, 'content-length': String(Buffer.byteLength(xml)), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  })
  const req = request({ host: url.hostname, port: url.port, method: 'POST', path: `/demo/${key}?uploadId=${UploadId ?? ''}`, headers: signed.headers })
  req.on('error', () => undefined)
  req.end(xml)
  // Cut the connection while the server assembles the parts: a reader watching the key must never see a mix.
  const seen: Array<'previous' | 'whole' | 'other'> = []
  for (let i = 0; i < 40; i++) {
    if (i === 2) req.destroy()
    const got = await readObject(s3, key)
    seen.push(got?.equals(previous) ? 'previous' : got?.equals(whole) ? 'whole' : 'other')
    await sleep(10)
  }
  t.notOk(seen.includes('other'), `every read was one whole version (${[...new Set(seen)].join(', ')})`)
  let final: Buffer | undefined
  for (let i = 0; i < 100; i++) {
    final = await readObject(s3, key)
    if (final?.equals(whole)) break
    await sleep(50)
  }
  t.ok(final?.equals(previous) || final?.equals(whole), 'the key holds the previous object or the whole new one')
  t.same(readdirSync(`${bridge.bucketDir}/.s3bridge/tmp`), [], 'no assembly temp file is left')
})
