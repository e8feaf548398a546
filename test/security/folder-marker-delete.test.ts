// Kept from review 18 (stop 24).
// Review 18: DELETE k/ after 35df793 ('unmark').
import t from 'tap'
import { chmodSync, chownSync, mkdirSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DeleteObjectCommand, DeleteObjectsCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { getAttribute } from '../../lib/storage/xattr.js'

t.test('DELETE k/ semantics', async t => {
  const b = await startBridge(t)
  const root = await b.addBucket('rv', 'own', 1301, 1301)
  chmodSync(root, 0o755)
  const own = b.client(await b.addUser('own', 1301, 1301))
  const bob = b.client(await b.addUser('bob', 1303, 1303))
  const mal = b.client(await b.addUser('mal', 1302, 1302))
  await b.daemon.services.state.mutate(s => { s.buckets.rv!.acl.push({ name: 'authenticated', type: 'wellknown', permission: 'FULL_CONTROL' }) })

  // 1. A file "f": "f/" names no object, so its DELETE is the 204 of a missing key (as before 35df793).
  await own.send(new PutObjectCommand({ Bucket: 'rv', Key: 'f', Body: 'x' }))
  const r1 = await own.send(new DeleteObjectCommand({ Bucket: 'rv', Key: 'f/' })).then(r => String(r.$metadata.httpStatusCode), (e: Error) => e.name)
  t.comment(`DELETE f/ -> ${r1}`)
  t.equal(r1, '204', 'DELETE f/ where f is a file: 204 expected')
  const r1b = await own.send(new DeleteObjectsCommand({ Bucket: 'rv', Delete: { Objects: [{ Key: 'f/' }] } }))
  t.comment(`DeleteObjects f/ -> ${JSON.stringify(r1b.Errors ?? r1b.Deleted)}`)
  t.same({ deleted: r1b.Deleted?.map(d => d.Key), errors: r1b.Errors?.map(e => e.Code) }, { deleted: ['f/'], errors: undefined }, 'DeleteObjects f/: Deleted expected')
  t.ok(existsSync(join(root, 'f')), 'the file stays')

  // 2. Sticky shared folder: bob's marker folder, world-writable; mal may unmark (as setfattr -x would let him) but not remove it.
  const st = join(root, 'st'); mkdirSync(st); chownSync(st, 1301, 1301); chmodSync(st, 0o1777)
  await bob.send(new PutObjectCommand({ Bucket: 'rv', Key: 'st/b/', Body: '' }))
  chmodSync(join(st, 'b'), 0o777)
  const r2 = await mal.send(new DeleteObjectCommand({ Bucket: 'rv', Key: 'st/b/' })).then(r => String(r.$metadata.httpStatusCode), (e: Error) => e.name)
  t.equal(r2, '204', 'mal may unmark a folder he may write')
  t.ok(existsSync(join(st, 'b')), 'but the sticky parent keeps bob\'s folder')
  // 3. bob's folder 0755 in the sticky folder: mal may neither unmark nor remove it.
  await bob.send(new PutObjectCommand({ Bucket: 'rv', Key: 'st/c/', Body: '' }))
  const r3 = await mal.send(new DeleteObjectCommand({ Bucket: 'rv', Key: 'st/c/' })).then(r => String(r.$metadata.httpStatusCode), (e: Error) => e.name)
  t.equal(r3, 'AccessDenied')
  t.ok(await getAttribute(join(st, 'c'), 'user.s3bridge.meta').then(() => true, () => false), 'c stays marked')
  // 4. A sticky folder itself (1777, bob's): only bob may unmark it.
  await bob.send(new PutObjectCommand({ Bucket: 'rv', Key: 'st/d/', Body: '' }))
  chmodSync(join(st, 'd'), 0o1777)
  const r4 = await mal.send(new DeleteObjectCommand({ Bucket: 'rv', Key: 'st/d/' })).then(r => String(r.$metadata.httpStatusCode), (e: Error) => e.name)
  t.equal(r4, 'AccessDenied')
  // 5. A folder made over NFS by bob in a folder mal may write (not sticky): mal may not remove it and, without write on it, not unmark it.
  const op = join(root, 'op'); mkdirSync(op); chownSync(op, 1301, 1301); chmodSync(op, 0o777)
  const e = join(op, 'e'); mkdirSync(e); chownSync(e, 1303, 1303); chmodSync(e, 0o755)
  await bob.send(new PutObjectCommand({ Bucket: 'rv', Key: 'op/e/', Body: '' }))
  const r5 = await mal.send(new DeleteObjectCommand({ Bucket: 'rv', Key: 'op/e/' })).then(r => String(r.$metadata.httpStatusCode), (e: Error) => e.name)
  t.equal(r5, 'AccessDenied')
  t.ok(existsSync(e))
  await t.resolves(bob.send(new HeadObjectCommand({ Bucket: 'rv', Key: 'op/e/' })))
})
