// Large GetObject bodies sent by the kernel (sendfile: lib/storage/file-body.ts, native/send_file.c): the same
// bytes, ranges and guarantees as the streamed path (test/s3/large-get.test.ts, get-object.test.ts and
// pipelined-get.test.ts cover slow, concurrent, pipelined and TLS readers over both), plus what only this path can
// get wrong: a connection Node must go on serving afterwards, a client that stops reading for seconds (the job
// gives the pool thread back and waits on the event loop), a client that leaves (no descriptor left behind), and
// a file rewritten in place (the connection is cut before the last bytes).
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, closeSync, openSync, readdirSync, readlinkSync, renameSync, utimesSync, writeFileSync, writeSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { kernelSentBytes } from '../../lib/storage/file-body.js'

const MiB = 1024 * 1024
const TAIL = 64 * 1024 // read and sent by the daemon after its last check
const md5 = (b: Buffer | Uint8Array): string => createHash('md5').update(b).digest('hex')
const openFds = (): number => readdirSync('/proc/self/fd').length
const fdTargets = (): string[] => readdirSync('/proc/self/fd').map(f => { try { return readlinkSync(`/proc/self/fd/${f}`) } catch { return '' } })

async function signedPath (b: Bridge, key: string): Promise<URL> {
  return new URL(await getSignedUrl(b.s3, new GetObjectCommand({ Bucket: 'demo', Key: key }), { expiresIn: 300 }))
}

/** Reads one response (Content-Length framed) from a raw socket; `onData` may pause the socket. */
function readResponse (sock: Socket, onData?: (got: number) => void): Promise<{ status: number, body: Buffer, closed: boolean }> {
  return new Promise(resolve => {
    let head = Buffer.alloc(0)
    let status = 0
    let length = -1
    const parts: Buffer[] = []
    let got = 0
    const done = (closed: boolean): void => {
      sock.off('data', data)
      sock.off('close', close)
      resolve({ status, body: Buffer.concat(parts).subarray(0, Math.max(0, length)), closed })
    }
    const data = (d: Buffer): void => {
      if (length < 0) {
        head = Buffer.concat([head, d])
        const i = head.indexOf('\r\n\r\n')
        if (i < 0) return
        const text = head.subarray(0, i).toString('latin1')
        status = Number(text.split(' ')[1])
        length = Number(/content-length: *(\d+)/i.exec(text)?.[1] ?? 0)
        d = head.subarray(i + 4)
      }
      parts.push(d)
      got += d.length
      onData?.(got)
      if (got >= length) done(false)
    }
    const close = (): void => done(true)
    sock.on('data', data)
    sock.on('close', close)
  })
}

async function rawConnection (b: Bridge): Promise<Socket> {
  const url = new URL(b.endpoint)
  const sock = connect(Number(url.port), url.hostname)
  await new Promise(resolve => sock.once('connect', resolve))
  return sock
}

