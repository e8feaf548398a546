// The load generator's HTTP side: keep-alive node:http requests, SigV4-signed by bench/sigv4.ts, bodies
// streamed from one reused buffer and responses drained without copying, so the generator stays cheap.
import http from 'node:http'
import { Signer, uriEncode } from './sigv4.js'

export interface Body { chunk: Buffer, size: number }
export interface Reply { status: number, headers: http.IncomingHttpHeaders, bytes: number, text?: string }
export interface RequestOptions {
  query?: Record<string, string>
  body?: Body
  headers?: Record<string, string>
  /** keep the response text (XML answers); otherwise the body is counted and dropped */
  text?: boolean
}

export class Target {
  readonly agent: http.Agent
  private readonly host: string
  private readonly port: number
  constructor (endpoint: string, concurrency: number, private readonly signer?: Signer) {
    const u = new URL(endpoint)
    this.host = u.hostname
    this.port = Number(u.port)
    this.agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency })
  }

  static signed (endpoint: string, concurrency: number, accessKeyId: string, secretAccessKey: string): Target {
    const host = new URL(endpoint).host
    return new Target(endpoint, concurrency, new Signer({ accessKeyId, secretAccessKey, region: 'us-east-1', host }))
  }

  request (method: string, path: string, opts: RequestOptions = {}): Promise<Reply> {
    const encPath = uriEncode(path, true)
    const extra: Record<string, string> = { ...(opts.headers ?? {}) }
    let headers: Record<string, string | number> = extra
    let qs = Object.entries(opts.query ?? {}).map(([k, v]) => `${uriEncode(k, false)}=${uriEncode(v, false)}`).join('&')
    if (this.signer) {
      const s = this.signer.sign(method, encPath, opts.query ?? {}, opts.body !== undefined, extra)
      headers = s.headers
      qs = s.qs
    }
    if (opts.body) headers['content-length'] = opts.body.size
    return new Promise((resolve, reject) => {
      const req = http.request({ host: this.host, port: this.port, method, path: qs ? `${encPath}?${qs}` : encPath, headers, agent: this.agent }, res => {
        let bytes = 0
        const parts: Buffer[] = []
        res.on('data', (d: Buffer) => { bytes += d.length; if (opts.text) parts.push(d) })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, text: opts.text ? Buffer.concat(parts).toString('utf8') : undefined }))
        res.on('error', reject)
      })
      req.on('error', reject)
      const body = opts.body
      if (!body) { req.end(); return }
      let left = body.size
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, body.chunk.length)
          left -= n
          const more = req.write(n === body.chunk.length ? body.chunk : body.chunk.subarray(0, n))
          if (!more) { req.once('drain', pump); return }
        }
        req.end()
      }
      pump()
    })
  }

  close (): void { this.agent.destroy() }
}

export interface PoolResult { elapsedMs: number, latMs: Float64Array, ops: number }

/** Runs fn(0..total-1) with `concurrency` in flight; records each call's latency. Bounded by total. */
export async function pool (total: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<PoolResult> {
  const latMs = new Float64Array(total)
  let next = 0
  const t0 = performance.now()
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++
      const s = performance.now()
      await fn(i)
      latMs[i] = performance.now() - s
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker))
  return { elapsedMs: performance.now() - t0, latMs, ops: total }
}

export function percentile (lat: Float64Array, p: number): number {
  const sorted = Float64Array.from(lat).sort()
  return sorted[Math.min(sorted.length - 1, Math.floor(p / 100 * sorted.length))] ?? NaN
}

export function expect (reply: Reply, status: number, what: string): void {
  if (reply.status !== status) throw new Error(`${what}: HTTP ${reply.status}, expected ${status}${reply.text ? ': ' + reply.text.slice(0, 300) : ''}`)
}
