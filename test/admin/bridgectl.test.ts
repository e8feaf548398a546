import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'

const run = promisify(execFile)
const BRIDGECTL = resolve(import.meta.dirname, '../../bin/bridgectl')

async function ctl (configPath: string, ...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const r = await run(process.execPath, [BRIDGECTL, '--config', configPath, ...args])
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/** bridgectl exactly as given: no --config added, in cwd, without S3BRIDGE_CONFIG unless env sets it. */
async function ctlRaw (args: string[], opts: { cwd: string, env?: Record<string, string>, uid?: number }): Promise<{ code: number, stdout: string, stderr: string }> {
  const { S3BRIDGE_CONFIG: _, ...env } = process.env
  try {
    const r = await run(process.execPath, [BRIDGECTL, ...args], { cwd: opts.cwd, env: { ...env, ...opts.env }, uid: opts.uid })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

function writeConfig (dir: string): string {
  const path = join(dir, 'bridge.conf')
  writeFileSync(path, JSON.stringify({ http: { host: '127.0.0.1', port: 0 }, stateDir: 'state', rootPath: 'buckets', statePollMs: 200 }))
  return path
}

t.test('bridgectl exit status is 0 on success, 1 on failure, 2 on usage errors, with no stack traces', async t => {
  const conf = writeConfig(t.testdir({}))
  t.equal((await ctl(conf, 'users', 'create', 'alice', '--uid', '1001', '--gid', '1001')).code, 0)
  const dup = await ctl(conf, 'users', 'create', 'alice', '--uid', '1001', '--gid', '1001')
  t.equal(dup.code, 1)
  t.match(dup.stderr, /already exists/)
  t.notMatch(dup.stderr, /\n\s+at /, 'no stack trace')
  const usage = await ctl(conf, 'users', 'create', 'bob', '--uid', 'abc', '--gid', '1')
  t.equal(usage.code, 2)
  t.match(usage.stderr, /--uid must be an integer/)
  t.equal((await ctl(conf, 'nonsense')).code, 2)
  const missing = await ctl(conf, 'buckets', 'create', 'photos', '/definitely/not/here')
  t.equal(missing.code, 1)
  t.match(missing.stderr, /does not exist; create it, or pass --create-path/)
  for (const reserved of ['root', 'anonymous', 'Root']) {
    const r = await ctl(conf, 'users', 'create', reserved, '--uid', '1005', '--gid', '1005')
    t.equal(r.code, 2, `${reserved}: reserved (root owns the buckets mapped without --owner)`)
    t.match(r.stderr, /is reserved/)
  }
  const help = await ctl(conf, 'keys', 'rotate', '--help')
  t.equal(help.code, 0)
  t.match(help.stdout, /--old-key-expiry/)
})

t.test('without --config, bridgectl refuses to make a new state in the current directory and says how to point it at one', async t => {
  const cwd = t.testdir({})
  const bare = await ctlRaw(['users', 'list'], { cwd })
  t.equal(bare.code, 1, bare.stderr)
  t.match(bare.stderr, new RegExp(`no state at ${join(cwd, 'var', 'state')}.*--config FILE or set S3BRIDGE_CONFIG`))
  t.same(readdirSync(cwd), [], 'nothing was created')
  // The sample named by a path of its own (from the checkout: etc/bridge.conf) is the sample all the same: its
  // stateDir means the current directory, not etc/ (walkthrough 23: it made etc/var/state and exited 0).
  const sample = fileURLToPath(new URL('../../etc/bridge.conf', import.meta.url))
  for (const named of [relative(cwd, sample), sample]) {
    const r = await ctlRaw(['--config', named, 'users', 'list'], { cwd })
    t.equal(r.code, 1, `--config ${named}: refused`)
    t.match(r.stderr, new RegExp(`no state at ${join(cwd, 'var', 'state')}`))
  }
  t.notOk(existsSync(join(dirname(sample), 'var')), 'no state was made beside the sample')
  t.same(readdirSync(cwd), [], 'nor here')
  const noValue = await ctlRaw(['users', 'list', '--config'], { cwd })
  t.equal(noValue.code, 2, 'a --config without its FILE is a usage error')
  t.match(noValue.stderr, /--config needs a FILE/)
  t.equal((await ctlRaw(['--config', '--json', 'users', 'list'], { cwd })).code, 2)
  const conf = writeConfig(cwd)
  t.equal((await ctlRaw([`--config=${conf}`, 'users', 'create', 'alice', '--uid', '1001', '--gid', '1001'], { cwd })).code, 0, '--config=FILE works')
  t.match((await ctlRaw(['users', 'list'], { cwd, env: { S3BRIDGE_CONFIG: conf } })).stdout, /alice/, 'and so does S3BRIDGE_CONFIG')
  const notRoot = await ctlRaw(['--config', conf, 'users', 'list'], { cwd, uid: 65534 })
  t.equal(notRoot.code, 1)
  t.match(notRoot.stderr, /bridgectl must run as root: the state in .* is root-only/)
})

t.test('a corrupt state file makes bridgectl fail naming the file, not show an empty state', async t => {
  const dir = t.testdir({})
  const conf = writeConfig(dir)
  await ctl(conf, 'users', 'create', 'alice', '--uid', '1001', '--gid', '1001')
  await ctl(conf, 'keys', 'create', 'alice')
  const usersPath = join(dir, 'state', 'users.json')
  writeFileSync(usersPath, readFileSync(usersPath, 'utf8').slice(0, 50))
  for (const args of [['users', 'list'], ['keys', 'list'], ['users', 'create', 'bob', '--uid', '7', '--gid', '7']]) {
    const r = await ctl(conf, ...args)
    t.equal(r.code, 1, args.join(' '))
    t.equal(r.stdout, '', 'no table')
    t.match(r.stderr, `state file ${usersPath} is corrupt`)
    t.match(r.stderr, /restore it from a backup/)
  }
  t.equal(readFileSync(usersPath, 'utf8').length, 50, 'nothing was overwritten')
})

t.test('--expires takes only real ISO 8601 dates, and keys past their expiry are listed as Expired', async t => {
  const dir = t.testdir({})
  const conf = writeConfig(dir)
  await ctl(conf, 'users', 'create', 'alice', '--uid', '1001', '--gid', '1001')
  for (const bad of ['2027-02-30', '1/2/2027', '2027-13-01', '2027-01-31T24:00:00Z', 'garbage']) {
    const r = await ctl(conf, 'keys', 'create', 'alice', '--expires', bad)
    t.equal(r.code, 2, `${bad}: a usage error, not rolled over`)
    t.match(r.stderr, /is not a date; use ISO 8601/)
  }
  t.equal((await ctl(conf, 'users', 'svcacct', 'add', 'alice', '--expires', '2027-02-29')).code, 2, 'service accounts too')
  const made = await ctl(conf, 'keys', 'create', 'alice', '--expires', '2099-02-28', '--json')
  t.equal(made.code, 0, made.stderr)
  const keyId = (JSON.parse(made.stdout) as { accessKeyId: string }).accessKeyId
  t.match((await ctl(conf, 'keys', 'list', 'alice')).stdout, new RegExp(`${keyId} .* Active `))
  // Past its expiry but not yet purged (the daemon's job runs every minute).
  const usersFile = join(dir, 'state', 'users.json')
  writeFileSync(usersFile, readFileSync(usersFile, 'utf8').replace('2099-02-28T00:00:00.000Z', '2020-01-01T00:00:00.000Z'))
  t.match((await ctl(conf, 'keys', 'list', 'alice')).stdout, new RegExp(`${keyId} .* Expired `))
  t.match((await ctl(conf, 'keys', 'view', 'alice')).stdout, /status:\s+Expired/)
})

t.test('a key secret is printed once and never again, in tables or --json', async t => {
  const dir = t.testdir({})
  const conf = writeConfig(dir)
  await ctl(conf, 'users', 'create', 'alice', '--uid', '1001', '--gid', '1001')
  const made = await ctl(conf, 'keys', 'create', 'alice', '--json')
  const { secretAccessKey, accessKeyId } = JSON.parse(made.stdout) as { secretAccessKey: string, accessKeyId: string }
  t.match(secretAccessKey, /^[A-Za-z0-9]{40}$/)
  for (const args of [['keys', 'list'], ['keys', 'list', '--json'], ['keys', 'view', 'alice'], ['keys', 'view', 'alice', '--json'], ['users', 'view', 'alice', '--json']]) {
    const out = await ctl(conf, ...args)
    t.equal(out.code, 0)
    t.notOk(out.stdout.includes(secretAccessKey), `${args.join(' ')} does not show the secret`)
    if (args[0] === 'keys') t.ok(out.stdout.includes(accessKeyId))
  }
  const st = statSync(join(dir, 'state', 'users.json'))
  t.equal(st.mode & 0o777, 0o600, 'the state file with secrets is root-only')
  t.equal(statSync(join(dir, 'state')).mode & 0o777, 0o700)
})

t.test('twenty bridgectl mutations in parallel against a running daemon all land and the daemon sees them', async t => {
  const b = await startBridge(t)
  const conf = join(b.dir, 'ctl.conf')
  writeFileSync(conf, JSON.stringify({ http: { host: '127.0.0.1', port: 0 }, stateDir: b.config.stateDir, rootPath: b.config.rootPath }))
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ctl(conf, 'users', 'create', `u${i}`, '--uid', String(3000 + i), '--gid', '3000')))
  t.same(results.map(r => r.code), Array(20).fill(0))
  const onDisk = JSON.parse(readFileSync(join(b.config.stateDir, 'users.json'), 'utf8')) as Record<string, unknown>
  t.equal(Object.keys(onDisk).filter(n => n.startsWith('u')).length, 20, 'no mutation lost')
  const deadline = Date.now() + 5000
  while (Date.now() < deadline && Object.keys(b.daemon.services.state.snapshot().users).length < 21) await new Promise(r => setTimeout(r, 100))
  t.equal(Object.keys(b.daemon.services.state.snapshot().users).filter(n => n.startsWith('u')).length, 20, 'the daemon reloaded them')
})

t.test('a truncated state file leaves the daemon serving with its last good state', async t => {
  const b = await startBridge(t)
  await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  const usersPath = join(b.config.stateDir, 'users.json')
  const text = readFileSync(usersPath, 'utf8')
  writeFileSync(usersPath, text.slice(0, Math.floor(text.length / 2)))
  b.daemon.services.state.refresh()
  const list = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.equal(list.KeyCount, 0, 'requests still authenticate with the last good users')
  t.ok(b.logLines.some(l => l.includes('keeping the last good users.json')), 'and the daemon logs why')
})

t.test('buckets modify adds and removes OneFS-style ACEs', async t => {
  const dir = t.testdir({ data: {} })
  const conf = writeConfig(dir)
  mkdirSync(join(dir, 'data', 'p'), { recursive: true })
  await ctl(conf, 'users', 'create', 'peter', '--uid', '1001', '--gid', '1001')
  t.equal((await ctl(conf, 'buckets', 'create', 'photos', join(dir, 'data', 'p'), '--owner', 'peter')).code, 0)
  t.equal((await ctl(conf, 'buckets', 'modify', 'photos', '--add-ace', 'name=everyone,type=wellknown,perm=read', '--add-ace', 'name=peter,type=user,perm=write')).code, 0)
  const view = JSON.parse((await ctl(conf, 'buckets', 'view', 'photos', '--json')).stdout) as { acl: unknown[] }
  t.same(view.acl, [{ name: 'everyone', type: 'wellknown', permission: 'READ' }, { name: 'peter', type: 'user', permission: 'WRITE' }])
  t.equal((await ctl(conf, 'buckets', 'modify', 'photos', '--remove-ace', 'name=peter,type=user,perm=write')).code, 0)
  const bad = await ctl(conf, 'buckets', 'modify', 'photos', '--add-ace', 'name=x,type=user,perm=admin')
  t.equal(bad.code, 2)
})

t.test('buckets modify --add-ace refuses unknown users and groups; users delete takes the user\'s ACEs with it', async t => {
  const dir = t.testdir({ data: { grp1: {}, grp2: {} } })
  const conf = writeConfig(dir)
  await ctl(conf, 'users', 'create', 'dave', '--uid', '2104', '--gid', '2104')
  t.equal((await ctl(conf, 'buckets', 'create', 'grp1', join(dir, 'data', 'grp1'))).code, 0)
  await ctl(conf, 'buckets', 'create', 'grp2', join(dir, 'data', 'grp2'))
  const peter = await ctl(conf, 'buckets', 'modify', 'grp1', '--add-ace', 'name=peter,type=user,perm=write')
  t.equal(peter.code, 1)
  t.match(peter.stderr, /ACE user "peter" is not a bridge user/)
  const group = await ctl(conf, 'buckets', 'modify', 'grp1', '--add-ace', 'name=nosuchgroup-s3b,type=group,perm=read')
  t.equal(group.code, 1)
  t.match(group.stderr, /ACE group "nosuchgroup-s3b" is not known to NSS/)
  const aces = ['name=dave,type=user,perm=full_control', 'name=daemon,type=group,perm=read', 'name=4242,type=group,perm=read']
  t.equal((await ctl(conf, 'buckets', 'modify', 'grp1', ...aces.flatMap(a => ['--add-ace', a]))).code, 0, 'a bridge user, an NSS group and a numeric gid')
  t.equal((await ctl(conf, 'buckets', 'modify', 'grp2', '--add-ace', 'name=dave,type=user,perm=read')).code, 0)

  const del = await ctl(conf, 'users', 'delete', 'dave')
  t.equal(del.code, 0, del.stderr)
  t.match(del.stdout, /deleted user dave; it had no access keys; removed its ACEs from bucket\(s\) grp1, grp2/)
  const acl = async (b: string): Promise<unknown> => (JSON.parse((await ctl(conf, 'buckets', 'view', b, '--json')).stdout) as { acl: unknown }).acl
  t.same(await acl('grp1'), [{ name: 'daemon', type: 'group', permission: 'READ' }, { name: '4242', type: 'group', permission: 'READ' }])
  t.same(await acl('grp2'), [])
  await ctl(conf, 'users', 'create', 'dave', '--uid', '2105', '--gid', '2105')
  t.match((await ctl(conf, 'explain', 'dave', 'grp1', 'k', 'PutObject')).stdout, /bucket-acl\s+DENY/, 'a new dave inherits nothing')
})

t.test('buckets create --create-path makes the bucket folder the owner\'s, its new parents root\'s, with bucketDirectoryCreateMode exactly', async t => {
  const dir = t.testdir({ data: {} })
  const conf = join(dir, 'bridge.conf')
  writeFileSync(conf, JSON.stringify({ http: { host: '127.0.0.1', port: 0 }, stateDir: 'state', rootPath: 'buckets', bucketDirectoryCreateMode: '2775' }))
  const umask = process.umask(0o022) // the unit's UMask, which used to cut group write
  t.teardown(() => { process.umask(umask) })
  await ctl(conf, 'users', 'create', 'peter', '--uid', '1001', '--gid', '1002')
  const made = await ctl(conf, 'buckets', 'create', 'peters', join(dir, 'data', 'new', 'deep'), '--create-path', '--owner', 'peter')
  t.equal(made.code, 0, made.stderr)
  const deep = statSync(join(dir, 'data', 'new', 'deep'))
  t.same([deep.uid, deep.gid, deep.mode & 0o7777], [1001, 1002, 0o2775], 'data/new/deep: the bucket root is the owner\'s')
  const made1 = statSync(join(dir, 'data', 'new'))
  // Whoever owns a bucket root's parent could rename the root away and plant a symlink in its place.
  t.same([made1.uid, made1.gid, made1.mode & 0o7777], [0, 0, 0o2775], 'data/new: made for it, but root\'s')
  const parent = statSync(join(dir, 'data'))
  t.same([parent.uid, parent.gid], [0, 0], 'a folder that existed is left alone')
})

t.test('buckets create refuses /, the state, staging folders and directories another bucket serves, in or around it', async t => {
  const dir = t.testdir({ data: { perm: { team: {} }, other: {} } })
  const conf = writeConfig(dir)
  const data = join(dir, 'data')
  t.equal((await ctl(conf, 'buckets', 'create', 'perm', join(data, 'perm'))).code, 0)
  const cases: Array<[string[], RegExp]> = [
    [['dup', join(data, 'perm')], /is already mapped by bucket "perm"/],
    [['team', join(data, 'perm', 'team')], /is inside bucket "perm" .*buckets may not nest/],
    [['outer', data], /contains bucket "perm" .*buckets may not nest/],
    [['rootfs', '/'], /is the filesystem root/],
    [['statedir', join(dir, 'state')], /is inside the bridge's state directory/],
    [['above', dir], /contains the bridge's state directory/],
    [['staging', join(data, 'other', '.s3bridge', 'x'), '--create-path'], /is inside a \.s3bridge staging folder/],
  ]
  for (const [args, message] of cases) {
    const r = await ctl(conf, 'buckets', 'create', ...args)
    t.equal(r.code, 1, args.join(' '))
    t.match(r.stderr, message)
  }
  t.notOk(existsSync(join(data, 'other', '.s3bridge')), '--create-path made nothing for a refused path')
  t.equal((await ctl(conf, 'buckets', 'create', 'other', join(data, 'other'))).code, 0, 'a sibling is fine')
})

t.test('explain names the layer and the entry that decided', async t => {
  const dir = t.testdir({ data: { sub: { 'f.txt': 'hi' } } })
  const conf = writeConfig(dir)
  const { chmodSync, chownSync } = await import('node:fs')
  chmodSync(join(dir, 'data', 'sub', 'f.txt'), 0o600)
  chownSync(join(dir, 'data', 'sub', 'f.txt'), 1001, 1001)
  await ctl(conf, 'users', 'create', 'alice', '--uid', '1001', '--gid', '1001')
  await ctl(conf, 'users', 'create', 'bob', '--uid', '1002', '--gid', '1002')
  await ctl(conf, 'buckets', 'create', 'photos', join(dir, 'data'), '--owner', 'alice')
  const bob = await ctl(conf, 'explain', 'bob', 'photos', 'sub/f.txt', 'GetObject')
  t.equal(bob.code, 0)
  t.match(bob.stdout, /filesystem\s+DENY\s+read sub\/f.txt: .*uid 1002: other bits ---/)
  t.match(bob.stdout, /=> DENIED/)
  const alice = JSON.parse((await ctl(conf, 'explain', 'alice', 'photos', 'sub/f.txt', 's3:GetObject', '--json')).stdout) as { allowed: boolean }
  t.equal(alice.allowed, true)
  const anon = await ctl(conf, 'explain', 'anonymous', 'photos', 'ListObjectsV2')
  t.match(anon.stdout, /bucket-acl\s+DENY\s+no READ grant for anonymous/)
})

t.test('explain evaluates s3:ListBucket as the listing it allows, and refuses a disabled user or one without a working key at authentication', async t => {
  const dir = t.testdir({ data: { 'f.txt': 'hi' } })
  const conf = writeConfig(dir)
  const { chmodSync } = await import('node:fs')
  await ctl(conf, 'users', 'create', 'carol', '--uid', '1003', '--gid', '1003')
  await ctl(conf, 'buckets', 'create', 'grp', join(dir, 'data'), '--owner', 'carol')
  chmodSync(join(dir, 'data'), 0o733) // carol may search but not read the bucket root: no listing
  const list = await ctl(conf, 'explain', 'carol', 'grp', 's3:ListBucket')
  t.equal(list.code, 0, list.stderr)
  t.match(list.stdout, /^ListObjectsV2 on grp .*also covers HeadBucket, ListObjects/)
  t.match(list.stdout, /filesystem\s+DENY\s+list/)
  t.match(list.stdout, /=> DENIED/)
  t.match((await ctl(conf, 'explain', 'carol', 'grp', 'f.txt', 's3:GetObject')).stdout, /^GetObject on grp\/f.txt/, 'the namesake operation wins a tie')

  const keyId = (JSON.parse((await ctl(conf, 'keys', 'create', 'carol', '--json')).stdout) as { accessKeyId: string }).accessKeyId
  t.match((await ctl(conf, 'explain', 'carol', 'grp', 'f.txt', 'GetObject')).stdout, /=> ALLOWED/)
  await ctl(conf, 'users', 'disable', 'carol')
  const disabled = await ctl(conf, 'explain', 'carol', 'grp', 'f.txt', 'GetObject')
  t.equal(disabled.code, 0, 'the exit status of any DENIED')
  t.match(disabled.stdout, /authentication DENY user carol is disabled: every request is refused before authorization\n=> DENIED/)
  const json = JSON.parse((await ctl(conf, 'explain', 'carol', 'grp', 'f.txt', 'GetObject', '--json')).stdout) as { allowed: boolean, layers: Array<{ layer: string }> }
  t.same([json.allowed, json.layers.map(l => l.layer)], [false, ['authentication']])
  await ctl(conf, 'users', 'enable', 'carol')
  // As IAM UpdateAccessKey --status Inactive leaves it.
  const usersFile = join(dir, 'state', 'users.json')
  writeFileSync(usersFile, readFileSync(usersFile, 'utf8').replace('"status": "Active"', '"status": "Inactive"').replace('"status":"Active"', '"status":"Inactive"'))
  t.match((await ctl(conf, 'keys', 'list', 'carol')).stdout, new RegExp(`${keyId}.*Inactive`))
  t.match((await ctl(conf, 'explain', 'carol', 'grp', 'f.txt', 'GetObject')).stdout, /authentication DENY every access key of user carol is inactive or expired/)
})

t.test('uploads list shows in-flight multipart uploads and uploads abort removes one', async t => {
  const b = await startBridge(t)
  const { CreateMultipartUploadCommand, ListMultipartUploadsCommand } = await import('@aws-sdk/client-s3')
  const { UploadId } = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'big/file.bin' }))
  const conf = join(b.dir, 'ctl.conf')
  writeFileSync(conf, JSON.stringify({ http: { host: '127.0.0.1', port: 0 }, stateDir: b.config.stateDir, rootPath: b.config.rootPath }))
  const listed = JSON.parse((await ctl(conf, 'uploads', 'list', 'demo', '--json')).stdout) as Array<{ uploadId: string, key: string }>
  t.same(listed.map(u => [u.key, u.uploadId]), [['big/file.bin', UploadId]])
  t.equal((await ctl(conf, 'uploads', 'abort', 'demo', 'big/file.bin', UploadId!)).code, 0)
  const after = await b.s3.send(new ListMultipartUploadsCommand({ Bucket: 'demo' }))
  t.equal(after.Uploads?.length ?? 0, 0)
  t.equal((await ctl(conf, 'uploads', 'abort', 'demo', 'big/file.bin', UploadId!)).code, 1)
})

