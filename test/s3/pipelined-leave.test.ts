// Clients leaving mid-body on pipelined connections (review 16): every object's descriptor is closed at once (a
// response queued behind another got no 'close' and kept its file open until garbage collection), no rejections.
import t from 'tap'
import { readdirSync, readlinkSync } from 'node:fs'
import { randomBytes, createHash } from 'node:crypto'
import { connect } from 'node:net'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { startBridge } from '../fixtures/daemon.js'

const MiB = 1024 * 1024
const unhandled: unknown[] = []
process.on('unhandledRejection', e => { unhandled.push(e) })
process.on('uncaughtException', e => { unhandled.push(e) })
// Objects' descriptors only: the bucket's staging folder (.s3bridge) is held open by design (lib/storage/paths.ts).
const openPaths = (dir: string): string[] => readdirSync('/proc/self/fd').map(fd => { try { return readlinkSync(`/proc/self/fd/${fd}`) } catch { return '' } })
  .filter(p => p.startsWith(dir) && !p.startsWith(`${dir}/.s3bridge`))
const openIn = (dir: string): number => openPaths(dir).length

t.test('clients that leave at random points', async t => {
  const b = await startBridge(t)
  const bodies = [randomBytes(6 * MiB + 3), randomBytes(2 * MiB + 1), randomBytes(300 * 1024)]
  for (const [i, body] of bodies.entries()) await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: `o/${i}`, Body: body }))
  const u = new URL(b.endpoint)
  for (let n = 0; n < 10; n++) {
    const reqs: string[] = []
    for (const i of [0, 1, 2, 0]) {
      const url = new URL(await getSignedUrl(b.s3, new GetObjectCommand({ Bucket: 'demo', Key: `o/${i}` }), { expiresIn: 300 }))
      reqs.push(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`)
    }
    const cut = Math.floor(Math.random() * 9 * MiB)
    await new Promise<void>(resolve => {
      const s = connect(Number(u.port), u.hostname)
      let got = 0
      s.on('data', c => { got += c.length; if (got >= cut) { n % 2 === 0 ? s.destroy() : s.resetAndDestroy(); resolve() } })
      s.on('error', () => undefined)
      s.on('close', () => resolve())
      s.write(reqs.join(''))
      if (cut === 0) { s.destroy(); resolve() }
    })
  }
  await new Promise(r => setTimeout(r, 1500))
  t.comment('open descriptors in bucket: ' + openPaths(b.bucketDir).join(', ')); t.equal(openIn(b.bucketDir), 0, 'no descriptor of the bucket left open')
  t.same(unhandled.map(String), [], 'no unhandled rejections or exceptions')
  t.equal(b.daemon.inFlight(), 0, 'no request counted in flight for good (a stop would wait its whole grace period)')
  t.ok(b.logLines.filter(l => l.includes('"operation":"GetObject"')).length >= 10 * 4, 'every GET has its access-log line')
  // Still serving correctly.
  const url = await getSignedUrl(b.s3, new GetObjectCommand({ Bucket: 'demo', Key: 'o/0' }), { expiresIn: 300 })
  const res = await fetch(url)
  t.equal(createHash('md5').update(Buffer.from(await res.arrayBuffer())).digest('hex'), createHash('md5').update(bodies[0]!).digest('hex'))
})
