// The unit file passes systemd-analyze verify (with ExecStart pointed at this checkout) where systemd is installed.
import t from 'tap'
import { execFile } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BRIDGED, seedState, signedRequest, spawnBridged, writeConfig } from '../fixtures/bridged-process.js'

const ANALYZE = '/usr/bin/systemd-analyze'
const UNIT = join(dirname(fileURLToPath(import.meta.url)), '../../systemd/bridged.service')

t.test('systemd/bridged.service declares reload, graceful stop, limits and hardening', async t => {
  const unit = readFileSync(UNIT, 'utf8')
  for (const line of [
    /^ExecStart=\/usr\/bin\/node \/opt\/s3bridge\/bin\/bridged --config \/etc\/s3bridge\/bridge\.conf$/m,
    /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m,
    /^KillSignal=SIGTERM$/m,
    /^TimeoutStopSec=\d+$/m,
    /^Restart=on-failure$/m,
    /^LimitNOFILE=1048576$/m,
    /^NoNewPrivileges=yes$/m,
    /^ProtectSystem=strict$/m,
    /^ReadWritePaths=\/var\/lib\/s3bridge$/m,
    /^PrivateTmp=yes$/m,
    /^CapabilityBoundingSet=.*CAP_SYS_ADMIN/m,
  ]) t.match(unit, line)
})

if (!existsSync(ANALYZE)) {
  t.test('systemd-analyze verify', { skip: 'systemd-analyze is not installed' }, async () => undefined)
} else {
  t.test('systemd-analyze verify accepts the unit', async t => {
    const dir = t.testdir({})
    // verify needs the ExecStart binary to exist: point it at this checkout's node and bin/bridged.
    const unit = readFileSync(UNIT, 'utf8').replace('/usr/bin/node /opt/s3bridge/bin/bridged', `${process.execPath} ${BRIDGED}`)
    const copy = join(dir, 'bridged.service')
    writeFileSync(copy, unit)
    const r = await new Promise<{ code: number, stderr: string }>(resolve => {
      execFile(ANALYZE, ['verify', copy], { encoding: 'utf8' }, (err, _stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }))
    })
    t.equal(r.code, 0, r.stderr)
    t.notMatch(r.stderr, /bridged\.service:/, 'no warning about the unit')
  })
}

t.test('under the unit\'s capabilities and umask, new folders get the configured mode and keep a setgid parent\'s group', async t => {
  const unit = readFileSync(UNIT, 'utf8')
  const caps = /^CapabilityBoundingSet=(.*)$/m.exec(unit)?.[1]?.trim().split(/\s+/) ?? []
  const umask = /^UMask=(\d+)$/m.exec(unit)?.[1] ?? '0022'
  t.ok(caps.length > 0)
  const bounding = ['-all', ...caps.map(c => '+' + c.replace(/^CAP_/, '').toLowerCase())].join(',')
  const dir = mkdtempSync(join(tmpdir(), 's3bridge-unit-'))
  chmodSync(dir, 0o755)
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const { creds, bucketDir } = await seedState(join(dir, 'state'), join(dir, 'data'))
  const project = join(bucketDir, 'project')
  mkdirSync(project)
  chownSync(project, 2000, 3100) // tester (2000) is not in group 3100, and neither is root
  chmodSync(project, 0o2777)
  const bridged = await spawnBridged(t, writeConfig(dir, { dirCreateMode: '0775' }), {
    wrapper: ['sh', '-c', `umask ${umask}; exec "$@"`, 'sh', 'setpriv', `--bounding-set=${bounding}`, '--inh-caps=-all', '--no-new-privs'],
  })
  const put = await signedRequest(bridged.endpoint, creds, { method: 'PUT', path: '/demo/project/sub/deeper/f.txt', body: 'x' })
  t.equal(put.status, 200)
  for (const folder of ['project/sub', 'project/sub/deeper']) {
    const st = statSync(join(bucketDir, folder))
    t.equal(st.mode & 0o7777, 0o2775, `${folder}: dirCreateMode exactly, plus setgid from its parent`)
    t.equal(st.gid, 3100, `${folder}: the project group`)
  }
  t.equal(statSync(join(bucketDir, 'project/sub/deeper/f.txt')).gid, 3100, 'the file too')
})
