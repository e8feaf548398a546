// s3fs-fuse (a client the spec names) mounted on a bucket, driven through the mount as a user would, for what
// sweep 14 found it broke on: a tree made over NFS must be removable with `rm -r` (empty NFS-made folders were
// listed, then unreachable: `??????????`, ENOTEMPTY), an empty NFS folder must not show, and `chmod`/`touch`
// (a metadata copy onto the object itself) must leave a private file private, with its inode, owner and ACL.
// Everything touching the mount runs in child processes: the daemon serving s3fs lives in this process, and a
// synchronous call here would wait for it forever.
import t from 'tap'
import type { Test } from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PutBucketAclCommand } from '@aws-sdk/client-s3'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { assertExitZero, hasProgram, isolatedEnv, runClient, type ClientResult } from '../fixtures/clients/run-client.js'

const S3FS = '/usr/bin/s3fs'

interface Mounted { sh (script: string): Promise<ClientResult>, mnt: string }

async function mount (t: Test, b: Bridge): Promise<Mounted | undefined> {
  if (!hasProgram(S3FS) || !existsSync('/dev/fuse')) {
    t.plan(0, 's3fs or /dev/fuse is missing here')
    return undefined
  }
  const work = join(b.dir, 's3fs')
  const mnt = join(work, 'mnt')
  mkdirSync(mnt, { recursive: true })
  const passwd = join(work, 'passwd')
  writeFileSync(passwd, `${b.creds.accessKeyId}:${b.creds.secretAccessKey}\n`, { mode: 0o600 })
  const env = isolatedEnv(work)
  const child = spawn(S3FS, ['demo', mnt, '-f', '-o', `url=${b.endpoint},use_path_request_style,passwd_file=${passwd},sigv4,endpoint=us-east-1,stat_cache_expire=1,retries=1`], { env, stdio: 'ignore' })
  const sh = (script: string): Promise<ClientResult> => runClient('/bin/sh', ['-c', script], { env, cwd: work, timeoutMs: 60_000 })
  t.teardown(async () => {
    await sh(`fusermount -u '${mnt}' || umount -l '${mnt}'`)
    child.kill()
  })
  for (let i = 0; i < 100; i++) {
    if ((await sh(`mountpoint -q '${mnt}'`)).code === 0) return { sh, mnt }
    if (child.exitCode !== null) break
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  t.plan(0, `s3fs did not mount (exit ${String(child.exitCode)})`)
  return undefined
}

t.test('s3fs: trees made over NFS, empty NFS folders, chmod and touch of a private file', async t => {
  const b = await startBridge(t)
  const m = await mount(t, b)
  if (m === undefined) return
  const own = (p: string): void => { chownSync(p, 2000, 2000) }
  const dir = (...parts: string[]): string => {
    for (let i = 1; i <= parts.length; i++) {
      const p = join(b.bucketDir, ...parts.slice(0, i))
      if (!existsSync(p)) { mkdirSync(p); own(p) } // the NFS user's own folders, every level
    }
    return join(b.bucketDir, ...parts)
  }

  // Written and read back through the mount.
  assertExitZero(t, await m.sh(`printf 'via s3fs' > '${m.mnt}/hello.txt' && cat '${m.mnt}/hello.txt'`), 'write and read')

  // A tree an NFS user made, without folder markers: listed, then removed whole with rm -r.
  dir('nfsdir', 'sub', 'deeper')
  for (const f of ['nfsdir/n1.txt', 'nfsdir/sub/deeper/n2.txt']) { writeFileSync(join(b.bucketDir, f), f); own(join(b.bucketDir, f)) }
  dir('emptynfs')
  const ls = await m.sh(`ls -1 '${m.mnt}'`)
  assertExitZero(t, ls, 'ls')
  t.same(ls.stdout.split('\n').filter(Boolean).sort(), ['hello.txt', 'nfsdir'], 'the empty NFS folder is not shown')
  assertExitZero(t, await m.sh(`find '${m.mnt}' > /dev/null`), 'find over the whole mount')
  assertExitZero(t, await m.sh(`rm -r '${m.mnt}/nfsdir'`), 'rm -r of a tree made over NFS')
  t.notOk(existsSync(join(b.bucketDir, 'nfsdir', 'n1.txt')), 'its files are gone')
  t.notOk((await m.sh(`ls -1 '${m.mnt}'`)).stdout.includes('nfsdir'), 'and it is no longer shown')

  // A private file with a POSIX ACL, made over NFS: chmod and touch through s3fs keep it as it is.
  await b.s3.send(new PutBucketAclCommand({ Bucket: 'demo', ACL: 'public-read' }))
  dir('perm')
  const file = join(b.bucketDir, 'perm', 'payroll.txt')
  writeFileSync(file, 'payroll')
  own(file)
  chmodSync(file, 0o640)
  t.equal(spawnSync('setfacl', ['-m', 'u:2001:r', file]).status, 0, 'setfacl')
  const before = statSync(file)
  const acl = (): string => spawnSync('getfacl', ['-cp', file], { encoding: 'utf8' }).stdout
  const aclBefore = acl()
  assertExitZero(t, await m.sh(`chmod 600 '${m.mnt}/perm/payroll.txt' && touch '${m.mnt}/perm/payroll.txt'`), 'chmod and touch')
  const after = statSync(file)
  t.equal(after.ino, before.ino, 'the same inode')
  t.equal(after.mode, before.mode, 'the same mode on disk')
  t.equal(after.uid, before.uid, 'the same owner')
  t.equal(acl(), aclBefore, 'the same ACL')
  const anon = await fetch(`${b.endpoint}/demo/perm/payroll.txt`)
  t.equal(anon.status, 403, 'still not readable anonymously')
  assertExitZero(t, await m.sh(`cat '${m.mnt}/perm/payroll.txt'`), 'still readable by its owner through the mount')
})