t.test('bridgectl status reports the daemon, the state and every bucket directory; settings shows the effective config', async t => {
  const freePort = (): Promise<number> => new Promise(resolve => {
    const srv = createServer().listen(0, '127.0.0.1', () => { const { port } = srv.address() as AddressInfo; srv.close(() => resolve(port)) })
  })
  const port = await freePort()
  const b = await startBridge(t, { admin: { host: '127.0.0.1', port } })
  const conf = join(b.dir, 'ctl.conf')
  const base = { http: { host: '127.0.0.1', port: 0 }, stateDir: b.config.stateDir, rootPath: b.config.rootPath, fileCreateMode: '0640' }
  writeFileSync(conf, JSON.stringify({ ...base, admin: { host: '127.0.0.1', port } }))
  const up = await ctl(conf, 'status', '--json')
  t.equal(up.code, 0, up.stderr)
  const report = JSON.parse(up.stdout)
  t.match(report, { daemon: 'ok', users: 1, activeKeys: 1, buckets: [{ name: 'demo', directory: 'ok', uploads: 0 }] })
  t.match((await ctl(conf, 'status')).stdout, /daemon:\s+ok/)
  const gone = await b.addBucket('gone', 'tester')
  rmSync(gone, { recursive: true })
  const missing = await ctl(conf, 'status')
  t.equal(missing.code, 1, 'a bucket whose directory is missing is a problem')
  t.match(missing.stderr, /bucket gone: .* missing/)
  const down = join(b.dir, 'down.conf')
  writeFileSync(down, JSON.stringify({ ...base, admin: { host: '127.0.0.1', port: await freePort() } }))
  const unreachable = await ctl(down, 'status')
  t.equal(unreachable.code, 1)
  t.match(unreachable.stderr, /daemon: not reachable/)
  const settings = JSON.parse((await ctl(conf, 'settings', '--json')).stdout)
  t.match(settings, { fileCreateMode: '0640', dirCreateMode: '0755', anonymous: { uid: 65534, gid: 65534 }, allowRootUsers: false, config: conf })
})

