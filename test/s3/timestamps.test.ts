// Times in S3 XML have one-second resolution, like AWS and like the Last-Modified header of the same object.
import t from 'tap'
import { utimesSync } from 'node:fs'
import { join } from 'node:path'
import { CreateMultipartUploadCommand, HeadObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { sendSigned } from '../fixtures/clients/raw-request.js'

// 2023-11-14T22:13:20.274Z: a file time with milliseconds, as files written over NFS have.
const FRACTIONAL_MTIME_S = 1_700_000_000.274

const timesIn = (xml: string, name: string): string[] => [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map(m => m[1]!)

t.test('LastModified in listings is whole seconds and equals the Last-Modified header', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'f.txt', Body: 'x' }))
  utimesSync(join(b.bucketDir, 'f.txt'), FRACTIONAL_MTIME_S, FRACTIONAL_MTIME_S)
  const head = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'f.txt' }))
  t.equal(head.LastModified?.toISOString(), '2023-11-14T22:13:20.000Z')
  for (const query of ['', '?list-type=2', '?versions']) {
    const r = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/demo' + query })
    t.equal(r.status, 200, query)
    t.same(timesIn(r.body, 'LastModified'), ['2023-11-14T22:13:20.000Z'], `GET /demo${query}`)
  }
})

t.test('CopyObject, UploadPartCopy, ListParts and ListMultipartUploads render whole-second times', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'src', Body: 'x' }))
  const copy = await sendSigned(b.endpoint, b.creds, { method: 'PUT', path: '/demo/dst', headers: { 'x-amz-copy-source': '/demo/src' } })
  t.equal(copy.status, 200)
  const { UploadId } = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp' }))
  await b.s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'mp', UploadId, PartNumber: 1, Body: 'part' }))
  const partCopy = await sendSigned(b.endpoint, b.creds, {
    method: 'PUT', path: `/demo/mp?partNumber=2&uploadId=${UploadId!}`, headers: { 'x-amz-copy-source': '/demo/src' },
  })
  t.equal(partCopy.status, 200)
  const parts = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: `/demo/mp?uploadId=${UploadId!}` })
  const uploads = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/demo?uploads' })
  const times = [
    ...timesIn(copy.body, 'LastModified'), ...timesIn(partCopy.body, 'LastModified'),
    ...timesIn(parts.body, 'LastModified'), ...timesIn(uploads.body, 'Initiated'),
  ]
  t.equal(times.length, 5, 'one time per result, two parts, one upload')
  for (const time of times) t.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/)
})

t.test('an mtime past 2262 (beyond int64 nanoseconds) is not wrapped into the past', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'future.txt', Body: 'x' }))
  // 2400-01-01, which ext4 and tmpfs store; an NFS user's `touch -d` can set it.
  utimesSync(join(b.bucketDir, 'future.txt'), 13_569_465_600, 13_569_465_600)
  const head = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'future.txt' }))
  t.ok(head.LastModified!.getUTCFullYear() >= 2262, `HEAD: ${head.LastModified?.toISOString()}`)
  const r = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/demo?list-type=2' })
  const listed = timesIn(r.body, 'LastModified')
  t.equal(listed.length, 1)
  t.ok(Number(listed[0]!.slice(0, 4)) >= 2262, `listing: ${listed[0]}`)
  // The addon clamps such times to int64 nanoseconds and Node's own stat does not: the ETag derived from the mtime
  // (the file changed since its MD5) and Last-Modified must not depend on which of the two read the file.
  process.env.S3BRIDGE_NO_NATIVE_STAT = '1'
  t.teardown(() => { delete process.env.S3BRIDGE_NO_NATIVE_STAT })
  const plain = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'future.txt' }))
  delete process.env.S3BRIDGE_NO_NATIVE_STAT
  t.equal(plain.ETag, head.ETag, 'the same ETag through either stat')
  t.equal(plain.LastModified?.getTime(), head.LastModified?.getTime(), 'the same Last-Modified')
})
