// A folder inside a bucket that is another filesystem (a ZFS dataset, a btrfs subvolume, a bind mount) takes
// writes like any other: rename(2) cannot cross filesystems, so the bridge publishes through a copy made next to
// the key (interop and admin sweeps: every PUT there answered 500).
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { chownSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, GetObjectCommand, ListObjectsV2Command,
  PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'

t.test('PUT, Copy, Complete and new folders inside a mount within the bucket', async t => {
  const b = await startBridge(t)
  const mnt = join(b.bucketDir, 'dataset')
  mkdirSync(mnt)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt], { stdio: 'pipe' })
  } catch (err) {
    t.plan(0, `cannot mount a tmpfs: ${(err as Error).message.split('\n')[0]}`)
    return
  }
  t.teardown(() => { try { execFileSync('umount', ['-l', mnt], { stdio: 'pipe' }) } catch {} })
  chownSync(mnt, 2000, 2000)
  t.not(statSync(mnt).dev, statSync(b.bucketDir).dev, 'another filesystem')
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'dataset/a.txt', Body: 'first', Metadata: { k: 'v' } }))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'dataset/a.txt', Body: 'second' })) // an overwrite
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'dataset/new/deep/b.txt', Body: 'bee' }))
  await b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'dataset/copy.txt', CopySource: 'demo/dataset/a.txt' }))
  const { UploadId } = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'dataset/mp.bin' }))
  const part = await b.s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'dataset/mp.bin', UploadId, PartNumber: 1, Body: 'multi' }))
  await b.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'dataset/mp.bin', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }))
  t.equal(readFileSync(join(mnt, 'a.txt'), 'utf8'), 'second')
  t.equal(readFileSync(join(mnt, 'new/deep/b.txt'), 'utf8'), 'bee')
  t.equal(readFileSync(join(mnt, 'copy.txt'), 'utf8'), 'second')
  t.equal(readFileSync(join(mnt, 'mp.bin'), 'utf8'), 'multi')
  for (const f of ['a.txt', 'new', 'new/deep', 'new/deep/b.txt', 'mp.bin']) t.equal(statSync(join(mnt, f)).uid, 2000, `${f} belongs to the writer`)
  const got = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'dataset/mp.bin' }))
  t.match(got.ETag, /-1"$/, 'the multipart ETag was stored on the published copy')
  t.same(readdirSync(mnt).sort(), ['a.txt', 'copy.txt', 'mp.bin', 'new'], 'no temp file or folder left in the mount')
  t.same(readdirSync(join(b.bucketDir, '.s3bridge', 'tmp')), [], 'nor in staging')
  const listed = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo', Prefix: 'dataset/' }))
  t.same(listed.Contents?.map(c => c.Key), ['dataset/a.txt', 'dataset/copy.txt', 'dataset/mp.bin', 'dataset/new/deep/b.txt'])
})
