// A folder inside a bucket that is another filesystem (a ZFS dataset, a btrfs subvolume, a bind mount): reads and
// listings work; writes cannot be renamed into place across filesystems and are refused with a clear 501, leaving
// nothing behind (they answered a bare 500 InternalError). docs/design.md says why and what a fix needs.
import t from 'tap'
import { chownSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CopyObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { mountTmpfs } from '../fixtures/mounts.js'

t.test('writes into a mount within the bucket are 501 NotImplemented; reads and listings work', async t => {
  const b = await startBridge(t)
  const mnt = join(b.bucketDir, 'dataset')
  mkdirSync(mnt)
  if (!mountTmpfs(t, mnt, 'size=16m')) return
  chownSync(mnt, 2000, 2000)
  t.not(statSync(mnt).dev, statSync(b.bucketDir).dev, 'another filesystem')
  writeFileSync(join(mnt, 'nfs.txt'), 'made over nfs')
  const got = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'dataset/nfs.txt' }))
  t.equal(await got.Body?.transformToString(), 'made over nfs')
  t.same((await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo', Prefix: 'dataset/' }))).Contents?.map(c => c.Key), ['dataset/nfs.txt'])
  const refused = { name: 'NotImplemented', message: /another filesystem mounted inside the bucket/, $metadata: { httpStatusCode: 501 } }
  await t.rejects(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'dataset/a.txt', Body: 'x' })), refused)
  await t.rejects(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'dataset/new/b.txt', Body: 'x' })), refused)
  await t.rejects(b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'dataset/c.txt', CopySource: 'demo/dataset/nfs.txt' })), refused)
  t.same(readdirSync(mnt), ['nfs.txt'], 'nothing left in the mount')
  t.same(readdirSync(join(b.bucketDir, '.s3bridge', 'tmp')), [], 'nor in staging')
})
