// The body idle timeout judges the client, not the daemon: after the daemon itself stood still (SIGSTOP, a paused
// VM, a long synchronous stall) its expired timers ran before the bytes that arrived meanwhile, and a client that
// had kept sending got 400 RequestTimeout at once (sweep 24c F8).
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge } from '../fixtures/daemon.js'

t.test('a body that kept coming while the daemon stood still is not timed out when it wakes', async t => {
  const b = await startBridge(t, { requestIdleTimeoutSeconds: 1 })
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'everyone', type: 'wellknown', permission: 'WRITE' }) })
  const { chmodSync } = await import('node:fs')
  chmodSync(b.bucketDir, 0o777)
  // Another process sends 40 chunks, one every 100 ms (an anonymous PUT: the bucket is open to writes).
  const client = spawn(process.execPath, ['-e', `
    const http = require('node:http')
    const u = new URL(process.argv[1])
    const req = http.request({ host: u.hostname, port: u.port, path: '/demo/steady.bin', method: 'PUT', headers: { 'content-length': 40 * 1024 } }, res => {
      let body = ''; res.on('data', d => { body += d }); res.on('end', () => { console.log(res.statusCode + ' ' + body.slice(0, 200)) })
    })
    let n = 0
    const tick = () => { req.write(Buffer.alloc(1024, 7)); if (++n < 40) setTimeout(tick, 100); else req.end() }
    tick()
  `, b.endpoint], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  client.stdout.on('data', d => { out += String(d) })
  const exited = new Promise(resolve => client.once('exit', resolve))
  await new Promise(resolve => setTimeout(resolve, 700))
  // The daemon (this process) stands still for longer than the idle timeout while the client goes on sending.
  // In the check phase, so the loop's next turn starts with its timers, as after SIGCONT.
  await new Promise<void>(resolve => setImmediate(() => {
    const until = Date.now() + 1600
    while (Date.now() < until) { /* busy: a stopped daemon */ }
    resolve()
  }))
  await exited
  t.match(out, /^200 /, `the upload completes: ${out.trim()}`)
  t.equal(readFileSync(join(b.bucketDir, 'steady.bin')).length, 40 * 1024)
})
