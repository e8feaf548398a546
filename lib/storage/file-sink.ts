// A Writable into an open FileHandle that never closes it: the owner of the handle closes it, once.
import type { FileHandle } from 'node:fs/promises'
import { Writable } from 'node:stream'

/**
 * Not fs.createWriteStream({ fd, autoClose: false }): when a pipeline fails (a client disconnects mid-PUT)
 * that stream is destroyed and destroy() closes the descriptor regardless of autoClose. The owner's later
 * fh.close() then closes the same number again, which by then may belong to another request's file.
 */
export function fileSink (fh: FileHandle, highWaterMark = 256 * 1024, opts: { holes?: boolean } = {}): Writable {
  if (opts.holes === true) return holeySink(fh, highWaterMark)
  const writeAll = async (chunks: Buffer[]): Promise<void> => { await writeFully(fh, chunks, null) }
  return new Writable({
    highWaterMark,
    write (chunk: Buffer, _enc, cb) { writeAll([chunk]).then(() => cb(), cb) },
    writev (entries, cb) { writeAll(entries.map(e => e.chunk as Buffer)).then(() => cb(), cb) },
  })
}

/**
 * Writes every byte of chunks at `position` (null: the file offset), going on after a short write (a signal, a
 * nearly full disk) where it stopped. Returns the bytes written.
 */
async function writeFully (fh: FileHandle, chunks: Buffer[], position: number | null): Promise<number> {
  let pending = chunks
  let written = 0
  while (pending.length > 0) {
    const { bytesWritten } = await fh.writev(pending, position === null ? undefined : position + written)
    written += bytesWritten
    pending = dropBytes(pending, bytesWritten)
  }
  return written
}

function dropBytes (chunks: Buffer[], n: number): Buffer[] {
  let left = n
  const rest: Buffer[] = []
  for (const c of chunks) {
    if (left >= c.length) { left -= c.length; continue }
    rest.push(left > 0 ? c.subarray(left) : c)
    left = 0
  }
  return rest
}

/** Blocks of zeros this large, at this alignment in the file, are left as holes by holeySink. */
const HOLE_BLOCK = 64 * 1024
const ZEROS = Buffer.alloc(HOLE_BLOCK)

/**
 * fileSink for copies (CopyObject, UploadPartCopy) into a new, empty file: every aligned 64 KiB block of zeros is
 * skipped instead of written, as `cp --sparse=always` does, so a copy of a sparse VM image or database file an
 * NFS user made allocates what it holds, not its apparent size (which could fill the filesystem). Reads see the
 * same zeros. Writes are positional from offset 0; a copy that ends in a hole is extended to its full length.
 */
function holeySink (fh: FileHandle, highWaterMark: number): Writable {
  let pos = 0
  let endsInHole = false
  const writeAt = async (chunks: Buffer[]): Promise<void> => { pos += await writeFully(fh, chunks, pos) }
  async function take (chunks: Buffer[]): Promise<void> {
    let run: Buffer[] = []
    let at = pos
    for (const c of chunks) {
      for (let i = 0; i < c.length;) {
        const n = Math.min(c.length - i, HOLE_BLOCK - (at % HOLE_BLOCK))
        const piece = c.subarray(i, i + n)
        if (n === HOLE_BLOCK && piece.equals(ZEROS)) {
          await writeAt(run)
          run = []
          pos += n
          endsInHole = true
        } else {
          run.push(piece)
          endsInHole = false
        }
        i += n
        at += n
      }
    }
    await writeAt(run)
  }
  return new Writable({
    highWaterMark,
    write (chunk: Buffer, _enc, cb) { take([chunk]).then(() => cb(), cb) },
    writev (entries, cb) { take(entries.map(e => e.chunk as Buffer)).then(() => cb(), cb) },
    final (cb) { (endsInHole ? fh.truncate(pos) : Promise.resolve()).then(() => cb(), cb) },
  })
}
