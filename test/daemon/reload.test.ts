// SIGHUP's reload: changes that need a restart are reported against what the daemon runs with, not against the
// last file read. A port changed and then changed back was reported as needing a restart (the daemon had taken
// the unapplied port as its own), and the second change, to the port it does listen on, as not (walkthrough 23).
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { parseConfig } from '../../lib/config/schema.js'
import { rereadConfig } from '../../lib/daemon/signals.js'
import { createLogger } from '../../lib/log.js'
import { startBridge } from '../fixtures/daemon.js'

t.test('a restart-only change stays pending until a restart, whatever reloads come between', async t => {
  const fields = { http: { host: '127.0.0.1', port: 0 }, stateDir: 'state', rootPath: 'buckets', statePollMs: 200, logLevel: 'info' as const }
  const bridge = await startBridge(t, fields)
  // The fixture listens on port 0 (any free port), as bin/bridged pins its ports for reloads (withPinnedPorts).
  const listening = fields
  t.same(bridge.daemon.reload(parseConfig(listening, bridge.dir)), [], 'the running port: nothing to restart for')
  const moved = { ...listening, http: { host: '127.0.0.1', port: 1 }, logLevel: 'warn' as const, workers: 2 }
  t.same(bridge.daemon.reload(parseConfig(moved, bridge.dir)).sort(), ['http', 'workers'], 'a new port and worker count need a restart')
  t.equal(bridge.daemon.services.config.http?.port, 0, 'the running config keeps the port it listens on')
  t.equal(bridge.daemon.services.config.workers, 1, 'and its worker count')
  t.equal(bridge.daemon.services.config.logLevel, 'warn', 'what applies at once does')
  t.same(bridge.daemon.reload(parseConfig(moved, bridge.dir)).sort(), ['http', 'workers'], 'read again: still pending')
  t.same(bridge.daemon.reload(parseConfig(listening, bridge.dir)), [], 'back to the running values: nothing pending')
  const res = await fetch(`${bridge.endpoint}/`)
  t.equal(res.status, 403, 'still served on the port it listens on')
})

t.test('a reload whose https certificate or key cannot be used is refused, the running config kept (sweep 24c F9)', async t => {
  const dir = t.testdir({ 'bridge.conf': JSON.stringify({ http: { host: '127.0.0.1', port: 9 }, stateDir: 'state', rootPath: 'buckets', https: { host: '127.0.0.1', port: 10, certFile: 'missing.pem', keyFile: 'missing.key' } }) })
  const lines: string[] = []
  const log = createLogger('info', new Writable({ write (chunk, _enc, cb) { lines.push(String(chunk)); cb() } }))
  t.equal(rereadConfig(join(dir, 'bridge.conf'), log), undefined, 'refused')
  t.match(lines.join(''), /reload refused: the https certificate or key cannot be used/)
  t.match(lines.join(''), /https\.certFile.*missing\.pem/, 'naming the file')
  writeFileSync(join(dir, 'bridge.conf'), JSON.stringify({ http: { host: '127.0.0.1', port: 9 }, stateDir: 'state', rootPath: 'buckets' }))
  t.ok(rereadConfig(join(dir, 'bridge.conf'), log), 'without https it reads as before')
})
