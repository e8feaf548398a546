// Prometheus metrics of one bridged process (prom-client), in a registry of its own: no global state.
import { readdir } from 'node:fs/promises'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { BucketRecord, State } from './state/types.js'
import { existingUploadsDir, isUploadId } from './storage/multipart.js'
import { kernelSentBytes } from './storage/file-body.js'

export interface RequestSample {
  operation: string
  status: number
  /** S3 error code when the request failed. */
  errorCode?: string
  durationSeconds: number
  bytesIn: number
  bytesOut: number
}

export interface MetricsOptions {
  /** The current state, read at scrape time for the key, bucket and upload gauges. */
  state: () => State
  /** Also export process metrics (memory, CPU, open file descriptors, event loop lag). */
  hasProcessMetrics?: boolean
  /** How many buckets cannot be served now (directory missing, filesystem not mounted), read at scrape time. */
  unavailableBuckets?: () => Promise<number>
  /** Whether a bucket's folders may be read at scrape time (the daemon's availability verdict); default: all. */
  readable?: (bucket: BucketRecord) => Promise<boolean>
}

/** Latency buckets from 5 ms to 5 minutes: small GETs and multi-gigabyte PUTs share one histogram. */
const DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

export class Metrics {
  readonly registry = new Registry()
  private readonly requests: Counter<'operation' | 'status'>
  private readonly errors: Counter<'operation' | 'code'>
  private readonly duration: Histogram<'operation'>
  private readonly bytesIn: Counter<'operation'>
  private readonly bytesOut: Counter<'operation'>
  private readonly inFlight: Gauge

  constructor (opts: MetricsOptions) {
    const registers = [this.registry]
    this.requests = new Counter({ name: 's3bridge_requests_total', help: 'S3 requests answered, by operation and HTTP status.', labelNames: ['operation', 'status'], registers })
    this.errors = new Counter({ name: 's3bridge_request_errors_total', help: 'S3 requests that ended in an S3 error, by operation and error code.', labelNames: ['operation', 'code'], registers })
    this.duration = new Histogram({ name: 's3bridge_request_duration_seconds', help: 'Time from request start to the last byte of the response.', labelNames: ['operation'], buckets: DURATION_BUCKETS_SECONDS, registers })
    this.bytesIn = new Counter({ name: 's3bridge_received_bytes_total', help: 'Request body bytes received.', labelNames: ['operation'], registers })
    this.bytesOut = new Counter({ name: 's3bridge_sent_bytes_total', help: 'Response body bytes sent.', labelNames: ['operation'], registers })
    new Counter({
      name: 's3bridge_sendfile_sent_bytes_total', help: 'GetObject body bytes the kernel sent from the file to the client (sendfile), never copied through the daemon.', registers,
      collect () { this.reset(); this.inc(kernelSentBytes()) },
    })
    this.inFlight = new Gauge({ name: 's3bridge_requests_in_flight', help: 'Requests being served now.', registers })
    // Gauges read from the shared state are the same in every worker: aggregate with max, not sum.
    new Gauge({
      name: 's3bridge_access_keys', help: 'Access keys in the state store.', registers, aggregator: 'max',
      collect () { this.set(Object.values(opts.state().users).reduce((n, u) => n + u.keys.length, 0)) },
    })
    new Gauge({
      name: 's3bridge_users', help: 'Bridge users in the state store.', registers, aggregator: 'max',
      collect () { this.set(Object.keys(opts.state().users).length) },
    })
    new Gauge({
      name: 's3bridge_buckets', help: 'Buckets mapped.', registers, aggregator: 'max',
      collect () { this.set(Object.keys(opts.state().buckets).length) },
    })
    new Gauge({
      name: 's3bridge_multipart_uploads', help: 'Multipart uploads in progress (one directory read per bucket).', registers, aggregator: 'max',
      async collect () { this.set(await countUploads(opts.state(), opts.readable ?? (async () => true))) },
    })
    const unavailable = opts.unavailableBuckets
    if (unavailable !== undefined) {
      new Gauge({
        name: 's3bridge_buckets_unavailable', help: 'Buckets refused with 503 because their directory is missing or their filesystem is not mounted.', registers, aggregator: 'max',
        async collect () { this.set(await unavailable()) },
      })
    }
    if (opts.hasProcessMetrics) collectDefaultMetrics({ register: this.registry })
  }

  requestStarted (): void {
    this.inFlight.inc()
  }

  requestFinished (r: RequestSample): void {
    this.inFlight.dec()
    this.requests.inc({ operation: r.operation, status: String(r.status) })
    if (r.errorCode !== undefined) this.errors.inc({ operation: r.operation, code: r.errorCode })
    this.duration.observe({ operation: r.operation }, r.durationSeconds)
    if (r.bytesIn > 0) this.bytesIn.inc({ operation: r.operation }, r.bytesIn)
    if (r.bytesOut > 0) this.bytesOut.inc({ operation: r.operation }, r.bytesOut)
  }
}

async function countUploads (state: State, readable: (bucket: BucketRecord) => Promise<boolean>): Promise<number> {
  let n = 0
  for (const bucket of Object.values(state.buckets)) {
    if (!await readable(bucket)) continue // missing, unmounted or hung: its staging folder is opened synchronously
    const dir = existingUploadsDir(bucket.path) // a scrape never makes a staging folder
    const names = dir === undefined ? [] : await readdir(dir).catch(() => [] as string[])
    n += names.filter(isUploadId).length
  }
  return n
}
