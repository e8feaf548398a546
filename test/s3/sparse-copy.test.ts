// A sparse file an NFS user made (a VM image, a database file) copied by CopyObject or UploadPartCopy keeps its
// holes: the copy allocates what the source holds, not its apparent size, which could fill the filesystem.
import t from 'tap'
import { createHash } from 'node:crypto'
import { closeSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, UploadPartCopyCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { kernelCopyAddon } from '../../lib/storage/kernel-copy.js'

const MiB = 1024 * 1024

t.test('CopyObject and UploadPartCopy of a sparse file keep its holes', { skip: kernelCopyAddon() == null && 'addon not built' }, async t => {
  const b = await startBridge(t)
  const src = join(b.bucketDir, 'disk.img')
  writeFileSync(src, '')
  truncateSync(src, 64 * MiB)
  const fd = openSync(src, 'r+')
  writeSync(fd, Buffer.alloc(MiB, 0x5a), 0, MiB, 20 * MiB)
  closeSync(fd)
  const md5 = (p: string): string => createHash('md5').update(readFileSync(p)).digest('hex')
  await b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'copy.img', CopySource: 'demo/disk.img' }))
  const copy = join(b.bucketDir, 'copy.img')
  t.equal(statSync(copy).size, 64 * MiB)
  t.equal(md5(copy), md5(src), 'same bytes')
  t.ok(statSync(copy).blocks * 512 < 8 * MiB, `CopyObject allocated ${statSync(copy).blocks * 512} bytes`)
  const { UploadId } = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'parts.img' }))
  const Parts = []
  for (const [n, range] of [[1, 'bytes=0-33554431'], [2, 'bytes=33554432-67108863']] as const) {
    const r = await b.s3.send(new UploadPartCopyCommand({ Bucket: 'demo', Key: 'parts.img', UploadId, PartNumber: n, CopySource: 'demo/disk.img', CopySourceRange: range }))
    Parts.push({ PartNumber: n, ETag: r.CopyPartResult!.ETag })
  }
  await b.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'parts.img', UploadId, MultipartUpload: { Parts } }))
  const parts = join(b.bucketDir, 'parts.img')
  t.equal(md5(parts), md5(src), 'same bytes')
  t.ok(statSync(parts).blocks * 512 < 8 * MiB, `UploadPartCopy + Complete allocated ${statSync(parts).blocks * 512} bytes`)
})
