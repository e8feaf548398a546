// FIFOs, sockets, devices and symlinks made over NFS are invisible to S3 (never listed, never read) and are not
// replaced by an object PUT, copied or completed at their name: that destroyed them, even with If-None-Match: *.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { lstatSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'

const conflict = { name: 'InvalidRequest', message: /conflicts with an existing directory or file/, $metadata: { httpStatusCode: 400 } }

for (const native of [true, false]) {
  t.test(`PUT, CopyObject and CompleteMultipartUpload leave special files alone (${native ? 'addon' : 'no addon'})`, async t => {
    if (!native) {
      process.env.S3BRIDGE_NO_NATIVE_STAT = '1'
      t.teardown(() => { delete process.env.S3BRIDGE_NO_NATIVE_STAT })
    }
    const b = await startBridge(t)
    const fifo = join(b.bucketDir, 'fifo')
    const dev = join(b.bucketDir, 'null-dev')
    const link = join(b.bucketDir, 'dangling')
    execFileSync('mkfifo', [fifo])
    execFileSync('mknod', [dev, 'c', '1', '3'])
    execFileSync('chown', ['2000:2000', fifo, dev])
    symlinkSync('nowhere', link)
    await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'src.txt', Body: 'source' }))
    await t.rejects(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'fifo', Body: 'x' })), conflict)
    await t.rejects(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'fifo', Body: 'x', IfNoneMatch: '*' })), conflict)
    await t.rejects(b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'null-dev', CopySource: 'demo/src.txt' })), conflict)
    const { UploadId } = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'fifo' }))
    const part = await b.s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'fifo', UploadId, PartNumber: 1, Body: 'part' }))
    await t.rejects(b.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'fifo', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } })), conflict)
    t.ok(lstatSync(fifo).isFIFO(), 'still a FIFO')
    t.ok(lstatSync(dev).isCharacterDevice(), 'still a device')
    t.ok(lstatSync(link).isSymbolicLink(), 'still a symlink')
    const put = await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'plain', Body: 'ok' }))
    t.equal(put.$metadata.httpStatusCode, 200, 'other keys are written as ever')
  })
}
