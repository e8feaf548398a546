// bridged as a process with a bad config: it exits naming the field at start, and a reload keeps the running config.
import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { BRIDGED, seedState, signedRequest, spawnBridged, writeConfig } from '../fixtures/bridged-process.js'

const BAD_CORS = [{ AllowedOrigins: ['*'], AllowedMethods: ['BREW'] }]

/** Runs bridged to its exit (killed after timeoutMs: a daemon that hangs fails the test rather than it). */
function runToExit (configPath: string, timeoutMs = 15_000): Promise<{ code: number | string, output: string }> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [BRIDGED, '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (c: Buffer) => { output += c.toString() })
    child.stderr.on('data', (c: Buffer) => { output += c.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code: code ?? signal ?? -1, output }) })
  })
}

t.test('an invalid defaultCors stops bridged at start with status 2 and the field named', async t => {
  const r = await runToExit(writeConfig(t.testdir({}), { defaultCors: BAD_CORS }))
  t.equal(r.code, 2, r.output)
  t.match(r.output, /field "defaultCors".*BREW/)
})

t.test('a start failure after the listeners opened (the demo folder cannot be made) exits instead of serving nothing', async t => {
  const dir = t.testdir({ 'a-file': 'x' })
  const r = await runToExit(writeConfig(dir, { demo: { bucket: 'demo', path: 'a-file/demo' } }))
  t.equal(r.code, 1, r.output)
  t.match(r.output, /ENOTDIR/)
})

t.test('start failures from valid-looking fields name the field: a bad PEM, a stateDir that is a file', async t => {
  const dir = t.testdir({ 'cert.pem': 'not a certificate', 'key.pem': 'not a key', 'a-file': 'x' })
  const tls = { host: '127.0.0.1', port: 0, certFile: 'cert.pem', keyFile: 'key.pem' }
  const pem = await runToExit(writeConfig(dir, { https: tls }))
  t.equal(pem.code, 1, pem.output)
  t.match(pem.output, /config field "https\.certFile" \(.*cert\.pem\)/)
  const state = await runToExit(writeConfig(dir, { stateDir: 'a-file' }))
  t.equal(state.code, 1, state.output)
  t.match(state.output, /config field "stateDir" \(.*a-file\): EEXIST/)
})

t.test('SIGHUP with an invalid defaultCors is refused and logged; requests keep working', async t => {
  const dir = t.testdir({})
  const { creds } = await seedState(join(dir, 'state'), join(dir, 'data'))
  const configPath = writeConfig(dir, {})
  const bridged = await spawnBridged(t, configPath)
  writeConfig(dir, { defaultCors: BAD_CORS })
  bridged.child.kill('SIGHUP')
  await bridged.waitForLine(/defaultCors.*reload refused/)
  t.notOk(bridged.lines.some(l => /"msg":"reloaded"/.test(l)), 'no "reloaded" line')
  const r = await signedRequest(bridged.endpoint, creds, { method: 'GET', path: '/demo?list-type=2' })
  t.equal(r.status, 200, 'the next request is served with the running config')
})
