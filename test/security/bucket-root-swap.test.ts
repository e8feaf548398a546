// A bucket's directory is named by a path, and the daemon (root) opens it by that path. Whoever may change a folder
// above it can rename the directory away and put a symlink in its place: an NFS user owning /nas/home/alice, with
// a bucket at /nas/home/alice/share, made `share -> /etc`, and GET /share/passwd answered the host's /etc/passwd
// (walkthrough 23). So a bucket whose parent folders someone other than root may change is refused: bridgectl
// will not map it, and the daemon answers 503 for one already mapped, as for a missing filesystem.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { bridgectl } from '../fixtures/bridgectl.js'
import { swappableParent } from '../../lib/storage/bucket-roots.js'
import { bootstrapDemo } from '../../lib/daemon/bootstrap.js'
import { parseConfig } from '../../lib/config/schema.js'
import { StateStore } from '../../lib/state/store.js'

/** A bucket at `path` (made, with a.txt in it, owned by uid 2000), mapped straight into the state. */
async function mapBucket (b: Bridge, name: string, path: string): Promise<void> {
  mkdirSync(path, { recursive: true })
  chownSync(path, 2000, 2000)
  writeFileSync(join(path, 'a.txt'), 'inside')
  chownSync(join(path, 'a.txt'), 2000, 2000)
  await b.daemon.services.state.mutate(s => {
    s.buckets[name] = { name, path, owner: 'tester', createdAt: new Date().toISOString(), createdByS3: false, acl: [], objectAclPolicy: 'replace' }
  })
}

/** Past the 250 ms a fine verdict is reused for (BucketRoots): root's own change shows after it. */
const afterVerdict = (): Promise<void> => new Promise(resolve => setTimeout(resolve, 300))

async function status (b: Bridge, bucket: string, key = 'a.txt'): Promise<number | undefined> {
  try {
    const r = await b.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    await r.Body?.transformToString()
    return r.$metadata.httpStatusCode
  } catch (err) {
    return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
  }
}

t.test('a bucket under a folder a user owns is refused, and a symlink swapped in serves nothing', async t => {
  const b = await startBridge(t)
  const home = join(b.dir, 'nas', 'home-alice')
  mkdirSync(home, { recursive: true })
  chownSync(home, 1001, 1001)
  await mapBucket(b, 'share', join(home, 'share'))
  t.equal(await status(b, 'share'), 503, 'refused while uid 1001 may replace its directory')
  t.ok(b.logLines.some(l => l.includes('bucket share is unavailable') && l.includes(`${home} above it can be changed by its owner uid 1001`)), 'the log says why')
  // The attack itself, as uid 1001 over NFS would do it: nothing of /etc is served.
  execFileSync('setpriv', ['--reuid', '1001', '--regid', '1001', '--clear-groups', 'sh', '-c', `mv '${join(home, 'share')}' '${join(home, 'old')}' && ln -s /etc '${join(home, 'share')}'`])
  t.equal(await status(b, 'share', 'passwd'), 503, '/etc/passwd through the swapped symlink: refused')
  await t.rejects(b.s3.send(new ListObjectsV2Command({ Bucket: 'share' })), { name: 'ServiceUnavailable' }, 'and no listing of /etc')

  // Once only root may change the folder, the same bucket is served (a symlink in its place is still refused).
  renameSync(join(home, 'share'), join(home, 'symlink'))
  renameSync(join(home, 'old'), join(home, 'share'))
  chownSync(home, 0, 0)
  chmodSync(home, 0o755)
  t.equal(await status(b, 'share'), 200, 'served once the folder above is root\'s and not writable by others')
  renameSync(join(home, 'share'), join(home, 'old'))
  symlinkSync(join(home, 'old'), join(home, 'share'))
  await afterVerdict()
  t.equal(await status(b, 'share'), 200, 'a symlink only root could have put there is followed, as root\'s own folder would be')
  chownSync(home, 1001, 1001)
  await afterVerdict()
  t.equal(await status(b, 'share'), 503, 'the same link in a folder uid 1001 may change: refused')
  chownSync(home, 0, 0)
  execFileSync('chown', ['-h', '1001:1001', join(home, 'share')])
  await afterVerdict()
  t.equal(await status(b, 'share'), 503, 'a link uid 1001 owns: refused')
  t.ok(b.logLines.some(l => l.includes(`${join(home, 'share')} is a symlink that uid 1001 could have put there`)))
})

