// Review 19: gaps around e63847a's create-only publish: folder markers (a create-only mark is set with XATTR_CREATE),
// the create-only Complete that loses, a folder in the way.
import t from 'tap'
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListPartsCommand, PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3'
import { mkdirSync, chownSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge } from '../fixtures/daemon.js'

t.test('eight create-only PUTs of one new folder marker: exactly one wins', async t => {
  const b = await startBridge(t)
  let bad = 0
  for (let round = 0; round < 10; round++) {
    const key = `m${round}/`
    const results = await Promise.allSettled(Array.from({ length: 8 }, () =>
      b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: key, Body: '', IfNoneMatch: '*' }))))
    const won = results.filter(r => r.status === 'fulfilled').length
    if (won !== 1) bad++
  }
  t.equal(bad, 0, 'every round has exactly one winner (AWS: one 200, the rest 412)')
})

t.test('a create-only PUT where a folder of that name exists: same error as without If-None-Match', async t => {
  const b = await startBridge(t)
  mkdirSync(join(b.bucketDir, 'dir'))
  chownSync(join(b.bucketDir, 'dir'), 2000, 2000)
  const plain = await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'dir', Body: 'x' })).then(() => 'ok', (e: Error) => e.name)
  const guarded = await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'dir', Body: 'x', IfNoneMatch: '*' })).then(() => 'ok', (e: Error) => e.name)
  t.equal(guarded, plain, `If-None-Match: * over a folder answers ${plain} too (got ${guarded})`)
})

t.test('a create-only Complete that loses with 412 leaves the upload listable, completable and abortable, no temp file', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'k', Body: 'first' }))
  const up = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'k' }))
  const part = await b.s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'k', UploadId: up.UploadId, PartNumber: 1, Body: 'multi' }))
  const c = await b.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'k', UploadId: up.UploadId, IfNoneMatch: '*', MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } })).then(() => 'ok', (e: Error) => e.name)
  t.equal(c, 'PreconditionFailed')
  const parts = await b.s3.send(new ListPartsCommand({ Bucket: 'demo', Key: 'k', UploadId: up.UploadId }))
  t.equal(parts.Parts?.length, 1, 'the upload still has its part')
  t.same(readdirSync(join(b.bucketDir, '.s3bridge', 'uploads')).filter(n => n.includes('.completing')), [], 'no lock folder left')
  await b.s3.send(new AbortMultipartUploadCommand({ Bucket: 'demo', Key: 'k', UploadId: up.UploadId }))
  t.pass('abortable')
})
