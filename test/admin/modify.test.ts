// bridgectl users modify, policies update and keys activate/deactivate: changing records in place, run in-process.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { main } from '../../lib/admin/main.js'

interface Run { code: number, stdout: string, stderr: string }

function bridgectl (dir: string, extra: Record<string, unknown> = {}): (...args: string[]) => Promise<Run> {
  const conf = join(dir, 'bridge.conf')
  writeFileSync(conf, JSON.stringify({ http: { host: '127.0.0.1', port: 0 }, stateDir: 'state', rootPath: 'buckets', statePollMs: 200, ...extra }))
  return async (...args) => {
    let stdout = ''
    let stderr = ''
    const code = await main(['--config', conf, ...args], { stdout: s => { stdout += s }, stderr: s => { stderr += s } })
    return { code, stdout, stderr }
  }
}

const policy = (resource: string): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: resource }] })

t.test('users modify changes the role and ids and keeps the user\'s keys and policies', async t => {
  const ctl = bridgectl(t.testdir({}))
  await ctl('users', 'create', 'alice', '--uid', '1001', '--gid', '1001')
  const key = await ctl('keys', 'create', 'alice', '--json')
  const keyId = (JSON.parse(key.stdout) as { accessKeyId: string }).accessKeyId
  await ctl('users', 'attach-policy', 'alice', 'read-only')
  const r = await ctl('users', 'modify', 'alice', '--role', 'admin', '--uid', '1005', '--gid', '1006')
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /modified user alice \(uid 1005, gid 1006, role admin\)/)
  const view = JSON.parse((await ctl('users', 'view', 'alice', '--json')).stdout) as Record<string, unknown>
  t.match(view, { uid: 1005, gid: 1006, role: 'admin', keys: [keyId], policies: ['read-only'] })
  t.match((await ctl('users', 'modify', 'alice', '--uid', '0', '--gid', '1006')).stdout, /allowRootUsers is false, so uid 0 acts as 65534 \(root squash\)/)

  const usage: string[][] = [['alice'], ['alice', '--role', 'god'], ['alice', '--uid', '5'], ['alice', '--uid', '5', '--gid', '5', '--account', 'root']]
  for (const args of usage) t.equal((await ctl('users', 'modify', ...args)).code, 2, args.join(' '))
  const nobody = await ctl('users', 'modify', 'nobody-here', '--role', 'user')
  t.equal(nobody.code, 1)
  t.match(nobody.stderr, /user "nobody-here" does not exist/)
})

t.test('policies update replaces a custom policy\'s document in one step, validated like create', async t => {
  const dir = t.testdir({ 'bad.json': '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}' })
  const ctl = bridgectl(dir)
  await ctl('users', 'create', 'alice', '--uid', '1001', '--gid', '1001')
  t.equal((await ctl('policies', 'create', 'reports', '--document', policy('arn:aws:s3:::demo/reports/*'))).code, 0)
  await ctl('users', 'attach-policy', 'alice', 'reports')
  writeFileSync(join(dir, 'new.json'), policy('arn:aws:s3:::demo/archive/*'))
  const r = await ctl('policies', 'update', 'reports', '--file', join(dir, 'new.json'))
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /updated policy reports \(attached to alice\)/)
  t.match(JSON.parse((await ctl('policies', 'view', 'reports')).stdout), { Statement: [{ Resource: 'arn:aws:s3:::demo/archive/*' }] })
  t.same((JSON.parse((await ctl('users', 'view', 'alice', '--json')).stdout) as { policies: string[] }).policies, ['reports'], 'still attached')

  const invalid = await ctl('policies', 'update', 'reports', '--file', join(dir, 'bad.json'))
  t.equal(invalid.code, 1)
  t.match(invalid.stderr, /is not a valid identity policy/)
  t.match(JSON.parse((await ctl('policies', 'view', 'reports')).stdout), { Statement: [{ Resource: 'arn:aws:s3:::demo/archive/*' }] }, 'an invalid document changes nothing')
  t.match((await ctl('policies', 'update', 'read-only', '--document', policy('*'))).stderr, /built-in policy and cannot be changed/)
  t.match((await ctl('policies', 'update', 'nosuch', '--document', policy('*'))).stderr, /policy "nosuch" does not exist/)
  t.equal((await ctl('policies', 'update', 'reports')).code, 2, 'neither --file nor --document')
})

t.test('keys deactivate and activate switch a key (or service account) off and on, keeping its secret', async t => {
  const ctl = bridgectl(t.testdir({}))
  await ctl('users', 'create', 'carol', '--uid', '1003', '--gid', '1003')
  const made = JSON.parse((await ctl('keys', 'create', 'carol', '--json')).stdout) as { accessKeyId: string, secretAccessKey: string }
  const off = await ctl('keys', 'deactivate', 'carol', made.accessKeyId)
  t.equal(off.code, 0, off.stderr)
  const status = async (): Promise<string | undefined> => (JSON.parse((await ctl('keys', 'list', 'carol', '--json')).stdout) as Array<{ status: string }>)[0]?.status
  t.equal(await status(), 'Inactive')
  t.equal((await ctl('keys', 'activate', 'carol', made.accessKeyId)).code, 0)
  t.equal(await status(), 'Active')
  const svc = JSON.parse((await ctl('users', 'svcacct', 'add', 'carol', '--json')).stdout) as { accessKeyId: string }
  t.equal((await ctl('keys', 'deactivate', 'carol', svc.accessKeyId)).code, 0)
  t.match((await ctl('users', 'svcacct', 'list', 'carol')).stdout, new RegExp(`${svc.accessKeyId} .* Inactive`))
  const wrong = await ctl('keys', 'activate', 'carol', 'AKIANOSUCHKEY')
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /user "carol" has no key AKIANOSUCHKEY/)
  t.equal((await ctl('keys', 'activate', 'carol')).code, 2)
})
