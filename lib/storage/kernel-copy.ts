// Copies a byte range from one file into another at explicit offsets: a reflink or copy_file_range(2) through the
// optional native addon (native/), else a plain streaming copy with positional writes. Bounded memory either way.
import { read, write } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { debuglog } from 'node:util'
import { nativeAddon, type NativeAddon } from './native.js'

/** How a range was copied: 'clone' (reflink, shares blocks), 'copy' (in-kernel copy) or 'stream' (read and write in Node). */
export type CopyMethod = 'clone' | 'copy' | 'stream'

export interface CopyOptions {
  /** Skip the addon and stream (as S3BRIDGE_NO_KERNEL_COPY=1 does; that variable is read at each call). */
  forceStream?: boolean
}

type KernelCopyAddon = Pick<NativeAddon, 'copyRange'>

const debug = debuglog('s3bridge')

/** One addon call copies at most this much, so a huge part never holds a libuv pool thread for long (a multiple of any block size). */
const CALL_BYTES = 64 * 1024 * 1024
const STREAM_CHUNK = 1024 * 1024

/** errnos that mean "the kernel cannot do this copy here", not "the copy failed": redo the range by streaming. */
const FALLBACK_CODES = new Set(['EXDEV', 'EOPNOTSUPP', 'ENOTSUP', 'ENOSYS', 'EINVAL'])

/** The native addon, or null when it was not built (the build is optional: no compiler, no headers). */
export function kernelCopyAddon (): KernelCopyAddon | null {
  return nativeAddon()
}

function fdOf (f: FileHandle | number): number {
  return typeof f === 'number' ? f : f.fd
}

function checkRange (name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`copyFileRange: ${name} must be a non-negative integer, got ${n}`)
}

function eof (length: number, copied: number): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`EIO: unexpected end of file, copied ${copied} of ${length} bytes`)
  err.code = 'EIO'
  err.syscall = 'read'
  return err
}

function readAt (fd: number, buf: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buf, 0, length, position, (err, n) => { if (err) reject(err); else resolve(n) })
  })
}

function writeAt (fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const next = (off: number): void => {
      write(fd, buf, off, buf.length - off, position + off, (err, n) => {
        if (err) reject(err)
        else if (off + n < buf.length) next(off + n)
        else resolve()
      })
    }
    next(0)
  })
}

/**
 * The fallback: streams the range through two 1 MiB buffers (the next read runs while the last chunk is written),
 * with positional reads and writes, so neither file position moves. Not fs.createReadStream: destroying that
 * stream (as an error in the loop would) closes the caller's descriptor even with autoClose: false.
 */
export async function streamFileRange (src: FileHandle | number, srcOffset: number, dst: FileHandle | number, dstOffset: number, length: number): Promise<void> {
  if (length === 0) return
  const size = Math.min(STREAM_CHUNK, length)
  const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)] as const
  const readInto = (i: 0 | 1, done: number): Promise<number> => {
    const p = readAt(fdOf(src), bufs[i], Math.min(size, length - done), srcOffset + done)
    p.catch(() => undefined) // awaited below; this only keeps an abandoned read's failure from being unhandled
    return p
  }
  let copied = 0
  let cur: 0 | 1 = 0
  let pending = readInto(cur, 0)
  while (copied < length) {
    const n = await pending
    if (n === 0) throw eof(length, copied)
    const next = copied + n
    const other: 0 | 1 = cur === 0 ? 1 : 0
    if (next < length) pending = readInto(other, next)
    try {
      await writeAt(fdOf(dst), bufs[cur].subarray(0, n), dstOffset + copied)
    } catch (err) {
      await pending.catch(() => undefined) // let the caller close src only once no read of ours is in flight
      throw err
    }
    copied = next
    cur = other
  }
}

/**
 * Copies `length` bytes of src at srcOffset into dst at dstOffset (dst grows as needed; neither file position
 * moves). Uses the kernel when it can and streams otherwise: a missing addon, or a kernel that cannot copy
 * between these files (EXDEV, EOPNOTSUPP, ENOSYS, EINVAL), falls back to streaming the whole range again
 * (explicit offsets make that safe). Real failures (ENOSPC, EIO, EBADF, a source shorter than the range...)
 * are thrown as errno errors. Resolves to the method that did the work.
 */
export async function copyFileRange (src: FileHandle | number, srcOffset: number, dst: FileHandle | number, dstOffset: number, length: number, opts: CopyOptions = {}): Promise<CopyMethod> {
  checkRange('srcOffset', srcOffset)
  checkRange('dstOffset', dstOffset)
  checkRange('length', length)
  const native = opts.forceStream === true || process.env.S3BRIDGE_NO_KERNEL_COPY === '1' ? null : kernelCopyAddon()
  if (native && length > 0) {
    try {
      let isCloned = true
      for (let done = 0; done < length; done += CALL_BYTES) {
        const n = Math.min(CALL_BYTES, length - done)
        if (await native.copyRange(fdOf(src), srcOffset + done, fdOf(dst), dstOffset + done, n) !== 'clone') isCloned = false
      }
      return isCloned ? 'clone' : 'copy'
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === undefined || !FALLBACK_CODES.has(code)) throw err
      debug('kernel copy of %d bytes failed with %s; streaming instead', length, code)
    }
  }
  await streamFileRange(src, srcOffset, dst, dstOffset, length)
  return 'stream'
}
