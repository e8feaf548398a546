// The unit file passes systemd-analyze verify (with ExecStart pointed at this checkout) where systemd is installed.
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BRIDGED } from '../fixtures/bridged-process.js'

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
