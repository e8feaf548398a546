// Kept from review 18 (stop 24).
// Review 18: the addon's meta block holds each entry's metadata then its ACL; check many mixed entries (over one
// 256-name job, paged so read-aheads serve later pages) for a group member, with and without the addon.
import t from 'tap'
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, mkdirSync, writeFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'

const md5 = (s: string): string => createHash('md5').update(s).digest('hex')

async function listAll (c: S3Client, max: number): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  let token: string | undefined
  do {
    const r = await c.send(new ListObjectsV2Command({ Bucket: 'rv', Prefix: 'd/', MaxKeys: max, ContinuationToken: token }))
    for (const o of r.Contents ?? []) out[o.Key!] = o.ETag!.replace(/"/g, '')
    token = r.NextContinuationToken
  } while (token !== undefined)
  return out
}

for (const native of [true, false]) {
  t.test(`mixed entries, group viewer (${native ? 'addon' : 'no addon'})`, async t => {
    const saved = process.env.S3BRIDGE_NO_NATIVE_STAT
    if (!native) process.env.S3BRIDGE_NO_NATIVE_STAT = '1'
    t.teardown(() => { if (saved === undefined) delete process.env.S3BRIDGE_NO_NATIVE_STAT; else process.env.S3BRIDGE_NO_NATIVE_STAT = saved })
    const b = await startBridge(t)
    const root = await b.addBucket('rv', 'own', 1301, 1301)
    const own = b.client(await b.addUser('own', 1301, 1310))
    const grp = b.client(await b.addUser('grp', 1303, 1310)) // in the files' group 1310
    await b.daemon.services.state.mutate(s => { s.buckets.rv!.acl.push({ name: 'grp', type: 'user', permission: 'READ' }) })
    const d = join(root, 'd'); mkdirSync(d); chownSync(d, 1301, 1310); chmodSync(d, 0o755)
    await own.send(new PutObjectCommand({ Bucket: 'rv', Key: 'd/seed', Body: 'x' }))
    const expected: Record<string, boolean> = {} // key -> whether grp should see the MD5
    const N = 150
    for (let i = 0; i < N; i++) {
      const name = `f${String(i).padStart(4, '0')}`
      const path = join(d, name)
      const kind = i % 5
      if (kind === 2) { writeFileSync(path, 'x') } else { execFileSync('cp', ['-a', join(d, 'seed'), path]) } // cp -a keeps the stored meta (size+mtime stamp)
      chownSync(path, 1301, 1310)
      if (kind === 0) { chmodSync(path, 0o600); execFileSync('setfacl', ['-m', 'g::r', path]); expected[`d/${name}`] = true }
      if (kind === 1) { chmodSync(path, 0o600); execFileSync('setfacl', ['-m', 'u:1399:r,g::-', path]); expected[`d/${name}`] = false } // mask r, group::---
      if (kind === 2) { chmodSync(path, 0o600); execFileSync('setfacl', ['-m', 'g::r', path]) } // no stored meta: MD5 never shown
      if (kind === 3) { chmodSync(path, 0o644); expected[`d/${name}`] = true }
      if (kind === 4) { chmodSync(path, 0o640); const big = Array.from({ length: 40 }, (_, j) => `u:${20000 + j}:r`).join(','); execFileSync('setfacl', ['-m', `${big},g::-`, path]); expected[`d/${name}`] = false } // a longer ACL
      if (i % 97 === 0) symlinkSync('/etc/passwd', join(d, `${name}-link`))
    }
    execFileSync('cp', ['-a', join(d, 'seed'), join(d, 'zz')]); chmodSync(join(d, 'zz'), 0o600); chownSync(join(d, 'zz'), 1301, 1310) // no ACL, group bits 0
    expected['d/zz'] = false
    for (const max of [1000, 250, 37]) {
      const seen = await listAll(grp, max)
      const bad: string[] = []
      for (const [k, shows] of Object.entries(expected)) {
        const got = seen[k]
        if (got === undefined) { bad.push(`${k}: missing`); continue }
        if (shows !== (got === md5('x'))) bad.push(`${k}: ${got}`)
      }
      for (const [k, e] of Object.entries(seen)) if (expected[k] === undefined && e === md5('x') && k !== 'd/seed') bad.push(`${k}: MD5 on an NFS-written file ${e}`)
      t.same(bad, [], `max-keys ${max}: each file shows the MD5 exactly when the group member may read it`)
    }
  })
}
