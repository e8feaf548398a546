// A served file's bytes as a Readable whose read buffers are used again once an HTTP response has sent them.
import type { FileHandle } from 'node:fs/promises'
import { ServerResponse } from 'node:http'
import { Readable } from 'node:stream'

/** Buffers a body keeps for reuse: in flight at once are the one being read, one queued, and a few being sent. */
const KEEP = 4

/**
 * Read buffers lent to one body. A buffer comes back only from the write callback of a ServerResponse (the bytes
 * are in the kernel by then) and only once per loan, so a buffer is never read into while any of its bytes may
 * still be sent. Why: a fresh 1 MiB Buffer per read made V8 start a full mark-compact every 64 MiB of external
 * memory (92 in one `--only=large` bench run, ~35% of the daemon's samples under the 256 MiB GET in ConcurrentMarking
 * and sweeping); reusing four per body took the GET's daemon CPU from ~1.2 s to ~0.5 s per GiB.
 */
class ReadBuffers {
  private readonly free: ArrayBuffer[] = []
  /** Weak: a body piped elsewhere never gives buffers back, and must not keep them (a 5 GB copy would hold 5 GB). */
  private readonly lent = new WeakSet<ArrayBuffer>()
  private open = true
  constructor (readonly size: number) {}

  take (): Buffer {
    const ab = this.free.pop()
    const buf = ab === undefined ? Buffer.allocUnsafeSlow(this.size) : Buffer.from(ab, 0, this.size)
    this.lent.add(buf.buffer)
    return buf
  }

  /** `chunk` (a view of a lent buffer) has been sent: its buffer may be read into again. */
  give (chunk: Buffer): void {
    const ab = chunk.buffer as ArrayBuffer
    if (!this.lent.delete(ab) || !this.open || this.free.length >= KEEP) return
    this.free.push(ab)
  }

  close (): void {
    this.open = false
    this.free.length = 0
  }
}

/**
 * `bytes` bytes of fh from `start`, read `bufferSize` at a time into buffers of a ReadBuffers. Fewer when the file
 * ends early (the caller checks the count). Positional reads: the file offset is never used.
 */
async function * fileChunks (fh: FileHandle, start: number, bytes: number, buffers: ReadBuffers): AsyncGenerator<Buffer> {
  let position = start
  let left = bytes
  while (left > 0) {
    const buf = buffers.take()
    const { bytesRead } = await fh.read(buf, 0, Math.min(left, buf.length), position)
    if (bytesRead === 0) return
    position += bytesRead
    left -= bytesRead
    yield buf.subarray(0, bytesRead)
  }
}

/**
 * The body of a GetObject: the chunks `wrap` makes of the file's chunks (checks around them, see objects.ts), one
 * read ahead. Piped into a ServerResponse (as Koa does), each chunk is written with a callback that hands its buffer
 * back once sent; piped anywhere else (a Transform may pass a chunk on without copying it) it is a plain pipe and
 * every read gets a new buffer.
 */
export class FileBody extends Readable {
  private readonly buffers: ReadBuffers
  private readonly chunks: AsyncGenerator<Buffer>

  constructor (fh: FileHandle, start: number, bytes: number, bufferSize: number, wrap: (chunks: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>) {
    super({ objectMode: true, highWaterMark: 1 })
    this.buffers = new ReadBuffers(bufferSize)
    this.chunks = wrap(fileChunks(fh, start, bytes, this.buffers))
  }

  override _read (): void {
    this.chunks.next().then(
      r => { if (r.done === true) this.push(null); else this.push(r.value) },
      (err: Error) => this.destroy(err))
  }

  override _destroy (err: Error | null, cb: (error?: Error | null) => void): void {
    this.buffers.close()
    // Runs the generators' finally blocks (the descriptor is closed there), after a read still under way.
    this.chunks.return(undefined).then(() => cb(err), () => cb(err))
  }

  override pipe<T extends NodeJS.WritableStream> (dest: T, options?: { end?: boolean }): T {
    if (!(dest instanceof ServerResponse)) return super.pipe(dest, options)
    const res: ServerResponse = dest
    const onData = (chunk: Buffer): void => {
      const more = res.write(chunk, err => { if (err == null) this.buffers.give(chunk) })
      if (!more) {
        this.pause()
        res.once('drain', onDrain)
      }
    }
    const onDrain = (): void => { this.resume() }
    const onEnd = (): void => { if (options?.end !== false) res.end() }
    const cleanup = (): void => {
      this.off('data', onData)
      this.off('end', onEnd)
      res.off('drain', onDrain)
    }
    this.on('data', onData)
    this.once('end', onEnd)
    res.once('close', cleanup)
    this.once('close', cleanup)
    return dest
  }
}