function get (sock: Socket, url: URL): void {
  sock.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`)
}

t.test('a large GET is sent by the kernel byte for byte, a range too; S3BRIDGE_NO_SENDFILE=1 streams it', async t => {
  const b = await startBridge(t, { admin: { host: '127.0.0.1', port: 0 } })
  const data = randomBytes(5 * MiB + 7)
  writeFileSync(join(b.bucketDir, 'big'), data)
  const read = async (range?: string): Promise<Buffer> => {
    const r = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'big', Range: range }))
    return Buffer.from(await r.Body!.transformToByteArray())
  }
  let before = kernelSentBytes()
  t.equal(md5(await read()), md5(data), 'the whole object')
  t.equal(kernelSentBytes() - before, data.length - TAIL, 'all but the last 64 KiB went through sendfile')
  before = kernelSentBytes()
  t.equal(md5(await read('bytes=1000003-4000000')), md5(data.subarray(1000003, 4000001)), 'a range')
  t.equal(kernelSentBytes() - before, 4000001 - 1000003 - TAIL)
  before = kernelSentBytes()
  t.equal(md5(await read('bytes=0-500000')), md5(data.subarray(0, 500001)), 'a short range is streamed')
  t.equal(kernelSentBytes(), before)
  process.env.S3BRIDGE_NO_SENDFILE = '1'
  t.teardown(() => { delete process.env.S3BRIDGE_NO_SENDFILE })
  t.equal(md5(await read()), md5(data), 'streamed when turned off')
  t.equal(kernelSentBytes(), before, 'and not sent by the kernel')
  delete process.env.S3BRIDGE_NO_SENDFILE
  const metrics = await (await fetch(`${b.daemon.adminEndpoint ?? ''}/metrics`)).text()
  t.equal(Number(/^s3bridge_sendfile_sent_bytes_total (\d+)$/m.exec(metrics)?.[1]), kernelSentBytes(), 'the metric')
  const served = data.length * 2 + (4000001 - 1000003) + 500001
  t.equal(Number(/^s3bridge_sent_bytes_total\{operation="GetObject"\} (\d+)$/m.exec(metrics)?.[1]), served, 'every body byte counted as sent')
})

t.test('the connection serves the next request after a kernel-sent body (keep-alive)', async t => {
  const b = await startBridge(t)
  const big = randomBytes(3 * MiB + 11)
  const small = randomBytes(1000)
  writeFileSync(join(b.bucketDir, 'big'), big)
  writeFileSync(join(b.bucketDir, 'small'), small)
  const sock = await rawConnection(b)
  t.teardown(() => sock.destroy())
  for (const [key, bytes] of [['big', big], ['small', small], ['big', big]] as const) {
    get(sock, await signedPath(b, key))
    const r = await readResponse(sock)
    t.equal(r.status, 200, key)
    t.equal(r.closed, false, 'still open')
    t.equal(md5(r.body), md5(bytes), `${key}: every byte, nothing more`)
  }
})

t.test('a client that stops reading for seconds gets the rest; one that leaves leaves no descriptor behind', async t => {
  const b = await startBridge(t)
  const data = randomBytes(48 * MiB)
  writeFileSync(join(b.bucketDir, 'big'), data)
  const url = await signedPath(b, 'big')

  const slow = await rawConnection(b)
  t.teardown(() => slow.destroy())
  let paused = false
  get(slow, url)
  const r = await readResponse(slow, got => {
    if (!paused && got > 2 * MiB) { paused = true; slow.pause(); setTimeout(() => slow.resume(), 2500) } // past two of the 1 s waits
  })
  t.equal(r.closed, false)
  t.equal(md5(r.body), md5(data), 'every byte after the stall')

  const fdsBefore = openFds()
  const leaver = await rawConnection(b)
  get(leaver, url)
  await readResponse(leaver, got => {
    if (got > MiB && !leaver.isPaused()) {
      leaver.pause() // the server's socket fills; the daemon waits for it to drain
      setTimeout(() => leaver.destroy(), 1500)
    }
  })
  const deadline = Date.now() + 5000
  while (openFds() > fdsBefore && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(openFds(), fdsBefore, 'the file and the socket duplicate are closed')

  const after = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'big' }))
  t.equal(md5(await after.Body!.transformToByteArray()), md5(data), 'the next GET is whole')
})

t.test('a file rewritten in place while the kernel sends it: the connection is cut before the last bytes', async t => {
  const b = await startBridge(t)
  const SIZE = 32 * MiB
  const path = join(b.bucketDir, 'rewritten')
  writeFileSync(path, Buffer.alloc(SIZE, 'o'))
  const sock = await rawConnection(b)
  t.teardown(() => sock.destroy())
  get(sock, await signedPath(b, 'rewritten'))
  let changed = false
  const r = await readResponse(sock, got => {
    if (changed || got === 0) return
    changed = true
    sock.pause()
    const fd = openSync(path, 'r+')
    writeSync(fd, Buffer.alloc(SIZE, 'n'), 0, SIZE, 0) // same size, new bytes: `dd conv=notrunc`
    closeSync(fd)
    utimesSync(path, new Date(), new Date(Date.now() + 5000)) // a coarse-mtime filesystem still sees it
    setTimeout(() => sock.resume(), 200)
  })
  t.equal(r.status, 200)
  t.ok(r.body.length < SIZE, `short of Content-Length (${r.body.length} of ${SIZE})`)
  t.equal(r.closed, true, 'the connection is cut')
  // The access log counts what the kernel sent, which Node's socket counters do not see.
  const deadline = Date.now() + 3000
  let line: { bytesOut?: number, error?: string } | undefined
  while (line === undefined && Date.now() < deadline) {
    line = b.logLines.map(l => JSON.parse(l) as { operation?: string, bytesOut?: number, error?: string }).find(l => l.operation === 'GetObject')
    if (line === undefined) await new Promise(resolve => setTimeout(resolve, 50))
  }
  t.equal(line?.error, 'ResponseIncomplete')
  t.ok((line?.bytesOut ?? 0) >= r.body.length && (line?.bytesOut ?? 0) < SIZE, `bytesOut ${line?.bytesOut} counts the bytes sent (${r.body.length} read)`)
})

// Review 31: `cp new name` or an editor's save truncates the file and writes a longer one. The size grows as an
// append's would, so only the sampled blocks tell them apart: such a body must never arrive complete.
for (const mode of ['kernel', 'streamed'] as const) {
  t.test(`${mode}: a file truncated and rewritten longer while it is sent is cut; one appended to arrives whole`, async t => {
    if (mode === 'streamed') {
      process.env.S3BRIDGE_NO_SENDFILE = '1'
      t.teardown(() => { delete process.env.S3BRIDGE_NO_SENDFILE })
    }
    const b = await startBridge(t)
    const SIZE = 48 * MiB
    const fetchWhile = async (key: string, change: (path: string) => void, fresh = true): Promise<{ body: Buffer, closed: boolean }> => {
      const path = join(b.bucketDir, key)
      if (fresh) writeFileSync(path, Buffer.alloc(SIZE, 'o'))
      const sock = await rawConnection(b)
      t.teardown(() => sock.destroy())
      get(sock, await signedPath(b, key))
      let changed = false
      return readResponse(sock, got => {
        if (changed || got < 2 * MiB) return
        changed = true
        sock.pause()
        change(path)
        setTimeout(() => sock.resume(), 200)
      })
    }
    const regrown = await fetchWhile('regrown', path => writeFileSync(path, Buffer.alloc(SIZE + 1, 'n')))
    t.ok(regrown.body.length < SIZE, `${mode}: short of Content-Length (${regrown.body.length} of ${SIZE})`)
    t.equal(regrown.closed, true, 'the connection is cut')
    const inPlace = await fetchWhile('in-place', path => {
      // What `rsync --inplace` of a longer version does, here to bytes already sent: new bytes in place, then more
      // at the end. (Bytes changed before they were read go out as the file holds them then: not a torn body.)
      const fd = openSync(path, 'r+')
      writeSync(fd, Buffer.alloc(MiB / 2, 'n'), 0, MiB / 2, 12345)
      closeSync(fd)
      writeFileSync(path, Buffer.alloc(MiB, 'n'), { flag: 'a' })
    })
    t.ok(inPlace.body.length < SIZE && inPlace.closed, `in place and longer: cut (${inPlace.body.length} of ${SIZE})`)
    const appended = await fetchWhile('appended', path => writeFileSync(path, Buffer.alloc(3 * MiB, 'n'), { flag: 'a' }))
    if (mode === 'kernel') {
      // The kernel path cannot compare what it sent: it cuts, and the retry is streamed (and compared).
      t.ok(appended.closed && appended.body.length < SIZE, 'sent by the kernel: an append is cut')
      // Checked between the kernel's jobs (8 MiB each): cut soon after the change, not after the whole body.
      t.ok(appended.body.length < SIZE / 2, `cut early (${(appended.body.length / MiB).toFixed(1)} of ${SIZE / MiB} MiB)`)
      const streamedBefore = kernelSentBytes()
      const retry = await fetchWhile('appended', path => writeFileSync(path, Buffer.alloc(MiB, 'n'), { flag: 'a' }), false)
      t.equal(retry.closed, false)
      t.equal(md5(retry.body), md5(Buffer.concat([Buffer.alloc(SIZE, 'o'), Buffer.alloc(3 * MiB, 'n')])), 'the retry, appended to again: the announced bytes, whole')
      t.equal(kernelSentBytes(), streamedBefore, 'the retry was streamed')
    } else {
      t.equal(appended.closed, false)
      t.equal(md5(appended.body), md5(Buffer.alloc(SIZE, 'o')), 'an append: the announced bytes, whole')
    }
    // An S3 PUT over the key (a rename over the file) while it is downloaded: the old version, whole, either way.
    const renamedOver = await fetchWhile('renamed-over', path => { writeFileSync(`${path}.new`, Buffer.alloc(SIZE, 'n')); renameSync(`${path}.new`, path) })
    t.equal(renamedOver.closed, false)
    t.equal(md5(renamedOver.body), md5(Buffer.alloc(SIZE, 'o')), 'replaced by a rename meanwhile: the old version, whole')
    // Only the ctime moves (a chmod, tagging): streamed, the bytes are compared and it arrives; sent by the kernel,
    // nothing can be compared (a same-size rewrite with its mtime put back looks the same): cut, the retry streamed.
    const chmodded = await fetchWhile('chmodded', path => chmodSync(path, 0o604))
    const whole = md5(Buffer.alloc(SIZE, 'o'))
    if (mode === 'kernel') {
      t.ok(chmodded.closed && chmodded.body.length < SIZE, 'sent by the kernel: a chmod meanwhile cuts')
      const retry = await fetchWhile('chmodded', path => chmodSync(path, 0o644), false)
      t.equal(md5(retry.body), whole, `the retry, streamed: whole (${retry.body.length}, closed ${retry.closed})`)
    } else {
      t.equal(chmodded.closed, false)
      t.equal(md5(chmodded.body), whole, 'streamed: a chmod meanwhile, whole')
    }
  })
}

// Review 31 F1/F2: when Node closes the connection itself (here a stop with no grace, as an idle timeout or a
// cut pipelined neighbour would), the duplicate must not keep it open and sending; what was sent is what is logged.
t.test('a stop mid-body ends the connection at once and logs the bytes the kernel sent', async t => {
  const rejections: unknown[] = []
  const onRejection = (err: unknown): void => { rejections.push(err) }
  process.on('unhandledRejection', onRejection)
  t.teardown(() => { process.off('unhandledRejection', onRejection) })
  const b = await startBridge(t, { shutdownGraceSeconds: 0 })
  const SIZE = 512 * MiB
  const path = join(b.bucketDir, 'huge')
  const fd = openSync(path, 'w')
  const block = Buffer.alloc(8 * MiB, 7)
  for (let at = 0; at < SIZE; at += block.length) writeSync(fd, block, 0, block.length, at)
  closeSync(fd)
  const url = await signedPath(b, 'huge')
  const socketsBefore = fdTargets().filter(f => f.startsWith('socket:'))
  const sock = await rawConnection(b)
  t.teardown(() => sock.destroy())
  get(sock, url)
  let received = 0
  let stoppedAt = 0
  const ended = new Promise<void>(resolve => { sock.once('close', () => resolve()); sock.once('error', () => undefined) })
  sock.on('data', (d: Buffer) => {
    received += d.length
    if (stoppedAt === 0 && received > 64 * MiB) { stoppedAt = Date.now(); void b.daemon.close() }
  })
  await ended
  t.ok(stoppedAt > 0 && received < SIZE, `cut short (${(received / MiB).toFixed(1)} MiB of ${SIZE / MiB})`)
  t.ok(Date.now() - stoppedAt < 2000, `the client saw the end ${Date.now() - stoppedAt} ms after the stop`)
  const deadline = Date.now() + 3000
  let line: { bytesOut?: number } | undefined
  while (line === undefined && Date.now() < deadline) {
    line = b.logLines.map(l => JSON.parse(l) as { operation?: string, bytesOut?: number }).find(l => l.operation === 'GetObject')
    if (line === undefined) await new Promise(resolve => setTimeout(resolve, 50))
  }
  t.ok((line?.bytesOut ?? 0) >= received - 64 * 1024, `bytesOut ${line?.bytesOut} counts what the client got (${received})`)
  // The stop closes the daemon's own descriptors too: look for the file and for sockets left open.
  const left = (): string[] => fdTargets().filter(f => f === path || (f.startsWith('socket:') && !socketsBefore.includes(f)))
  while (left().length > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
  t.same(left(), [], 'neither the file nor the connection (nor its duplicate) is left open')
  t.same(rejections, [])
})

// Review 31 F4: what keeps the kernel from sending (no descriptor left for the duplicate; a filesystem whose files
// sendfile refuses) must leave the GET to the streamed path, not cut it after its headers. Staged by replacing the
// addon's function in this process, where the daemon runs.
t.test('no descriptor for the duplicate, or a file sendfile refuses: the GET is streamed whole', async t => {
  const { nativeJobs } = await import('../../lib/storage/native.js')
  const addon = nativeJobs() as NonNullable<ReturnType<typeof nativeJobs>>
  const real = { socketDescriptor: addon.socketDescriptor, sendFile: addon.sendFile }
  t.teardown(() => { Object.assign(addon, real) })
  const b = await startBridge(t)
  const data = randomBytes(3 * MiB + 1)
  writeFileSync(join(b.bucketDir, 'big'), data)
  const read = async (): Promise<Buffer> => {
    const sock = await rawConnection(b)
    t.teardown(() => sock.destroy())
    get(sock, await signedPath(b, 'big'))
    const r = await readResponse(sock)
    t.equal(r.closed, false)
    return r.body
  }
  addon.socketDescriptor = () => { throw Object.assign(new Error('socketDescriptor: fcntl(F_DUPFD_CLOEXEC) failed'), { code: 'EMFILE' }) }
  t.equal(md5(await read()), md5(data), 'EMFILE: streamed')
  addon.socketDescriptor = real.socketDescriptor
  const before = kernelSentBytes()
  addon.sendFile = async () => ({ sent: 0, errno: 22 }) // EINVAL
  t.equal(md5(await read()), md5(data), 'EINVAL: streamed after the same headers')
  t.equal(kernelSentBytes(), before)
  addon.sendFile = real.sendFile
  t.equal(md5(await read()), md5(data), 'and sent by the kernel again')
  t.equal(kernelSentBytes() - before, data.length - TAIL)
})
