// npm run soak [-- --minutes N] [--clients N] [--report-seconds N]
// A bounded soak: 64 clients run a mix of PUT (4 KiB–1 MiB), GET, HEAD, LIST, DELETE and now and then a
// multipart upload against bridged (a child process on loopback) for N minutes (default 10). Every 30 s it
// prints ops by type, errors by code and the daemon's RSS and open fds; at the end a summary and a check
// that every client's keys are exactly what it wrote. Each client owns its own prefix and runs one request
// at a time, so any answer other than the expected one is a server error, not a race between clients.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { startBridged, type BridgedChild } from './bridged.js'
import { Target, type Body, type Reply } from './client.js'
import { cpuUs, sample } from './proc-stats.js'

const UID = 2000
const GID = 2000
const KiB = 1024
const MiB = 1024 * KiB

type Op = 'PUT' | 'GET' | 'HEAD' | 'LIST' | 'DELETE' | 'MULTIPART'
const OPS: Op[] = ['PUT', 'GET', 'HEAD', 'LIST', 'DELETE', 'MULTIPART']
/** Relative weights of the operations while a client holds between 1 and MAX_KEYS keys. */
const WEIGHTS: Record<Op, number> = { PUT: 30, GET: 25, HEAD: 15, LIST: 8, DELETE: 21, MULTIPART: 1 }
/** Keys a client keeps at most, so the bucket stays around a gigabyte. */
const MAX_KEYS = 100

interface Options { minutes: number, clients: number, reportSeconds: number }

function options (argv: string[]): Options {
  const num = (name: string, dflt: number): number => {
    const i = argv.findIndex(a => a === `--${name}` || a.startsWith(`--${name}=`))
    if (i < 0) return dflt
    const arg = argv[i] ?? ''
    const v = Number(arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[i + 1])
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`)
    return v
  }
  return { minutes: num('minutes', 10), clients: num('clients', 64), reportSeconds: num('report-seconds', 30) }
}

const log = (msg: string): void => { process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`) }

/** Counts and latencies per operation for one report window, errors for the whole run. */
class Stats {
  window = new Map<Op, number[]>()
  total = new Map<Op, number>()
  errors = new Map<string, number>()
  errorSamples: string[] = []

  ok (op: Op, ms: number): void {
    let w = this.window.get(op)
    if (!w) { w = []; this.window.set(op, w) }
    w.push(ms)
    this.total.set(op, (this.total.get(op) ?? 0) + 1)
  }

  error (op: Op, code: string, detail: string): void {
    const k = `${op} ${code}`
    this.errors.set(k, (this.errors.get(k) ?? 0) + 1)
    if (this.errorSamples.length < 20) this.errorSamples.push(`${k}: ${detail.slice(0, 300)}`)
  }

  errorCount (): number { let n = 0; for (const v of this.errors.values()) n += v; return n }

  /** One line per op type for the window just ended, and resets the window. */
  drainWindow (seconds: number): string {
    const parts: string[] = []
    for (const op of OPS) {
      const lat = (this.window.get(op) ?? []).sort((a, b) => a - b)
      if (lat.length === 0) { parts.push(`${op} 0`); continue }
      const p = (q: number): string => (lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? NaN).toFixed(1)
      parts.push(`${op} ${lat.length} (${(lat.length / seconds).toFixed(0)}/s, p50 ${p(0.5)} p99 ${p(0.99)} ms)`)
    }
    this.window.clear()
    return parts.join(', ')
  }