t.test('group and world write bits above the bucket count; a sticky folder holding a root-owned name does not', async t => {
  const b = await startBridge(t)
  const group = join(b.dir, 'nas', 'team')
  mkdirSync(group, { recursive: true })
  chownSync(group, 0, 1001)
  chmodSync(group, 0o775)
  await mapBucket(b, 'team', join(group, 'bucket'))
  t.equal(await status(b, 'team'), 503, 'group 1001 may write the folder above: refused')
  chownSync(group, 0, 0)
  t.equal(await status(b, 'team'), 200, 'root\'s own group: served')

  const sticky = join(b.dir, 'nas', 'scratch')
  mkdirSync(sticky, { recursive: true })
  chmodSync(sticky, 0o1777)
  await mapBucket(b, 'mine', join(sticky, 'mine'))
  t.equal(await status(b, 'mine'), 503, 'a sticky folder holding a name uid 2000 owns: uid 2000 may rename it, refused')
  chownSync(join(sticky, 'mine'), 0, 0)
  chmodSync(join(sticky, 'mine'), 0o777)
  t.equal(await status(b, 'mine'), 200, 'a root-owned name in a sticky folder cannot be renamed by others: served')
  chmodSync(sticky, 0o777)
  await afterVerdict()
  t.equal(await status(b, 'mine'), 503, 'the same folder without its sticky bit: refused')
})

t.test('bridgectl buckets create refuses such a directory and says what to do', async t => {
  const b = await startBridge(t)
  const home = join(b.dir, 'nas', 'home-bob')
  mkdirSync(join(home, 'share'), { recursive: true })
  chownSync(home, 1002, 1002)
  const r = await bridgectl(b, 'buckets', 'create', 'bobshare', join(home, 'share'), '--owner', 'tester')
  t.not(r.code, 0, 'refused')
  t.match(r.stderr, /above it can be changed by its owner uid 1002, who could put another directory or a symlink in place/)
  t.match(r.stderr, /chown root and chmod go-w them, or map a folder higher up/)
  t.notOk(b.daemon.services.state.snapshot().buckets.bobshare, 'not mapped')
  chownSync(home, 0, 0)
  const made = await bridgectl(b, 'buckets', 'create', 'bobshare', join(home, 'share'), '--owner', 'tester')
  t.equal(made.code, 0, 'mapped once only root may change the folders above')
  // The directory is root's 0755: its owner's uploads would all be 403, which bridgectl says (walkthrough 23 #9).
  t.match(made.stdout, /note: .* tester \(uid 2000\) may not write in it/)
  chownSync(join(home, 'share'), 2000, 2000)
  const mine = await bridgectl(b, 'buckets', 'create', 'bobshare2', join(b.dir, 'nas', 'home-bob', 'share'), '--owner', 'tester')
  t.equal(mine.code, 1, 'one directory, one bucket')
  mkdirSync(join(home, 'other'))
  chownSync(join(home, 'other'), 2000, 2000)
  const other = await bridgectl(b, 'buckets', 'create', 'bobother', join(home, 'other'), '--owner', 'tester')
  t.equal(other.code, 0)
  t.notMatch(other.stdout, /note:/, 'no note when the owner may write')
})

// Review 17 of the first version of this check.
t.test('an ACL that lets a user write a root-owned folder above the bucket counts, as its mask shows', async t => {
  const b = await startBridge(t)
  const team = join(b.dir, 'nas', 'acl-team')
  mkdirSync(team, { recursive: true })
  chmodSync(team, 0o755)
  execFileSync('setfacl', ['-m', 'u:1001:rwx', team])
  await mapBucket(b, 'aclteam', join(team, 'share'))
  t.equal(await status(b, 'aclteam'), 503, 'root:root, but uid 1001 may write it through its ACL: refused')
  t.ok(b.logLines.some(l => l.includes(`${team} above it can be changed by a user or group its ACL lets write`)))
  const r = await bridgectl(b, 'buckets', 'create', 'aclteam2', join(team, 'share'), '--owner', 'tester')
  t.not(r.code, 0, 'bridgectl refuses it too')
  execFileSync('setfacl', ['-m', 'm::r-x', team])
  await afterVerdict()
  t.equal(await status(b, 'aclteam'), 200, 'a mask without write: no one but root may change it')
})