t.test('explain says which request it imagines, and --https / --source-ip feed the policy conditions on them', async t => {
  const dir = t.testdir({ data: { 'f.txt': 'hi' } })
  const conf = writeConfig(dir)
  await ctl(conf, 'users', 'create', 'erin', '--uid', '1005', '--gid', '1005')
  await ctl(conf, 'users', 'create', 'owner', '--uid', '1006', '--gid', '1006')
  await ctl(conf, 'buckets', 'create', 'tls', join(dir, 'data'), '--owner', 'owner')
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: 'erin' }, Action: 's3:ListBucket', Resource: 'arn:aws:s3:::tls', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } },
      { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::tls', 'arn:aws:s3:::tls/*'], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ],
  })
  const { StateStore } = await import('../../lib/state/store.js')
  const store = new StateStore(join(dir, 'state'), { pollMs: 1000 })
  await store.mutate(st => { st.buckets.tls!.policy = policy })
  store.close()
  const plain = await ctl(conf, 'explain', 'erin', 'tls', 'ListObjectsV2')
  t.match(plain.stdout, /request\s+plain HTTP, no source IP/, 'the imagined request is said')
  t.match(plain.stdout, /=> DENIED/, 'plain HTTP is denied by the SecureTransport Deny')
  const https = await ctl(conf, 'explain', 'erin', 'tls', 'ListObjectsV2', '--https', '--source-ip', '10.1.2.3')
  t.equal(https.code, 0, https.stderr)
  t.match(https.stdout, /request\s+HTTPS, from 10\.1\.2\.3/)
  t.match(https.stdout, /=> ALLOWED/, 'over HTTPS from 10/8 the grant applies')
  t.match((await ctl(conf, 'explain', 'erin', 'tls', 'ListObjectsV2', '--https', '--source-ip', '192.168.1.1')).stdout, /=> DENIED/, 'from elsewhere it does not')
  t.equal((await ctl(conf, 'explain', 'erin', 'tls', 'ListObjectsV2', '--source-ip', 'nope')).code, 2, 'a bad IP is a usage error')
})
