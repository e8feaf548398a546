// bridgectl policies, users attach-policy/detach-policy and users svcacct, run in-process against a state directory.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { main } from '../../lib/admin/main.js'

interface Run { code: number, stdout: string, stderr: string }

function bridgectl (dir: string): (...args: string[]) => Promise<Run> {
  const conf = join(dir, 'bridge.conf')
  writeFileSync(conf, JSON.stringify({ http: { host: '127.0.0.1', port: 0 }, stateDir: 'state', rootPath: 'buckets', statePollMs: 200 }))
  return async (...args) => {
    let stdout = ''
    let stderr = ''
    const code = await main(['--config', conf, ...args], { stdout: s => { stdout += s }, stderr: s => { stderr += s } })
    return { code, stdout, stderr }
  }
}

const prefixPolicy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::demo/reports/*' }] })

t.test('the four built-in policies are listed and viewable but cannot be deleted', async t => {
  const ctl = bridgectl(t.testdir({}))
  const list = await ctl('policies', 'list', '--json')
  t.equal(list.code, 0, list.stderr)
  const rows = JSON.parse(list.stdout) as Array<{ name: string, type: string }>
  t.same(rows.map(r => [r.name, r.type]), [['read-only', 'built-in'], ['read-write', 'built-in'], ['write-only', 'built-in'], ['full-access', 'built-in']])
  const view = await ctl('policies', 'view', 'read-only')
  t.equal(view.code, 0)
  t.match(JSON.parse(view.stdout), { Version: '2012-10-17', Statement: [{ Effect: 'Allow' }] })
  const del = await ctl('policies', 'delete', 'full-access')
  t.equal(del.code, 1)
  t.match(del.stderr, /built-in policy and cannot be deleted/)
})

t.test('policies create validates the document as a 2 KB identity policy', async t => {
  const dir = t.testdir({ 'home.json': prefixPolicy, 'bad.json': '{"Statement": [' })
  const ctl = bridgectl(dir)
  t.equal((await ctl('policies', 'create', 'reports', '--document', prefixPolicy)).code, 0)
  t.equal((await ctl('policies', 'create', 'from-file', '--file', join(dir, 'home.json'))).code, 0)
  const withPrincipal = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: '*' }] })
  const cases: Array<[string[], number, RegExp]> = [
    [['policies', 'create', 'bad', '--file', join(dir, 'bad.json')], 1, /not a valid identity policy: This policy contains invalid Json/],
    [['policies', 'create', 'bad', '--document', withPrincipal], 1, /should not specify a principal/],
    [['policies', 'create', 'big', '--document', JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'x'.repeat(2100), Effect: 'Allow', Action: 's3:*', Resource: '*' }] })], 1, /maximum allowed document size/],
    [['policies', 'create', 'reports', '--document', prefixPolicy], 1, /already exists/],
    [['policies', 'create', 'read-only', '--document', prefixPolicy], 1, /built-in policy/],
    [['policies', 'create', 'neither'], 2, /exactly one of --file F or --document JSON/],
    [['policies', 'create', 'missing', '--file', join(dir, 'nope.json')], 1, /cannot read/],
  ]
  for (const [args, code, message] of cases) {
    const r = await ctl(...args)
    t.equal(r.code, code, args.slice(2).join(' ').slice(0, 60))
    t.match(r.stderr, message)
  }
  const view = await ctl('policies', 'view', 'reports', '--json')
  t.match(JSON.parse(view.stdout), { name: 'reports', type: 'custom', users: [], document: JSON.parse(prefixPolicy) })
  const table = await ctl('policies', 'list')
  t.match(table.stdout, /^from-file\s+custom\s/m)
})

t.test('policies create and update note an s3 action that names nothing and a missing Version, and still save the policy (IAM accepts both)', async t => {
  const dir = t.testdir({})
  const ctl = bridgectl(dir)
  const typo = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: ['s3:DeleteObjcet', 's3:Get*', 'ec2:Foo'], Resource: '*' }] })
  const made = await ctl('policies', 'create', 'typo', '--document', typo)
  t.equal(made.code, 0, made.stderr)
  t.match(made.stdout, /^note: s3:DeleteObjcet names no S3 action, so it allows or denies nothing/m)
  t.notMatch(made.stdout, /s3:Get\*|ec2:Foo/, 'a pattern that matches, and another service, are not flagged')
  const noVersion = JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/${aws:username}/*' }] })
  const upd = await ctl('policies', 'update', 'typo', '--document', noVersion, '--json')
  t.equal(upd.code, 0, upd.stderr)
  t.match(JSON.parse(upd.stdout), { name: 'typo', notes: [/^no Version: .*2008-10-17/] })
  const clean = await ctl('policies', 'update', 'typo', '--document', prefixPolicy)
  t.notMatch(clean.stdout, /note:/, 'nothing to note')
  t.same(JSON.parse((await ctl('policies', 'view', 'typo', '--json')).stdout).document, JSON.parse(prefixPolicy))
})

t.test('attach-policy and detach-policy change a user\'s policies; an attached policy cannot be deleted', async t => {
  const ctl = bridgectl(t.testdir({}))
  await ctl('users', 'create', 'alice', '--uid', '1001', '--gid', '1001')
  await ctl('policies', 'create', 'reports', '--document', prefixPolicy)
  t.equal((await ctl('users', 'attach-policy', 'alice', 'reports')).code, 0)
  t.equal((await ctl('users', 'attach-policy', 'alice', 'read-only')).code, 0)
  t.match((await ctl('users', 'attach-policy', 'alice', 'reports')).stderr, /already attached/)
  t.match((await ctl('users', 'attach-policy', 'alice', 'nonexistent')).stderr, /does not exist/)
  t.match((await ctl('users', 'attach-policy', 'nobody', 'reports')).stderr, /user "nobody" does not exist/)
  t.match(JSON.parse((await ctl('users', 'view', 'alice', '--json')).stdout), { policies: ['reports', 'read-only'] })
  const blocked = await ctl('policies', 'delete', 'reports')
  t.equal(blocked.code, 1)
  t.match(blocked.stderr, /attached to alice/)
  t.equal((await ctl('users', 'detach-policy', 'alice', 'reports')).code, 0)
  t.match(JSON.parse((await ctl('users', 'view', 'alice', '--json')).stdout), { policies: ['read-only'] })
  t.equal((await ctl('policies', 'delete', 'reports')).code, 0)
  t.equal((await ctl('policies', 'view', 'reports')).code, 1)
})

t.test('users svcacct add prints the secret once; list masks it; remove deletes it', async t => {
  const dir = t.testdir({ 'narrow.json': prefixPolicy, 'bad.json': '[]' })
  const ctl = bridgectl(dir)
  await ctl('users', 'create', 'alice', '--uid', '1001', '--gid', '1001')
  const made = await ctl('users', 'svcacct', 'add', 'alice', '--policy-file', join(dir, 'narrow.json'), '--expires', '2099-01-01', '--json')
  t.equal(made.code, 0, made.stderr)
  const { accessKeyId, secretAccessKey, expires } = JSON.parse(made.stdout) as { accessKeyId: string, secretAccessKey: string, expires: string }
  t.match(accessKeyId, /^[A-Z2-7]{20}$/)
  t.equal(expires, '2099-01-01T00:00:00.000Z')
  const list = await ctl('users', 'svcacct', 'list', 'alice')
  t.match(list.stdout, new RegExp(`^${accessKeyId}\\s.*narrowed$`, 'm'))
  t.notOk(list.stdout.includes(secretAccessKey), 'the secret is not shown again')
  t.notOk((await ctl('users', 'view', 'alice', '--json')).stdout.includes(secretAccessKey))
  t.match((await ctl('users', 'svcacct', 'add', 'alice', '--policy-file', join(dir, 'bad.json'))).stderr, /not a valid identity policy/)
  t.equal((await ctl('users', 'svcacct', 'add', 'alice', '--expires', '2001-01-01')).code, 2, 'an expiry in the past is a usage error')
  t.equal((await ctl('users', 'svcacct', 'frobnicate', 'alice')).code, 2)
  t.equal((await ctl('users', 'svcacct', 'remove', 'alice', accessKeyId)).code, 0)
  t.match((await ctl('users', 'svcacct', 'remove', 'alice', accessKeyId)).stderr, /has no service account/)
  t.same(JSON.parse((await ctl('users', 'svcacct', 'list', 'alice', '--json')).stdout), [])
})

t.test('a user may have at most 100 service accounts', async t => {
  const ctl = bridgectl(t.testdir({}))
  await ctl('users', 'create', 'alice', '--uid', '1001', '--gid', '1001')
  for (let i = 0; i < 100; i++) {
    const r = await ctl('users', 'svcacct', 'add', 'alice', '--json')
    if (r.code !== 0) t.fail(`add ${i} failed: ${r.stderr}`)
  }
  const over = await ctl('users', 'svcacct', 'add', 'alice')
  t.equal(over.code, 1)
  t.match(over.stderr, /already has 100 service accounts/)
})