t.test('a name that cannot be looked at is a problem, not "nothing to say" (a race made it vanish for an instant)', async t => {
  const dir = t.testdir({})
  const gone = join(dir, 'missing', 'bucket')
  t.match(await swappableParent(gone), /missing cannot be examined \(ENOENT\)/, 'a missing folder on the way: refused')
  t.equal(await swappableParent(gone, { toBeMade: true }), undefined, 'unless the daemon is about to make it')
})

t.test('S3 CreateBucket: refused in a rootPath another user may change; a rootPath through a symlink works', async t => {
  const base = t.testdir({})
  chmodSync(base, 0o755)
  const rootPath = join(base, 'made-here')
  mkdirSync(rootPath)
  execFileSync('setfacl', ['-m', 'u:1001:rwx', rootPath])
  const b = await startBridge(t, { rootPath })
  await t.rejects(b.s3.send(new CreateBucketCommand({ Bucket: 'created' })), { name: 'ServiceUnavailable' }, 'refused: uid 1001 could swap the new folder before its chown')
  t.notOk(existsSync(join(rootPath, 'created')), 'nothing was made')
  t.ok(b.logLines.some(l => l.includes('CreateBucket refused: rootPath is not safe for buckets')))

  const real = join(base, 'real-root')
  mkdirSync(real)
  symlinkSync(real, join(base, 'link-root'))
  const c = await startBridge(t, { rootPath: join(base, 'link-root') })
  await c.s3.send(new CreateBucketCommand({ Bucket: 'vialink' }))
  t.equal(c.daemon.services.state.snapshot().buckets.vialink?.path, join(real, 'vialink'), 'stored symlink-free')
  await c.s3.send(new PutObjectCommand({ Bucket: 'vialink', Key: 'k', Body: 'v' }))
  t.equal(await status(c, 'vialink', 'k'), 200, 'and served (it was 503: "is a symlink now")')
})

t.test('the demo bucket and the state are not made in a folder another user may change', async t => {
  const open = mkdtempSync(join(tmpdir(), 's3bridge-open-'))
  t.teardown(() => rmSync(open, { recursive: true, force: true }))
  chmodSync(open, 0o1777)
  const target = join(open, 'root-only')
  mkdirSync(target, { mode: 0o700 })
  // As uid 1000 in a folder everyone may write: var/demo -> a root-only folder, before root's first start.
  execFileSync('setpriv', ['--reuid', '1000', '--regid', '1000', '--clear-groups', 'sh', '-c', `mkdir '${join(open, 'var')}' && ln -s '${target}' '${join(open, 'var', 'demo')}'`])
  const config = parseConfig({ http: { host: '127.0.0.1', port: 0 }, stateDir: join(t.testdir({}), 'state'), rootPath: 'buckets', demo: { bucket: 'demo', path: 'var/demo', uid: 2000, gid: 2000 } }, open)
  const state = new StateStore(config.stateDir)
  t.teardown(() => state.close())
  await t.rejects(bootstrapDemo(config, state, new Date()), { name: 'ConfigError', message: /demo\.path/ })
  t.equal(statSync(target).uid, 0, 'the symlink\'s target was not chown\'ed')
  t.same(state.snapshot().buckets, {}, 'no demo bucket')
  await t.rejects(startBridge(t, { stateDir: join(open, 'var', 'state') }), { name: 'ConfigError', message: /stateDir/ }, 'nor a daemon on a state others could plant')
})

t.test('a stateDir and demo folder reached through an admin\'s symlink (/srv -> /data/srv) are not taken for a swap', async t => {
  const base = t.testdir({})
  chmodSync(base, 0o755)
  mkdirSync(join(base, 'data', 'srv'), { recursive: true })
  symlinkSync(join(base, 'data', 'srv'), join(base, 'srv'))
  const b = await startBridge(t, { stateDir: join(base, 'srv', 'state') })
  t.ok(existsSync(join(base, 'data', 'srv', 'state')), 'the daemon started on it')
  const config = parseConfig({ http: { host: '127.0.0.1', port: 0 }, stateDir: join(base, 'srv', 'state2'), rootPath: 'buckets', demo: { bucket: 'demo', path: join(base, 'srv', 'var', 'demo'), uid: 2000, gid: 2000 } }, base)
  const state = new StateStore(config.stateDir)
  t.teardown(() => state.close())
  t.match(await bootstrapDemo(config, state, new Date()), { bucket: 'demo' }, 'the demo bucket is made')
  t.equal(state.snapshot().buckets.demo?.path, join(base, 'data', 'srv', 'var', 'demo'), 'stored symlink-free')
  t.ok(b.endpoint)
})
