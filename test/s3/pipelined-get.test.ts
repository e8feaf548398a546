// GET buffer reuse (lib/storage/file-body.ts, review 16): pipelined GETs on one raw socket, HTTP and HTTPS, slow readers, md5 of every byte.
import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { startBridge, type Bridge } from '../fixtures/daemon.js'

const MiB = 1024 * 1024
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex')

interface Resp { status: number, headers: Record<string, string>, body: Buffer }

/** Writes all requests at once on one connection, reads the responses slowly (pauses `pauseMs` every `every` bytes). */
function pipelined (sock: Socket, reqs: string[], opts: { every: number, pauseMs: number, initialWaitMs?: number }): Promise<Resp[]> {
  return new Promise((resolve, reject) => {
    const out: Resp[] = []
    let buf = Buffer.alloc(0)
    let cur: { status: number, headers: Record<string, string>, len: number, parts: Buffer[], got: number } | undefined
    let since = 0
    const parse = (): void => {
      for (;;) {
        if (cur === undefined) {
          const i = buf.indexOf('\r\n\r\n')
          if (i < 0) return
          const lines = buf.subarray(0, i).toString('latin1').split('\r\n')
          buf = buf.subarray(i + 4)
          const status = Number(lines[0]!.split(' ')[1])
          const headers: Record<string, string> = {}
          for (const l of lines.slice(1)) { const k = l.indexOf(':'); headers[l.slice(0, k).toLowerCase()] = l.slice(k + 1).trim() }
          cur = { status, headers, len: Number(headers['content-length'] ?? 0), parts: [], got: 0 }
        }
        const take = Math.min(cur.len - cur.got, buf.length)
        if (take > 0) { cur.parts.push(Buffer.from(buf.subarray(0, take))); cur.got += take; buf = buf.subarray(take) }
        if (cur.got < cur.len) return
        out.push({ status: cur.status, headers: cur.headers, body: Buffer.concat(cur.parts) })
        cur = undefined
        if (out.length === reqs.length) { sock.destroy(); resolve(out); return }
      }
    }
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c])
      since += c.length
      parse()
      if (since > opts.every && opts.pauseMs > 0) { since = 0; sock.pause(); setTimeout(() => sock.resume(), opts.pauseMs) }
    })
    sock.on('error', reject)
    sock.on('close', () => { if (out.length < reqs.length) reject(new Error(`closed after ${out.length} responses`)) })
    sock.write(reqs.join(''))
    if (opts.initialWaitMs) { sock.pause(); setTimeout(() => sock.resume(), opts.initialWaitMs) }
  })
}

function rawRequest (url: string, extra: Record<string, string> = {}, method = 'GET'): string {
  const u = new URL(url)
  const h = Object.entries({ Host: u.host, ...extra }).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  return `${method} ${u.pathname}${u.search} HTTP/1.1\r\n${h}\r\n`
}

async function setup (t: Test, https: boolean): Promise<{ b: Bridge, signer: S3Client, bodies: Buffer[], endpoint: string }> {
  let overrides: Record<string, unknown> = {}
  if (https) {
    const dir = mkdtempSync(join(tmpdir(), 's3bridge-review-tls-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const certFile = join(dir, 'cert.pem'); const keyFile = join(dir, 'key.pem')
    execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', keyFile, '-out', certFile, '-days', '1'], { stdio: 'ignore' })
    overrides = { https: { host: '127.0.0.1', port: 0, certFile, keyFile } }
  }
  const b = await startBridge(t, overrides)
  const endpoint = https ? b.daemon.httpsEndpoint! : b.endpoint
  const signer = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: b.creds })
  t.teardown(() => signer.destroy())
  // Sizes around the 1 MiB buffer and odd ones, different content each.
  const bodies = [randomBytes(12 * MiB + 17), randomBytes(7 * MiB + 1), randomBytes(MiB + 1), randomBytes(200 * 1024 + 3), randomBytes(5 * MiB)]
  for (const [i, body] of bodies.entries()) await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: `o/${i}`, Body: body }))
  return { b, signer, bodies, endpoint }
}

for (const https of [false, true]) {
  t.test(`pipelined GETs on one ${https ? 'TLS' : 'TCP'} connection, slow reader`, async t => {
    const { signer, bodies, endpoint } = await setup(t, https)
    const url = (i: number): Promise<string> => getSignedUrl(signer, new GetObjectCommand({ Bucket: 'demo', Key: `o/${i}` }), { expiresIn: 600 })
    const connect = (): Socket => {
      const u = new URL(endpoint)
      return https ? tlsConnect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }) : netConnect(Number(u.port), u.hostname)
    }
    const order = [0, 1, 2, 3, 4, 0, 4, 1]
    const ranges: Array<[number, string, [number, number]]> = [[0, 'bytes=1048570-9000000', [1048570, 9000000]], [1, 'bytes=3-2097155', [3, 2097155]]]
    for (const [label, opts] of [
      ['slow', { every: 200 * 1024, pauseMs: 20 }],
      ['stalled first', { every: 4 * MiB, pauseMs: 400, initialWaitMs: 1500 }],
      ['fast', { every: Infinity, pauseMs: 0 }],
    ] as const) {
      const reqs: string[] = []
      const want: Buffer[] = []
      for (const i of order) { reqs.push(rawRequest(await url(i))); want.push(bodies[i]!) }
      for (const [i, range, [s, e]] of ranges) { reqs.push(rawRequest(await url(i), { Range: range })); want.push(bodies[i]!.subarray(s, e + 1)) }
      const got = await pipelined(connect(), reqs, opts)
      t.equal(got.length, want.length, `${label}: responses`)
      for (const [k, r] of got.entries()) {
        t.ok(r.status === 200 || r.status === 206, `${label} #${k} status ${r.status}`)
        t.equal(r.body.length, want[k]!.length, `${label} #${k} length`)
        t.equal(md5(r.body), md5(want[k]!), `${label} #${k} bytes`)
      }
    }
    // Several pipelined connections at once.
    const many = await Promise.all([0, 1, 2, 3].map(async c => {
      const reqs: string[] = []; const want: Buffer[] = []
      for (const i of [c % 5, (c + 1) % 5, (c + 2) % 5, 0]) { reqs.push(rawRequest(await url(i))); want.push(bodies[i]!) }
      const got = await pipelined(connect(), reqs, { every: 300 * 1024, pauseMs: 10 + c * 5 })
      return got.map((r, k) => md5(r.body) === md5(want[k]!))
    }))
    t.same(many.flat().filter(x => !x).length, 0, 'concurrent pipelined connections: all bytes as stored')
  })
}
