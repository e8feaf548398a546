// The MD5 of an upload (its ETag), computed as the bytes pass on their way to the file.
import { createHash, type Hash } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { Transform, type TransformCallback } from 'node:stream'
import { Worker } from 'node:worker_threads'

/** A body longer than maxBytes is refused with tooLarge's error (UploadPart's 5 GiB). */
export interface BodyLimit { maxBytes: number, tooLarge (bytes: number): Error }

/**
 * Bodies up to this size are hashed on the event loop. Past it the hashing moves to a worker thread: MD5
 * runs at ~650 MB/s on one core, so four large uploads hashed on the event loop leave the other core idle
 * while the loop is saturated (256 MiB PUT profile).
 */
export const OFFLOAD_AFTER_BYTES = 1024 * 1024
/** Bytes sent to a worker per message, and how far hashing may lag behind the file before the upload waits. */
const BATCH_BYTES = 1024 * 1024
const MAX_LAG_BYTES = 4 * 1024 * 1024
/**
 * Copies for the workers go through reused buffers that travel there and back (transferred, not cloned):
 * allocating a fresh megabyte per message left the workers' isolates holding garbage they collect lazily.
 */
const POOLED_BYTES = 2 * 1024 * 1024
const POOL_KEEP = 32
/** A worker with nothing to hash for this long exits, giving back its thread, memory and descriptors. */
const IDLE_EXIT_MS = 10_000

