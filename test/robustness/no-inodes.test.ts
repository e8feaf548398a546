// A filesystem out of inodes: a PUT whose folders cannot all be made answers 507 naming the key it was sent, and
// the folders it did make are removed again (they showed as prefixes, and "p/q/r/s/x" was named for "p/q/r/s/").
import t from 'tap'
import { chownSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { mountTmpfs } from '../fixtures/mounts.js'

t.test('a PUT that runs out of inodes leaves no folders behind and names its own key', async t => {
  const b = await startBridge(t)
  const dir = join(b.dir, 'tiny')
  mkdirSync(dir)
  if (!mountTmpfs(t, dir, 'size=4m,nr_inodes=64')) return
  chownSync(dir, 2000, 2000)
  await b.daemon.services.state.mutate(s => { s.buckets.tiny = { name: 'tiny', path: dir, owner: 'tester', createdAt: new Date().toISOString(), createdByS3: false, acl: [], objectAclPolicy: 'replace' } })
  await b.s3.send(new PutObjectCommand({ Bucket: 'tiny', Key: 'first', Body: 'x' })) // makes the staging folders
  const fill = join(dir, 'fill')
  mkdirSync(fill)
  let n = 0
  try {
    for (;;) writeFileSync(join(fill, String(n++)), '')
  } catch { /* out of inodes */ }
  const free = (count: number): void => { for (let i = 0; i < count; i++) rmSync(join(fill, String(--n - 1)), { force: true }) }
  const insufficient = { name: 'InsufficientStorage', $metadata: { httpStatusCode: 507 } }

  free(2) // the staged file and one folder: the second folder fails
  const put = b.s3.send(new PutObjectCommand({ Bucket: 'tiny', Key: 'm/n/o/file', Body: 'data' }))
  await t.rejects(put, insufficient)
  await put.catch((err: { Key?: string }) => { t.equal(err.Key, 'm/n/o/file', 'the key sent') })
  t.same(readdirSync(dir).sort(), ['.s3bridge', 'fill', 'first'], 'no folder left from it')

  // The failed PUT gave back its two inodes: two folders of the marker's three.
  const marker = b.s3.send(new PutObjectCommand({ Bucket: 'tiny', Key: 'p/q/r/', Body: '' }))
  await t.rejects(marker, insufficient)
  await marker.catch((err: { Key?: string }) => { t.equal(err.Key, 'p/q/r/', 'the marker\'s own key, not p/q/r/x') })
  t.same(readdirSync(dir).sort(), ['.s3bridge', 'fill', 'first'])
  const listed = await b.s3.send(new ListObjectsV2Command({ Bucket: 'tiny', Delimiter: '/' }))
  t.same(listed.CommonPrefixes?.map(p => p.Prefix), ['fill/'], 'no phantom prefixes')
})
