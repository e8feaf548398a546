// A served file's bytes as a Readable whose read buffers are used again once an HTTP response has sent them, or
// which the kernel sends from the file to the client's socket (sendfile) when nothing else needs the bytes.
import { closeSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { constants as osConstants } from 'node:os'
import { Readable } from 'node:stream'
import { nativeJobs, type NativeAddon } from './native.js'

/** The checks around a served file's read (storage/objects.ts readGuard). */
export interface ReadGuard {
  readonly fh: FileHandle
  /** The file as opened (dev, inode, birth time). */
  readonly identity: string
  /** Before the first byte goes out: throws when the file is already shorter than announced, or rewritten. */
  begin (): Promise<void>
  /** A chunk on its way out, in order: its bytes join the checksum `end` compares. */
  observe (chunk: Buffer): void
  /** The error for a file that ended after `got` bytes. */
  truncated (got: number): Error
  /** Once the last bytes are read and before they go out: throws when the bytes that went out changed meanwhile. */
  end (): Promise<void>
  /** The kernel path's begin: false when the file changed since it was opened (then it is streamed and compared). */
  kernelBegin (): Promise<boolean>
  /**
   * The kernel path's check, between its jobs and after the last: throws (`unverifiable`) when the file changed at
   * all meanwhile, an append or a chmod included (the bytes sent cannot be compared: they never passed through the
   * daemon), so a body that will be cut is cut early, not gigabytes later.
   */
  kernelCheck (): Promise<void>
}

/** Bodies at least this long are sent by the kernel; below it the copies cost less than the jobs. */
export const KERNEL_SEND_MIN = 1024 * 1024
/** The end of a kernel-sent body is read and sent by the daemon, after the guard's last look (`kernelCheck`). */
const KERNEL_TAIL = 64 * 1024
/** How long one wait for a full socket lasts before the body looks again whether it was destroyed meanwhile. */
const WRITABLE_WAIT_MS = 1000
const EMPTY = Buffer.alloc(0)

/**
 * Files that changed while the kernel sent them (identity → until when they are streamed instead). A body whose
 * file grew or whose ctime moved meanwhile may be intact (an append, a chmod) but the kernel path cannot tell, so
 * it is cut; the client's retry is streamed, which compares what it sends, so an appended log still downloads.
 * Per process: with `workers`, a retry that reaches another worker may be sent by the kernel and cut once more.
 */
const STREAM_AFTER_CHANGE_MS = 10 * 60_000
const STREAM_AFTER_CHANGE_MAX = 1024
const streamOnly = new Map<string, number>()

function streamNextTimes (identity: string): void {
  streamOnly.delete(identity)
  if (streamOnly.size >= STREAM_AFTER_CHANGE_MAX) streamOnly.delete(streamOnly.keys().next().value!)
  streamOnly.set(identity, Date.now() + STREAM_AFTER_CHANGE_MS)
}

function streamedForNow (identity: string): boolean {
  const until = streamOnly.get(identity)
  if (until === undefined) return false
  if (until > Date.now()) return true
  streamOnly.delete(identity)
  return false
}

/** Body bytes the kernel sent, in all (a metric) and per response (what a cut response's log line counts). */
let kernelSentTotal = 0
const kernelSentTo = new WeakMap<ServerResponse, number>()

/** Bytes of GetObject bodies the kernel has sent since the process started (s3bridge_sendfile_sent_bytes_total). */
export function kernelSentBytes (): number {
  return kernelSentTotal
}

/** Body bytes the kernel sent into this response: Node's socket.bytesWritten does not see them. */
export function bytesSentByKernel (res: ServerResponse): number {
  return kernelSentTo.get(res) ?? 0
}

/**
 * The kernel path's check of the file, between jobs or at the end. A change fails the body; the file may only have
 * been appended to, so it is streamed for a while, and the client's retry can be compared.
 */
async function kernelChecked (guard: ReadGuard): Promise<void> {
  try {
    await guard.kernelCheck()
  } catch (err) {
    if ((err as { unverifiable?: boolean }).unverifiable === true) streamNextTimes(guard.identity)
    throw err
  }
}

type KernelSend = Required<Pick<NativeAddon, 'socketDescriptor' | 'sendFile' | 'waitWritable' | 'shutdownSocket'>>

/** sendfile's answers for a file it cannot send (a filesystem without splice support): stream it instead. */
const NOT_SENDABLE = new Set([osConstants.errno.EINVAL, osConstants.errno.ENOSYS, osConstants.errno.EOPNOTSUPP])

/** The addon's sendfile jobs, unless not built or S3BRIDGE_NO_SENDFILE=1 (read at each call, for tests). */
function kernelSend (): KernelSend | undefined {
  if (process.env.S3BRIDGE_NO_SENDFILE === '1') return undefined
  const n = nativeJobs()
  if (n?.socketDescriptor === undefined || n.sendFile === undefined || n.waitWritable === undefined || n.shutdownSocket === undefined) return undefined
  return n as KernelSend
}

/** The response's connection when the kernel may write into it directly: its own plain TCP socket, nothing sent. */
function plainSocketOf (res: ServerResponse): { socket: Socket, fd: number } | undefined {
  const socket = res.socket as (Socket & { _httpMessage?: unknown, encrypted?: boolean, _handle?: { fd?: unknown } }) | null
  // Queued behind another response on a pipelined connection, or over TLS (the bytes must be encrypted): no.
  if (socket == null || socket._httpMessage !== res || socket.encrypted === true || socket.destroyed || res.headersSent) return undefined
  const fd = socket._handle?.fd
  return typeof fd === 'number' && fd > 2 ? { socket, fd } : undefined
}

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

  private started = false
  /** Sent by the kernel: the stream reads nothing and only ends (or fails) when the sending is over. */
  private kernel = false

  constructor (private readonly fh: FileHandle, private readonly start: number, private readonly bytes: number, bufferSize: number,
    wrap: (chunks: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>, private readonly guard?: ReadGuard) {
    super({ objectMode: true, highWaterMark: 1 })
    this.buffers = new ReadBuffers(bufferSize)
    this.chunks = wrap(fileChunks(fh, start, bytes, this.buffers))
  }

  override _read (): void {
    if (this.kernel) return
    this.started = true
    this.chunks.next().then(
      r => { if (r.done === true) this.push(null); else this.push(r.value) },
      (err: Error) => this.destroy(err))
  }

  override _destroy (err: Error | null, cb: (error?: Error | null) => void): void {
    this.buffers.close()
    // A connection the kernel is still sending into ends now, not when the job returns (review 31 F1).
    this.endKernelSend?.()
    // 'close' (on which the file is closed) waits for the kernel's sending, whose jobs use the descriptor.
    const kernel = this.kernelRun ?? Promise.resolve()
    // Runs the generators' finally blocks (the descriptor is closed there), after a read still under way.
    kernel.catch(() => undefined).then(() => this.chunks.return(undefined)).then(() => cb(err), () => cb(err))
  }

  override pipe<T extends NodeJS.WritableStream> (dest: T, options?: { end?: boolean }): T {
    if (!(dest instanceof ServerResponse)) return super.pipe(dest, options)
    const res: ServerResponse = dest
    const kernel = this.guard !== undefined && !this.started && this.bytes >= KERNEL_SEND_MIN && res.req?.method === 'GET' &&
      !streamedForNow(this.guard.identity) &&
      // Raw file bytes only ever go into a body framed by its Content-Length (never into chunked encoding).
      Number(res.getHeader('content-length')) === this.bytes && !(res as ServerResponse & { chunkedEncoding?: boolean }).chunkedEncoding
      ? kernelSend()
      : undefined
    const target = kernel !== undefined ? plainSocketOf(res) : undefined
    let sock = -1
    if (kernel !== undefined && target !== undefined) {
      try {
        sock = kernel.socketDescriptor(target.fd)
      } catch {} // out of descriptors: streamed below
    }
    if (sock >= 0) {
      this.started = true
      this.kernel = true
      this.kernelRun = this.sendByKernel(res, target!.socket, sock, kernel!, options).finally(() => { this.kernelRun = undefined })
      return dest
    }
    this.streamTo(res, options)
    return dest
  }

  /** Read here and written to the response, each buffer read into again once the response has sent it. */
  private streamTo (res: ServerResponse, options?: { end?: boolean }): void {
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
  }

  /** While sendByKernel runs: settles when it is over (every job returned, the duplicate closed). */
  private kernelRun: Promise<void> | undefined

  /** The kernel's sending of this body, if it is under way (undefined otherwise): for the access log's byte count. */
  kernelDone (): Promise<void> | undefined {
    return this.kernelRun
  }

  /** While the kernel sends into the connection: shuts the connection down, so the client sees the end at once. */
  private endKernelSend: (() => void) | undefined

  /**
   * The body sent by the kernel from the file into the connection (native/send_file.c), all but its last
   * KERNEL_TAIL bytes, which are read here, checked by the guard as the streamed path checks its last chunk, and
   * written to the response; then the stream ends, and whoever piped it (Koa's stream.pipeline) ends the response
   * as after a streamed body. A failure destroys the stream, and the connection is cut. Node's own descriptor is
   * never used: a duplicate taken now is, so a connection Node closes meanwhile cannot hand its number to another
   * file; when Node closes the connection (client gone, idle timeout, stop) the duplicate is shut down at once, so
   * the client sees the end then too. Node writes nothing while the kernel does: the headers are in the socket
   * before the first job, and the response ends only after the last. `sock` (the duplicate, taken in pipe() while
   * Node's descriptor was open) is closed here. A filesystem whose files the kernel cannot send (EINVAL, ENOSYS,
   * EOPNOTSUPP on the first job, nothing sent), or a file changed since it was opened, is streamed instead.
   */
  private async sendByKernel (res: ServerResponse, socket: Socket, sock: number, k: KernelSend, options?: { end?: boolean }): Promise<void> {
    const guard = this.guard!
    const onClose = (): void => { k.shutdownSocket(sock) }
    this.endKernelSend = onClose
    socket.once('close', onClose)
    let streamInstead = false
    try {
      // Changed since it was opened: the streamed path can check what it sends against the headers; this one cannot.
      if (!await guard.kernelBegin()) {
        streamInstead = true
        return
      }
      if (this.destroyed) return
      res.flushHeaders()
      await new Promise<void>((resolve, reject) => socket.write(EMPTY, err => { if (err == null) resolve(); else reject(err) }))
      if (this.destroyed || socket.destroyed) return
      const tail = Math.min(KERNEL_TAIL, this.bytes)
      let position = this.start
      let left = this.bytes - tail
      while (left > 0) {
        if (this.destroyed) return
        if (position > this.start) await kernelChecked(guard)
        const { sent, errno } = await k.sendFile(sock, this.fh.fd, position, left)
        position += sent
        left -= sent
        kernelSentTotal += sent
        kernelSentTo.set(res, (kernelSentTo.get(res) ?? 0) + sent)
        // Bytes the kernel sent are activity Node does not see: keep the idle timer from cutting a long download.
        if (sent > 0 && typeof socket.timeout === 'number' && socket.timeout > 0) socket.setTimeout(socket.timeout)
        if (errno === osConstants.errno.EAGAIN) {
          if (this.destroyed) return
          await k.waitWritable(sock, WRITABLE_WAIT_MS)
        } else if (position === this.start && NOT_SENDABLE.has(errno)) {
          streamInstead = true
          return
        } else if (errno !== 0) {
          throw Object.assign(new Error(`sendfile: ${errno === osConstants.errno.EPIPE ? 'the client left' : `errno ${errno}`}`), { errno: -errno })
        } else if (sent === 0 && left > 0) {
          throw guard.truncated(this.bytes - tail - left)
        }
      }
      const end = Buffer.allocUnsafe(tail)
      let got = 0
      while (got < tail) {
        const { bytesRead } = await this.fh.read(end, got, tail - got, position + got)
        if (bytesRead === 0) throw guard.truncated(this.bytes - tail + got)
        got += bytesRead
      }
      await kernelChecked(guard)
      if (this.destroyed || res.destroyed || res.writableEnded) return
      res.write(end)
      this.push(null)
      this.resume() // 'end' (the stream was never read: nothing else makes it flow)
    } catch (err) {
      this.destroy(err as Error)
    } finally {
      this.endKernelSend = undefined
      socket.off('close', onClose)
      try { closeSync(sock) } catch {} // ours, open: cannot fail but must not reject this unawaited promise
      if (streamInstead && !this.destroyed) {
        this.kernel = false
        this.streamTo(res, options)
      }
    }
  }
}
