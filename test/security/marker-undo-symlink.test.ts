// Kept from review 18 (stop 24). // Review 18: PUT k/ with ACL headers whose ACL step fails runs the undo removeStoredMeta(keyToPath(...)): a path
// call as root (removexattr follows symlinks). An NFS user who may rename in his own folder swaps k with a symlink
// to another user's file; the undo then strips that file's user.s3bridge.meta (ETag, Content-Type, metadata, tags).
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { getAttribute } from '../../lib/storage/xattr.js'

const EXCHANGE = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/exchange_loop.py')

for (const withAcl of [true, false]) t.test(`marker PUT ${withAcl ? 'with' : 'without (control)'} ACL headers while k is swapped with a symlink`, async t => {
  const b = await startBridge(t)
  const root = await b.addBucket('rv', 'own', 1301, 1301)
  const ownCreds = await b.addUser('own', 1301, 1301)
  const malCreds = await b.addUser('mal', 1302, 1302)
  await b.daemon.services.state.mutate(s => { s.buckets.rv!.acl.push({ name: 'mal', type: 'user', permission: 'WRITE' }) })
  const own = b.client(ownCreds)
  const mal = b.client(malCreds)
  chmodSync(root, 0o755)
  // The victim: the owner's object, with metadata. mal may read it, not write it.
  await own.send(new PutObjectCommand({ Bucket: 'rv', Key: 'victim.txt', Body: 'secret-ish', ContentType: 'text/x-victim', Metadata: { keep: 'me' } }))
  const victim = join(root, 'victim.txt')
  t.ok((await getAttribute(victim, 'user.s3bridge.meta')).length > 0, 'victim has metadata')
  // mal's own folder (made over NFS), where he may rename.
  const home = join(root, 'mal')
  mkdirSync(home); chownSync(home, 1302, 1302); chmodSync(home, 0o755)
  const k = join(home, 'k'); mkdirSync(k); chownSync(k, 1302, 1302); chmodSync(k, 0o755)
  const lnk = join(home, 'lnk'); symlinkSync(victim, lnk)
  const stop = join(home, '.stop')
  const child = spawn('python3', [EXCHANGE, k, lnk, stop], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  let hit = -1
  const codes: Record<string, number> = {}
  try {
    for (let i = 0; i < (withAcl ? 150 : 50) && hit < 0; i++) {
      try {
        await mal.send(new PutObjectCommand({ Bucket: 'rv', Key: 'mal/k/', Body: '', ...(withAcl ? { ACL: 'private' as const } : {}) }))
        codes.ok = (codes.ok ?? 0) + 1
      } catch (err) { codes[(err as Error).name] = (codes[(err as Error).name] ?? 0) + 1 }
      // mal, the folder's owner, takes any marker off again over NFS (the undo only runs for a folder not yet marked)
      for (const p of [join(home, 'k'), join(home, 'lnk')]) spawnSync('setfattr', ['-h', '-x', 'user.s3bridge.meta', p]) // -h: never the link's target
      const still = await getAttribute(victim, 'user.s3bridge.meta').then(() => true, () => false)
      if (!still) hit = i
    }
  } finally {
    writeFileSync(stop, '')
    await exited
  }
  t.comment(`attempts: ${JSON.stringify(codes)}; victim meta lost at attempt ${hit}`)
  const head = await own.send(new HeadObjectCommand({ Bucket: 'rv', Key: 'victim.txt' }))
  t.comment(`victim HEAD after: ContentType=${head.ContentType} ETag=${head.ETag} meta=${JSON.stringify(head.Metadata)}`)
  t.equal(hit, -1, 'the victim keeps its metadata (expected); a hit means the daemon stripped it')
})