// CommonJS source run with `eval`, so the worker needs no file of its own next to the compiled code.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const hashes = new Map()
parentPort.on('message', m => {
  let h = hashes.get(m.id)
  if (h === undefined) { h = createHash('md5'); hashes.set(m.id, h) }
  if (m.data) {
    h.update(new Uint8Array(m.data, 0, m.length))
    parentPort.postMessage({ id: m.id, ack: m.length, buffer: m.data }, [m.data]) // back to the pool
  }
  if (m.done) { hashes.delete(m.id); parentPort.postMessage({ id: m.id, hex: h.digest('hex') }) }
  if (m.drop) hashes.delete(m.id)
})
`

interface Pending { ack (bytes: number): void, done (hex: string): void, fail (err: Error): void }

class HashPool {
  private readonly workers: Worker[] = []
  private readonly pending = new Map<number, Pending & { worker: Worker }>()
  /** Hashes open per worker: a worker keeps the process alive only while it has work. */
  private readonly busy = new Map<Worker, number>()
  private readonly idleTimers = new Map<Worker, NodeJS.Timeout>()
  private nextId = 1
  private turn = 0
  private readonly free: ArrayBuffer[] = []

  private worker (): Worker {
    const size = Math.max(1, Math.min(4, availableParallelism()))
    if (this.workers.length < size) {
      const w = new Worker(WORKER_SOURCE, { eval: true })
      w.on('message', (m: { id: number, ack?: number, hex?: string, buffer?: ArrayBuffer }) => {
        if (m.buffer?.byteLength === POOLED_BYTES && this.free.length < POOL_KEEP) this.free.push(m.buffer)
        const p = this.pending.get(m.id)
        if (!p) return
        if (m.ack !== undefined) p.ack(m.ack)
        if (m.hex !== undefined) { this.release(m.id); p.done(m.hex) }
      })
      w.on('error', err => this.lost(w, err))
      w.on('exit', code => this.lost(w, new Error(`MD5 worker exited with code ${code}`)))
      w.unref() // idle until given work (after the listeners: adding one refs it again)
      this.workers.push(w)
      return w
    }
    this.turn = (this.turn + 1) % this.workers.length
    return this.workers[this.turn] as Worker
  }

  /** A worker died: its hashes cannot be finished, so their uploads fail (and leave nothing published). */
  private lost (w: Worker, err: Error): void {
    const i = this.workers.indexOf(w)
    if (i < 0) return
    this.workers.splice(i, 1)
    this.busy.delete(w)
    clearTimeout(this.idleTimers.get(w))
    this.idleTimers.delete(w)
    if (this.workers.length === 0) this.free.length = 0
    for (const [id, p] of this.pending) {
      if (p.worker === w) { this.pending.delete(id); p.fail(err) }
    }
  }

  private release (id: number): void {
    const p = this.pending.get(id)
    if (!p) return
    this.pending.delete(id)
    const n = (this.busy.get(p.worker) ?? 1) - 1
    this.busy.set(p.worker, n)
    if (n === 0) {
      const w = p.worker
      w.unref()
      const timer = setTimeout(() => {
        this.idleTimers.delete(w)
        if (this.busy.get(w) !== 0) return
        // Out of the rotation first, so no new hash is given to a worker on its way out.
        this.lost(w, new Error('MD5 worker retired while idle'))
        void w.terminate()
      }, IDLE_EXIT_MS)
      timer.unref()
      this.idleTimers.set(w, timer)
    }
  }

  open (handlers: Pending): { send (chunks: Buffer[]): void, finish (): void, drop (): void } {
    const id = this.nextId++
    const w = this.worker()
    this.pending.set(id, { ...handlers, worker: w })
    const n = (this.busy.get(w) ?? 0) + 1
    this.busy.set(w, n)
    if (n === 1) {
      w.ref()
      clearTimeout(this.idleTimers.get(w))
      this.idleTimers.delete(w)
    }
    return {
      // A fresh copy whose memory is transferred: the original chunks still go on to the file.
      send: chunks => {
        const length = chunks.reduce((n, c) => n + c.length, 0)
        const buffer = length <= POOLED_BYTES ? (this.free.pop() ?? new ArrayBuffer(POOLED_BYTES)) : new ArrayBuffer(length)
        const view = new Uint8Array(buffer)
        let at = 0
        for (const c of chunks) { view.set(c, at); at += c.length }
        w.postMessage({ id, data: buffer, length }, [buffer])
      },
      finish: () => w.postMessage({ id, done: true }),
      drop: () => { this.release(id); w.postMessage({ id, drop: true }) },
    }
  }
}

const pool = new HashPool()

/**
 * Passes chunks through unchanged and computes their MD5. Small bodies are hashed inline; once a body
 * passes OFFLOAD_AFTER_BYTES, what was held back and everything after is hashed by a worker thread, with
 * the upload held back when hashing lags MAX_LAG_BYTES behind. `digestHex()` is valid after 'finish'.
 */
export class Md5Tap extends Transform {
  bytes = 0
  private held: Buffer[] = []
  private heldBytes = 0
  private batch: Buffer[] = []
  private batchBytes = 0
  private channel?: ReturnType<HashPool['open']>
  private lag = 0
  private release?: () => void
  private finished?: Promise<string>
  private inlineHex?: string
  private workerError?: Error

  /** `limit`: refuse a body longer than this (the error comes from `tooLarge`). */
  constructor (private readonly limit?: BodyLimit) {
    super()
  }

  override _transform (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length
    if (this.limit && this.bytes > this.limit.maxBytes) { cb(this.limit.tooLarge(this.bytes)); return }
    if (this.workerError) { cb(this.workerError); return }
    if (this.channel === undefined) {
      this.held.push(chunk)
      this.heldBytes += chunk.length
      if (this.heldBytes > OFFLOAD_AFTER_BYTES) this.offload()
      cb(null, chunk)
      return
    }
    this.queue(chunk)
    this.push(chunk)
    if (this.lag > MAX_LAG_BYTES) this.release = () => cb()
    else cb()
  }

  override _flush (cb: TransformCallback): void {
    if (this.channel === undefined) {
      const h: Hash = createHash('md5')
      for (const c of this.held) h.update(c)
      this.held = []
      this.inlineHex = h.digest('hex')
      cb()
      return
    }
    if (this.workerError) { cb(this.workerError); return }
    this.sendBatch()
    const channel = this.channel
    this.finished = new Promise<string>((resolve, reject) => {
      this.onDone = resolve
      this.onFail = reject
      channel.finish()
    })
    // 'finish' waits for the digest, so a caller that awaited the pipeline can read it synchronously.
    this.finished.then(hex => { this.inlineHex = hex; cb() }, (err: Error) => cb(err))
  }

  override _destroy (err: Error | null, cb: (err: Error | null) => void): void {
    if (this.channel && this.inlineHex === undefined) this.channel.drop()
    this.held = []
    this.batch = []
    cb(err)
  }

  /** The MD5 of every byte that passed, in hex. */
  digestHex (): string {
    if (this.inlineHex === undefined) throw new Error('Md5Tap: digest read before the stream finished')
    return this.inlineHex
  }

  private onDone?: (hex: string) => void
  private onFail?: (err: Error) => void

  private offload (): void {
    this.channel = pool.open({
      ack: bytes => {
        this.lag -= bytes
        if (this.release && this.lag <= MAX_LAG_BYTES / 2) { const r = this.release; this.release = undefined; r() }
      },
      done: hex => this.onDone?.(hex),
      fail: err => {
        this.workerError = err
        this.onFail?.(err)
        if (this.release) { const r = this.release; this.release = undefined; r() }
      },
    })
    for (const c of this.held) this.queue(c)
    this.held = []
    this.heldBytes = 0
  }

  private queue (chunk: Buffer): void {
    this.batch.push(chunk)
    this.batchBytes += chunk.length
    if (this.batchBytes >= BATCH_BYTES) this.sendBatch()
  }

  private sendBatch (): void {
    if (this.batchBytes === 0 || !this.channel) return
    this.channel.send(this.batch)
    this.lag += this.batchBytes
    this.batch = []
    this.batchBytes = 0
  }
}
