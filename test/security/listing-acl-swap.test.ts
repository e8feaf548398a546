// Kept from review 18 (stop 24).
// Review 18: the listing reads a file's stat, then its metadata, then its ACL, each by name. A group member who may
// rename in the folder exchanges the victim's file (group::--- in its ACL, mask r: the mode shows g+r) with his own
// file that has no ACL: a listing that stat'ed and read the metadata of the victim and then reads the ACL of his
// file judges the victim by its mode bits alone and shows him its MD5.
import t from 'tap'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'

const EXCHANGE = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/exchange_loop.py')
const md5 = (s: string): string => createHash('md5').update(s).digest('hex')

for (const native of [true, false]) {
  t.test(`ACL read of another inode than the one stat'ed (${native ? 'addon' : 'no addon'})`, async t => {
    const saved = process.env.S3BRIDGE_NO_NATIVE_STAT
    if (!native) process.env.S3BRIDGE_NO_NATIVE_STAT = '1'
    t.teardown(() => { if (saved === undefined) delete process.env.S3BRIDGE_NO_NATIVE_STAT; else process.env.S3BRIDGE_NO_NATIVE_STAT = saved })
    const b = await startBridge(t)
    const root = await b.addBucket('rv', 'own', 1301, 1310)
    chmodSync(root, 0o755)
    const own = b.client(await b.addUser('own', 1301, 1310))
    const mal = b.client(await b.addUser('mal', 1302, 1310)) // in the group 1310
    await b.daemon.services.state.mutate(s => { s.buckets.rv!.acl.push({ name: 'mal', type: 'user', permission: 'READ' }) })
    const d = join(root, 'g'); mkdirSync(d); chownSync(d, 1301, 1310); chmodSync(d, 0o2770) // the group's shared folder
    await own.send(new PutObjectCommand({ Bucket: 'rv', Key: 'g/pin', Body: '4711' }))
    const pin = join(d, 'pin'); chownSync(pin, 1301, 1310); chmodSync(pin, 0o600)
    execFileSync('setfacl', ['-m', 'u:1399:r,g::-', pin]) // mode shows 0640 (mask r); the group may not read
    const mine = join(d, 'mine'); writeFileSync(mine, 'zz'); chownSync(mine, 1302, 1310); chmodSync(mine, 0o640)
    const first = await mal.send(new ListObjectsV2Command({ Bucket: 'rv', Prefix: 'g/' }))
    t.notOk(first.Contents?.some(o => o.ETag === `"${md5('4711')}"`), 'not shown without a race')
    const stop = join(root, '.stop')
    const child = spawn('python3', [EXCHANGE, pin, mine, stop], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
    let leaks = 0; let n = 0
    const until = Date.now() + 6000
    try {
      while (Date.now() < until && leaks === 0) {
        n++
        const r = await mal.send(new ListObjectsV2Command({ Bucket: 'rv', Prefix: 'g/' }))
        if (r.Contents?.some(o => o.ETag === `"${md5('4711')}"`)) leaks++
      }
    } finally {
      writeFileSync(stop, '')
      await exited
    }
    t.comment(`${n} listings, MD5 of the pin shown to mal in ${leaks}`)
    t.equal(leaks, 0, 'expected: never')
  })
}
