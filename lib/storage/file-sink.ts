// A Writable into an open FileHandle that never closes it: the owner of the handle closes it, once.
import type { FileHandle } from 'node:fs/promises'
import { Writable } from 'node:stream'

/**
 * Not fs.createWriteStream({ fd, autoClose: false }): when a pipeline fails (a client disconnects mid-PUT)
 * that stream is destroyed and destroy() closes the descriptor regardless of autoClose. The owner's later
 * fh.close() then closes the same number again, which by then may belong to another request's file.
 */
export function fileSink (fh: FileHandle, highWaterMark = 256 * 1024): Writable {
  async function writeAll (chunks: Buffer[]): Promise<void> {
    let pending = chunks
    while (pending.length > 0) {
      const { bytesWritten } = await fh.writev(pending)
      pending = dropBytes(pending, bytesWritten) // a short write (a signal, a nearly full disk): go on where it stopped
    }
  }
  return new Writable({
    highWaterMark,
    write (chunk: Buffer, _enc, cb) { writeAll([chunk]).then(() => cb(), cb) },
    writev (entries, cb) { writeAll(entries.map(e => e.chunk as Buffer)).then(() => cb(), cb) },
  })
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