  errorsLine (): string {
    return this.errors.size === 0 ? 'none' : [...this.errors].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ×${v}`).join(', ')
  }
}

const codeOf = (r: Reply): string => /<Code>([^<]+)<\/Code>/.exec(r.text ?? '')?.[1] ?? `HTTP ${r.status}`
const decodeXml = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&')

/** Picks a size between 4 KiB and 1 MiB, uniform in log scale, so most objects are small and some are large. */
const putSize = (): number => Math.round(4 * KiB * Math.pow(256, Math.random()))

/** One client: its own prefix, its own model of which keys exist and how long each is, one request at a time. */
class Client {
  private readonly keys = new Map<string, number>()
  private seq = 0
  constructor (private readonly id: number, private readonly s3: Target, private readonly body: Buffer, private readonly stats: Stats) {}

  get prefix (): string { return `c${String(this.id).padStart(2, '0')}/` }

  private pick (): Op {
    if (this.keys.size === 0) return 'PUT'
    if (this.keys.size >= MAX_KEYS) return 'DELETE'
    let r = Math.random() * OPS.reduce((n, op) => n + WEIGHTS[op], 0)
    for (const op of OPS) { r -= WEIGHTS[op]; if (r < 0) return op }
    return 'GET'
  }

  private someKey (): string {
    const i = Math.floor(Math.random() * this.keys.size)
    let n = 0
    for (const k of this.keys.keys()) if (n++ === i) return k
    throw new Error('no key')
  }

  private newKey (): string {
    const n = this.seq++
    // A few folders per client, two deep, so folders are made and removed as keys come and go.
    return `${this.prefix}d${n % 5}/e${n % 3}/k${n}`
  }

  /** The key of the write in flight, to re-learn from the server if the connection drops under it. */
  private writing: string | undefined

  async run (done: () => boolean): Promise<void> {
    while (!done()) {
      const op = this.pick()
      const t0 = performance.now()
      try {
        const problem = await this.step(op)
        if (problem === undefined) this.stats.ok(op, performance.now() - t0)
        else this.stats.error(op, problem.code, problem.detail)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err))
        this.stats.error(op, code, err instanceof Error ? err.message : String(err))
        // A dropped connection leaves the key's state unknown: ask the server.
        await new Promise(resolve => setTimeout(resolve, 100))
        if (this.writing !== undefined) await this.relearn(this.writing).catch(() => undefined)
      }
      this.writing = undefined
    }
  }

  private async relearn (key: string): Promise<void> {
    const r = await this.s3.request('HEAD', `/soak/${key}`)
    if (r.status === 200) this.keys.set(key, Number(r.headers['content-length']))
    else this.keys.delete(key)
  }

  /** Runs one operation; returns undefined if the answer was the expected one, else what was wrong. */
  private async step (op: Op): Promise<{ code: string, detail: string } | undefined> {
    const bad = (r: Reply, what: string): { code: string, detail: string } => ({ code: codeOf(r), detail: `${what}: HTTP ${r.status} ${(r.text ?? '').slice(0, 200)}` })
    switch (op) {
      case 'PUT': {
        const key = Math.random() < 0.2 && this.keys.size > 0 ? this.someKey() : this.newKey()
        const size = putSize()
        this.writing = key
        const r = await this.s3.request('PUT', `/soak/${key}`, { body: { chunk: this.body, size }, text: true })
        if (r.status !== 200) { await this.relearn(key); return bad(r, `PUT ${key}`) }
        this.keys.set(key, size)
        return undefined
      }
      case 'GET': {
        const key = this.someKey()
        const r = await this.s3.request('GET', `/soak/${key}`)
        if (r.status !== 200) return bad(r, `GET ${key}`)
        if (r.bytes !== this.keys.get(key)) return { code: 'WrongLength', detail: `GET ${key}: ${r.bytes} bytes, expected ${this.keys.get(key)}` }
        return undefined
      }
      case 'HEAD': {
        const key = this.someKey()
        const r = await this.s3.request('HEAD', `/soak/${key}`)
        if (r.status !== 200) return bad(r, `HEAD ${key}`)
        if (Number(r.headers['content-length']) !== this.keys.get(key)) return { code: 'WrongLength', detail: `HEAD ${key}: ${r.headers['content-length']}` }
        return undefined
      }
      case 'LIST': {
        const r = await this.s3.request('GET', '/soak', { query: { 'list-type': '2', prefix: this.prefix, 'max-keys': '1000' }, text: true })
        if (r.status !== 200) return bad(r, `LIST ${this.prefix}`)
        const listed = [...(r.text ?? '').matchAll(/<Key>([^<]*)<\/Key>/g)].map(m => decodeXml(m[1] ?? ''))
        const want = [...this.keys.keys()]
        if (listed.length !== want.length || !listed.every(k => this.keys.has(k))) {
          return { code: 'ListMismatch', detail: `LIST ${this.prefix}: ${listed.length} keys, expected ${want.length}` }
        }
        return undefined
      }
      case 'DELETE': {
        const key = this.someKey()
        this.writing = key
        const r = await this.s3.request('DELETE', `/soak/${key}`, { text: true })
        if (r.status !== 204) { await this.relearn(key); return bad(r, `DELETE ${key}`) }
        this.keys.delete(key)
        return undefined
      }
      case 'MULTIPART':
        return this.multipart()
    }
  }

  /** CreateMultipartUpload, a 5 MiB and a smaller last part, Complete, then HEAD to check the length. */
  private async multipart (): Promise<{ code: string, detail: string } | undefined> {
    const key = this.newKey()
    this.writing = key
    const path = `/soak/${key}`
    const created = await this.s3.request('POST', path, { query: { uploads: '' }, text: true })
    if (created.status !== 200) return { code: codeOf(created), detail: `CreateMultipartUpload ${key}` }
    const uploadId = decodeXml(/<UploadId>([^<]+)<\/UploadId>/.exec(created.text ?? '')?.[1] ?? '')
    const sizes = [5 * MiB, putSize()]
    const etags: string[] = []
    for (const [i, size] of sizes.entries()) {
      const part: Body = { chunk: this.body, size }
      const r = await this.s3.request('PUT', path, { query: { partNumber: String(i + 1), uploadId }, body: part, text: true })
      if (r.status !== 200) {
        await this.s3.request('DELETE', path, { query: { uploadId }, text: true })
        return { code: codeOf(r), detail: `UploadPart ${i + 1} ${key}` }
      }
      etags.push(String(r.headers.etag))
    }
    const xml = Buffer.from('<CompleteMultipartUpload>' +
      etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('') + '</CompleteMultipartUpload>')
    const done = await this.s3.request('POST', path, { query: { uploadId }, body: { chunk: xml, size: xml.length }, text: true })
    // Complete can answer 200 with an <Error> body after it has started streaming keep-alive whitespace.
    if (done.status !== 200 || !/<CompleteMultipartUploadResult/.test(done.text ?? '')) return { code: codeOf(done), detail: `CompleteMultipartUpload ${key}` }
    const total = sizes.reduce((a, b) => a + b, 0)
    this.keys.set(key, total)
    const head = await this.s3.request('HEAD', path)
    if (Number(head.headers['content-length']) !== total) return { code: 'WrongLength', detail: `HEAD after Complete ${key}: ${head.headers['content-length']}` }
    return undefined
  }

  /** The keys the server lists under this client's prefix that differ from the model (both ways). */
  async verify (): Promise<string[]> {
    const listed = new Set<string>()
    let token: string | undefined
    for (;;) {
      const query: Record<string, string> = { 'list-type': '2', prefix: this.prefix, 'max-keys': '1000' }
      if (token !== undefined) query['continuation-token'] = token
      const r = await this.s3.request('GET', '/soak', { query, text: true })
      if (r.status !== 200) return [`LIST failed: ${codeOf(r)}`]
      for (const m of (r.text ?? '').matchAll(/<Key>([^<]*)<\/Key>/g)) listed.add(decodeXml(m[1] ?? ''))
      const next = /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(r.text ?? '')?.[1]
      if (!/<IsTruncated>true</.test(r.text ?? '') || next === undefined) break
      token = decodeXml(next)
    }
    return [...[...listed].filter(k => !this.keys.has(k)).map(k => `unexpected ${k}`),
      ...[...this.keys.keys()].filter(k => !listed.has(k)).map(k => `missing ${k}`)]
  }
}

/** Files below dir, recursively; 0 if it does not exist. */
function countFiles (dir: string, match: (name: string) => boolean = () => true): number {
  let n = 0
  try {
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      if (ent.isDirectory()) n += countFiles(join(dir, ent.name), match)
      else if (match(ent.name)) n++
    }
  } catch {}
  return n
}

async function main (): Promise<void> {
  const opt = options(process.argv.slice(2))
  const tmp = mkdtempSync('/tmp/s3bridge-soak-')
  const bucket = join(tmp, 'data', 'soak')
  let bridged: BridgedChild | undefined
  let stopping = false
  const onSignal = (): void => { stopping = true; log('interrupted: finishing the requests in flight') }
  process.once('SIGINT', onSignal)
  try {
    chmodSync(tmp, 0o755)
    mkdirSync(bucket, { recursive: true })
    chmodSync(join(tmp, 'data'), 0o755)
    chownSync(bucket, UID, GID)
    bridged = await startBridged({ dir: tmp, uid: UID, gid: GID, logLevel: 'info', fsync: false, buckets: { soak: bucket } })
    const pid = bridged.pid
    const s3 = Target.signed(bridged.endpoint, opt.clients, bridged.accessKeyId, bridged.secretAccessKey)
    const stats = new Stats()
    const body = randomBytes(MiB)
    const clients = Array.from({ length: opt.clients }, (_, i) => new Client(i, s3, body, stats))

    const s0 = sample(pid)
    const rss = { start: s0.rssKiB, min: s0.rssKiB, max: s0.rssKiB }
    const fds = { start: s0.fds, min: s0.fds, max: s0.fds }
    log(`bridged pid ${pid} at ${bridged.endpoint}; ${opt.clients} clients for ${opt.minutes} min; bucket ${bucket}`)
    log(`start: RSS ${(s0.rssKiB / 1024).toFixed(0)} MiB, ${s0.fds} fds`)

    const t0 = Date.now()
    const deadline = t0 + opt.minutes * 60_000
    let lastReport = t0
    let lastCpu = cpuUs(pid)
    const track = (): void => {
      const s = sample(pid)
      rss.min = Math.min(rss.min, s.rssKiB); rss.max = Math.max(rss.max, s.rssKiB)
      fds.min = Math.min(fds.min, s.fds); fds.max = Math.max(fds.max, s.fds)
    }
    const sampler = setInterval(track, 1000)
    const reporter = setInterval(() => {
      const now = Date.now()
      const secs = (now - lastReport) / 1000
      const s = sample(pid)
      const cpu = (s.cpuUs - lastCpu) / 1e6 / secs * 100
      lastCpu = s.cpuUs
      lastReport = now
      log(`t+${((now - t0) / 1000).toFixed(0)} s: ${stats.drainWindow(secs)}`)
      log(`    errors so far: ${stats.errorsLine()}; daemon RSS ${(s.rssKiB / 1024).toFixed(0)} MiB, ${s.fds} fds, CPU ${cpu.toFixed(0)}%`)
    }, opt.reportSeconds * 1000)
    await Promise.all(clients.map(c => c.run(() => stopping || Date.now() >= deadline)))
    clearInterval(reporter)
    clearInterval(sampler)
    const elapsed = (Date.now() - t0) / 1000
    log(`t+${elapsed.toFixed(0)} s (last window): ${stats.drainWindow((Date.now() - lastReport) / 1000)}`)

    log('checking every client\'s keys against a full listing')
    const mismatches = (await Promise.all(clients.map(c => c.verify()))).flat()
    s3.close()
    // Let the daemon see the clients' sockets close, and its idle MD5 hash workers (4 descriptors each) retire
    // after their 10 s without work (lib/storage/md5-tap.ts), so the fd count compares like with like.
    await new Promise(resolve => setTimeout(resolve, 12_000))
    const end = sample(pid)
    track()
    const staging = join(bucket, '.s3bridge')
    const leftTemp = countFiles(join(staging, 'tmp'))
    const leftParts = countFiles(join(staging, 'uploads'), n => !n.endsWith('.done'))
    const tombstones = countFiles(join(staging, 'uploads'), n => n.endsWith('.done'))
    const totalOps = OPS.reduce((n, op) => n + (stats.total.get(op) ?? 0), 0)
    const errors = stats.errorCount()
    const summary = [
      `## soak summary: ${opt.clients} clients, ${(elapsed / 60).toFixed(1)} min`,
      `ops: ${totalOps} (${(totalOps / elapsed).toFixed(0)}/s): ${OPS.map(op => `${op} ${stats.total.get(op) ?? 0}`).join(', ')}`,
      `errors: ${errors}${errors > 0 ? ` (${stats.errorsLine()})` : ''}`,
      ...stats.errorSamples.map(s => `  e.g. ${s}`),
      `keys differing from the clients' models: ${mismatches.length}${mismatches.length > 0 ? ` (${mismatches.slice(0, 5).join('; ')})` : ''}`,
      `daemon RSS MiB: start ${(rss.start / 1024).toFixed(0)}, min ${(rss.min / 1024).toFixed(0)}, max ${(rss.max / 1024).toFixed(0)}, end ${(end.rssKiB / 1024).toFixed(0)} (peak VmHWM ${(end.hwmKiB / 1024).toFixed(0)})`,
      `daemon fds: start ${fds.start}, min ${fds.min}, max ${fds.max}, end (clients closed) ${end.fds}`,
      `daemon CPU: ${(end.cpuUs / 1e6).toFixed(0)} s over ${elapsed.toFixed(0)} s`,
      `left in staging: ${leftTemp} temp files, ${leftParts} multipart files other than tombstones (and ${tombstones} Complete tombstones, purged by a job)`,
    ]
    process.stdout.write(`\n${summary.join('\n')}\n`)
    if (errors > 0 || mismatches.length > 0 || end.fds > fds.start || leftTemp > 0 || leftParts > 0) process.exitCode = 1
  } finally {
    await bridged?.stop()
    process.removeListener('SIGINT', onSignal)
    rmSync(tmp, { recursive: true, force: true })
  }
}

main().catch(err => {
  process.stderr.write(`soak: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exitCode = 1
})
