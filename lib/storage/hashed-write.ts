// An upload body into its staged file, with the MD5 (the ETag) of exactly the bytes written.
import type { FileHandle } from 'node:fs/promises'
import { Writable, type Readable, type Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileSink } from './file-sink.js'
import { Md5Tap, type BodyLimit } from './md5-tap.js'
import { nativeJobs, type Md5Handle, type NativeAddon } from './native.js'

/**
 * Bytes handed to one addon job. A 64 KiB socket read per job (what a plain fs write stream does under load) made
 * the pool and the event loop wake each other ~8,000 times a second per 500 MB/s; a megabyte per job hashes
 * while the bytes are in the pool thread's cache and leaves room for the next batch to arrive meanwhile.
 */
export const HASH_BATCH_BYTES = 1024 * 1024
/** A batch also ends at this many chunks (IOV_MAX): a body trickled in tiny pieces must not pile up objects. */
const HASH_BATCH_CHUNKS = 1024

export interface HashedWriteOptions {
  /** Stages between the body and the file (a checksum tap): each sees every chunk first. */
  through?: Transform[]
  /** Refuse a body longer than this (the error comes from `tooLarge`). */
  limit?: BodyLimit
  /** A copy into a new, empty file: aligned blocks of zeros become holes (fileSink's holes mode, streamed). */
  holes?: boolean
}

/**
 * Streams `body` into `fh` (at its file offset) and returns how many bytes it wrote and their MD5 in hex. With
 * the addon (unless S3BRIDGE_NO_NATIVE_STAT=1) each ~1 MiB is written and hashed by one pool job; otherwise a
 * plain file stream writes and Md5Tap hashes (on the event loop, past 1 MiB on worker threads). When it rejects,
 * no write is still running on `fh`, so the caller may close it at once.
 */
export async function writeHashed (body: Readable, fh: FileHandle, opts: HashedWriteOptions = {}): Promise<{ bytes: number, md5Hex: string }> {
  const through = opts.through ?? []
  const addon = opts.holes === true ? undefined : nativeJobs()
  const handle = addon?.md5Open?.()
  if (addon === undefined || handle === undefined) {
    const tap = new Md5Tap(opts.limit)
    await pipeline([body, ...through, tap, fileSink(fh, undefined, { holes: opts.holes })])
    return { bytes: tap.bytes, md5Hex: tap.digestHex() }
  }
  const native = addon as Required<NativeAddon> // md5Open answered: md5Write and md5Digest are there too
  const sink = new HashingFileSink(native, fh.fd, handle, opts.limit)
  try {
    await pipeline([body, ...through, sink])
  } finally {
    await sink.settled()
  }
  return { bytes: sink.bytes, md5Hex: native.md5Digest(handle) }
}

/** A Writable gathering chunks into HASH_BATCH_BYTES jobs of md5Write; at most one job in flight. */
class HashingFileSink extends Writable {
  bytes = 0
  private pending: Buffer[] = []
  private pendingBytes = 0
  private inflight?: Promise<unknown>

  constructor (private readonly addon: Required<NativeAddon>, private readonly fd: number, private readonly handle: Md5Handle, private readonly limit?: BodyLimit) {
    // While a job runs, up to another batch waits here before the body is paused.
    super({ highWaterMark: HASH_BATCH_BYTES })
  }

  override _write (chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.take([chunk], cb)
  }

  override _writev (entries: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.take(entries.map(e => e.chunk), cb)
  }

  override _final (cb: (err?: Error | null) => void): void {
    this.flush().then(() => cb(), cb)
  }

  override _destroy (err: Error | null, cb: (err: Error | null) => void): void {
    this.pending = []
    // 'close' (which pipeline waits for) only once the pool thread has let go of the descriptor.
    void this.settled().then(() => cb(err))
  }

  /** Resolves once no job is running (whether it succeeded or not). */
  async settled (): Promise<void> {
    await this.inflight?.catch(() => undefined)
  }

  private take (chunks: Buffer[], cb: (err?: Error | null) => void): void {
    for (const c of chunks) {
      this.bytes += c.length
      if (this.limit !== undefined && this.bytes > this.limit.maxBytes) { cb(this.limit.tooLarge(this.bytes)); return }
      this.pending.push(c)
      this.pendingBytes += c.length
    }
    if (this.pendingBytes < HASH_BATCH_BYTES && this.pending.length < HASH_BATCH_CHUNKS) { cb(); return }
    this.flush().then(() => cb(), cb)
  }

  private async flush (): Promise<void> {
    const chunks = this.pending
    const size = this.pendingBytes
    this.pending = []
    this.pendingBytes = 0
    if (chunks.length === 0) return
    const job = this.addon.md5Write(this.fd, chunks, this.handle)
    this.inflight = job
    const written = await job
    // md5Write goes on after short writes until every byte is written or an error rejects it.
    if (written !== size) throw new Error(`md5Write wrote ${written} of ${size} bytes`)
  }
}
