// The workloads: each runs against bridged (and, where there is one, against the machine's limit) and returns rows.
import { execFileSync } from 'node:child_process'
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { lstat, readdir, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { Target, expect, percentile, pool, type PoolResult } from './client.js'
import { PeakWatch, cpuUs } from './proc-stats.js'

export interface Row {
  group: string
  name: string
  unit: string
  bridged: number
  limit?: number
  p50?: number
  p99?: number
  /** daemon CPU per op (µs) or, for bulk rows, in total (s) */
  serverCpu?: string
  genCpu?: string
  peakMiB?: number
  note?: string
  target?: { text: string, pass: boolean }
}

export interface Ctx {
  s3: (concurrency: number) => Target
  nginx?: (concurrency: number) => Target
  nginxPid?: number
  daemonPid: number
  /** bucket directories on disk */
  dirs: { bench: string, list100k: string, folders: string, million: string }
  /** scratch directory on the same filesystem for the plain-fs write limit */
  scratch: string
  smallOps: number
  log: (msg: string) => void
}

const KiB = 1024
const MiB = 1024 * KiB
const MB = 1e6

/** Measures one stretch of work: daemon CPU and peak RSS, the generator's own CPU, the optional nginx CPU. */
async function measured<T> (ctx: Ctx, work: () => Promise<T>): Promise<{ value: T, peakMiB: number, daemonCpuUs: number, genCpuUs: number }> {
  const watch = new PeakWatch(ctx.daemonPid)
  const g0 = process.cpuUsage()
  const value = await work()
  const g = process.cpuUsage(g0)
  const w = watch.stop()
  return { value, peakMiB: w.peakKiB / 1024, daemonCpuUs: w.cpuUs, genCpuUs: g.user + g.system }
}

function opsRow (group: string, name: string, r: PoolResult, m: { peakMiB: number, daemonCpuUs: number, genCpuUs: number }): Row {
  return {
    group, name, unit: 'ops/s', bridged: r.ops / (r.elapsedMs / 1000),
    p50: percentile(r.latMs, 50), p99: percentile(r.latMs, 99),
    serverCpu: `${(m.daemonCpuUs / r.ops).toFixed(0)} µs/op`, genCpu: `${(m.genCpuUs / r.ops).toFixed(0)} µs/op`, peakMiB: m.peakMiB,
  }
}

const rate = (r: PoolResult): number => r.ops / (r.elapsedMs / 1000)

/** 4 KiB PUT, GET, HEAD, DELETE at concurrency 32; limits: nginx for reads, fs writeFile/unlink for writes. */
export async function smallObjects (ctx: Ctx, opts: { quick: boolean }): Promise<Row[]> {
  const C = 32
  const N = ctx.smallOps
  const body = { chunk: Buffer.alloc(4 * KiB, 'x'), size: 4 * KiB }
  const s3 = ctx.s3(C)
  const key = (i: number): string => `/bench/small/${String(i).padStart(7, '0')}`
  const rows: Row[] = []
  ctx.log(`4 KiB: warm-up and PUT ×${N}`)
  // One PUT first makes the "small/" folder: concurrent first PUTs into a missing folder can get AccessDenied
  // (see docs/performance.md, "Findings").
  expect(await s3.request('PUT', key(0), { body, text: true }), 200, 'first PUT')
  await pool(Math.min(1000, N), C, async i => expect(await s3.request('PUT', key(i), { body, text: true }), 200, 'warm-up PUT'))

  const put = await measured(ctx, () => pool(N, C, async i => expect(await s3.request('PUT', key(i), { body, text: true }), 200, 'PUT')))
  const limDir = join(ctx.scratch, 'small')
  mkdirSync(limDir, { recursive: true })
  const limPut = await pool(N, C, i => writeFile(join(limDir, String(i)), body.chunk))
  rows.push({ ...opsRow('4 KiB', 'PUT c=32', put.value, put), limit: rate(limPut), note: 'limit: fs.writeFile' })

  ctx.log('4 KiB: GET')
  // The same 1,000-request warm-up nginx gets below: the daemon's GET path (and the generator's) runs cold for
  // its first few thousand requests (JIT tiers, inline caches), which a long-running server is not.
  await pool(Math.min(1000, N), C, async i => expect(await s3.request('GET', key(i)), 200, 'warm-up GET'))
  const get = await measured(ctx, () => pool(N, C, async i => expect(await s3.request('GET', key(i)), 200, 'GET')))
  const getRow = opsRow('4 KiB', 'GET c=32', get.value, get)
  if (ctx.nginx) {
    const ng = ctx.nginx(C)
    await pool(Math.min(1000, N), C, async i => expect(await ng.request('GET', key(i)), 200, 'nginx GET'))
    const n0 = ctx.nginxPid ? cpuUs(ctx.nginxPid) : 0
    const lim = await pool(N, C, async i => expect(await ng.request('GET', key(i)), 200, 'nginx GET'))
    const ncpu = ctx.nginxPid ? (cpuUs(ctx.nginxPid) - n0) / N : NaN
    getRow.limit = rate(lim)
    getRow.note = `limit: nginx (${ncpu.toFixed(0)} µs/op, p50 ${percentile(lim.latMs, 50).toFixed(2)} ms)`
    getRow.target = { text: '≥ 40% of nginx', pass: getRow.bridged >= 0.4 * getRow.limit }
    ng.close()
  }
  rows.push(getRow)
  if (opts.quick) {
    await pool(N, C, async i => expect(await s3.request('DELETE', key(i)), 204, 'DELETE'))
    rmSync(limDir, { recursive: true, force: true })
    s3.close()
    return rows
  }

  ctx.log('4 KiB: HEAD')
  await pool(Math.min(1000, N), C, async i => expect(await s3.request('HEAD', key(i)), 200, 'warm-up HEAD'))
  const head = await measured(ctx, () => pool(N, C, async i => expect(await s3.request('HEAD', key(i)), 200, 'HEAD')))
  const headRow = opsRow('4 KiB', 'HEAD c=32', head.value, head)
  if (ctx.nginx) {
    const ng = ctx.nginx(C)
    const lim = await pool(N, C, async i => expect(await ng.request('HEAD', key(i)), 200, 'nginx HEAD'))
    headRow.limit = rate(lim)
    headRow.note = 'limit: nginx'
    ng.close()
  }
  rows.push(headRow)

  ctx.log('4 KiB: DELETE')
  const del = await measured(ctx, () => pool(N, C, async i => expect(await s3.request('DELETE', key(i)), 204, 'DELETE')))
  const limDel = await pool(N, C, i => unlink(join(limDir, String(i))))
  rows.push({ ...opsRow('4 KiB', 'DELETE c=32', del.value, del), limit: rate(limDel), note: 'limit: fs.unlink' })
  rmSync(limDir, { recursive: true, force: true })
  s3.close()
  return rows
}

/**
 * How long this machine takes to MD5 `streams` bodies of `size` bytes, one worker thread each, with nothing else
 * to do: a ceiling for PUT (every byte of an upload is hashed for its ETag, and one MD5 cannot be split).
 */
async function md5Ceiling (streams: number, size: number): Promise<number> {
  const src = `const { parentPort, workerData } = require('node:worker_threads'); const h = require('node:crypto').createHash('md5')
    const b = Buffer.alloc(1 << 20, 'y'); for (let n = 0; n < workerData; n += b.length) h.update(b); h.digest(); parentPort.postMessage(0)`
  const t0 = performance.now()
  await Promise.all(Array.from({ length: streams }, () => new Promise<void>((resolve, reject) => {
    const w = new Worker(src, { eval: true, workerData: size })
    w.once('message', () => { void w.terminate(); resolve() })
    w.once('error', reject)
  })))
  return performance.now() - t0
}

/** Writes `size` bytes from a reused 1 MiB buffer with a plain fs write stream. */
function plainWrite (path: string, size: number, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(path, { highWaterMark: chunk.length })
    let left = size
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, chunk.length)
        left -= n
        if (!out.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { out.once('drain', pump); return }
      }
      out.end()
    }
    out.on('error', reject)
    out.on('finish', resolve)
    pump()
  })
}

/** 256 MiB PUT and GET at concurrency 4; limits: plain fs write streams and nginx. */
export async function largeObjects (ctx: Ctx): Promise<Row[]> {
  const C = 4
  const SIZE = 256 * MiB
  const chunk = Buffer.alloc(MiB, 'y')
  const s3 = ctx.s3(C)
  const key = (i: number): string => `/bench/large/${i}`
  const rows: Row[] = []
  const total = C * SIZE
  // Each measured phase starts with the page cache clean (sync): otherwise the writeback of the previous phase's
  // gigabyte lands on whichever side runs next (bridged's GET ran while 2 GiB of PUTs were still being flushed).
  // Two rounds in alternating order (bridged, plain, plain, bridged), each side's better round reported: the same
  // plain writes ran at 1.0-1.6 GB/s as the first gigabyte after a quiet spell and ~7 GB/s right after (this VM's
  // memory), so a single round judged whichever side went first.
  ctx.log('256 MiB: PUT ×4')
  mkdirSync(ctx.scratch, { recursive: true })
  const bridgedPut = async (): Promise<Awaited<ReturnType<typeof measured<PoolResult>>>> => {
    execFileSync('sync')
    return measured(ctx, () => pool(C, C, async i => expect(await s3.request('PUT', key(i), { body: { chunk, size: SIZE }, text: true }), 200, 'PUT 256 MiB')))
  }
  const plainPut = async (): Promise<PoolResult> => {
    execFileSync('sync')
    const r = await pool(C, C, i => plainWrite(join(ctx.scratch, `large-${i}`), SIZE, chunk))
    for (let i = 0; i < C; i++) rmSync(join(ctx.scratch, `large-${i}`), { force: true })
    return r
  }
  const puts = [await bridgedPut()]
  const limPuts = [await plainPut(), await plainPut()]
  puts.push(await bridgedPut())
  const put = puts.reduce((a, b) => (b.value.elapsedMs < a.value.elapsedMs ? b : a))
  const limPut = limPuts.reduce((a, b) => (b.elapsedMs < a.elapsedMs ? b : a))
  const mbs = (ms: number): string => (total / MB / (ms / 1000)).toFixed(0)
  const md5Ms = await md5Ceiling(C, SIZE)
  const putRow: Row = {
    group: '256 MiB', name: 'PUT c=4', unit: 'MB/s', bridged: total / MB / (put.value.elapsedMs / 1000), limit: total / MB / (limPut.elapsedMs / 1000),
    serverCpu: `${(put.daemonCpuUs / 1e6).toFixed(2)} s`, genCpu: `${(put.genCpuUs / 1e6).toFixed(2)} s`, peakMiB: Math.max(...puts.map(p => p.peakMiB)),
    note: `limit: fs write streams (rounds ${limPuts.map(l => mbs(l.elapsedMs)).join(', ')} MB/s); bridged rounds ${puts.map(p => mbs(p.value.elapsedMs)).join(', ')} MB/s; ` +
      `MD5 alone, ${C} streams on worker threads: ${mbs(md5Ms)} MB/s`,
  }
  putRow.target = { text: '≥ 60% of plain write; RSS < 200 MiB', pass: putRow.bridged >= 0.6 * (putRow.limit ?? 0) && (putRow.peakMiB ?? 0) < 200 }
  rows.push(putRow)

  // Two rounds in alternating order (bridged, nginx, nginx, bridged); each side's better round is reported.
  ctx.log('256 MiB: GET ×4')
  const bridgedGet = async (): Promise<Awaited<ReturnType<typeof measured<PoolResult>>>> => {
    execFileSync('sync')
    return measured(ctx, () => pool(C, C, async i => {
      const r = await s3.request('GET', key(i))
      expect(r, 200, 'GET 256 MiB')
      if (r.bytes !== SIZE) throw new Error(`GET 256 MiB: ${r.bytes} bytes`)
    }))
  }
  const nginxGet = async (): Promise<{ ms: number, cpuUs: number } | undefined> => {
    if (!ctx.nginx) return undefined
    const ng = ctx.nginx(C)
    execFileSync('sync')
    const n0 = ctx.nginxPid ? cpuUs(ctx.nginxPid) : 0
    const lim = await pool(C, C, async i => {
      const r = await ng.request('GET', key(i))
      expect(r, 200, 'nginx GET 256 MiB')
      if (r.bytes !== SIZE) throw new Error(`nginx GET 256 MiB: ${r.bytes} bytes`)
    })
    ng.close()
    return { ms: lim.elapsedMs, cpuUs: (ctx.nginxPid ? cpuUs(ctx.nginxPid) : 0) - n0 }
  }
  const gets = [await bridgedGet()]
  const limits = [await nginxGet(), await nginxGet()]
  gets.push(await bridgedGet())
  const get = gets.reduce((a, b) => (b.value.elapsedMs < a.value.elapsedMs ? b : a))
  const getRow: Row = {
    group: '256 MiB', name: 'GET c=4', unit: 'MB/s', bridged: total / MB / (get.value.elapsedMs / 1000),
    serverCpu: `${(get.daemonCpuUs / 1e6).toFixed(2)} s`, genCpu: `${(get.genCpuUs / 1e6).toFixed(2)} s`, peakMiB: Math.max(...gets.map(g => g.peakMiB)),
    note: `bridged rounds ${gets.map(g => (total / MB / (g.value.elapsedMs / 1000)).toFixed(0)).join(', ')} MB/s`,
  }
  const lim = limits.filter((l): l is { ms: number, cpuUs: number } => l !== undefined).sort((a, b) => a.ms - b.ms)[0]
  if (lim) {
    getRow.limit = total / MB / (lim.ms / 1000)
    getRow.note = `limit: nginx sendfile (${(lim.cpuUs / 1e6).toFixed(2)} s CPU; rounds ${limits.map(l => l ? (total / MB / (l.ms / 1000)).toFixed(0) : '-').join(', ')} MB/s); ${getRow.note}`
    getRow.target = { text: '≥ 80% of nginx', pass: getRow.bridged >= 0.8 * getRow.limit }
  }
  rows.push(getRow)
  s3.close()
  return rows
}

/** CompleteMultipartUpload body for parts 1..n with their ETags. */
function completeXml (etags: string[]): string {
  return '<CompleteMultipartUpload>' + etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('') + '</CompleteMultipartUpload>'
}

/** A 1 GiB multipart upload: 128 parts of 8 MiB, 4 in flight. */
export async function multipart (ctx: Ctx): Promise<Row[]> {
  const PART = 8 * MiB
  const PARTS = 128
  const C = 4
  const chunk = Buffer.alloc(MiB, 'z')
  const s3 = ctx.s3(C)
  const path = '/bench/multipart-1g'
  ctx.log('multipart: 1 GiB in 8 MiB parts')
  let completeMs = 0
  const m = await measured(ctx, async () => {
    const t0 = performance.now()
    const created = await s3.request('POST', path, { query: { uploads: '' }, text: true })
    expect(created, 200, 'CreateMultipartUpload')
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.text ?? '')?.[1]
    if (!uploadId) throw new Error('CreateMultipartUpload: no UploadId')
    const etags: string[] = []
    await pool(PARTS, C, async i => {
      const r = await s3.request('PUT', path, { query: { partNumber: String(i + 1), uploadId }, body: { chunk, size: PART }, text: true })
      expect(r, 200, `UploadPart ${i + 1}`)
      etags[i] = String(r.headers.etag)
    })
    const xml = Buffer.from(completeXml(etags))
    const c0 = performance.now()
    const done = await s3.request('POST', path, { query: { uploadId }, body: { chunk: xml, size: xml.length }, text: true })
    completeMs = performance.now() - c0
    expect(done, 200, 'CompleteMultipartUpload')
    if (!/<CompleteMultipartUploadResult/.test(done.text ?? '')) throw new Error('CompleteMultipartUpload: ' + (done.text ?? '').slice(0, 300))
    return performance.now() - t0
  })
  await s3.request('DELETE', path)
  s3.close()
  const bytes = PART * PARTS
  return [{
    group: 'multipart', name: '1 GiB, 8 MiB parts, 4 in flight', unit: 'MB/s', bridged: bytes / MB / (m.value / 1000),
    serverCpu: `${(m.daemonCpuUs / 1e6).toFixed(2)} s`, genCpu: `${(m.genCpuUs / 1e6).toFixed(2)} s`, peakMiB: m.peakMiB,
    note: `total ${(m.value / 1000).toFixed(1)} s, Complete ${(completeMs / 1000).toFixed(2)} s`,
  }]
}

interface ListResult { keys: number, prefixes: number, pages: number, pageMs: number[], totalMs: number, timedOut: boolean }

/** ListObjectsV2 pages of max-keys 1000 until IsTruncated is false (or the deadline passes). */
export async function listAll (s3: Target, bucket: string, q: Record<string, string>, deadlineMs: number, maxPages = Infinity): Promise<ListResult> {
  const res: ListResult = { keys: 0, prefixes: 0, pages: 0, pageMs: [], totalMs: 0, timedOut: false }
  const t0 = performance.now()
  let token: string | undefined
  for (;;) {
    const query: Record<string, string> = { 'list-type': '2', 'max-keys': '1000', ...q }
    if (token) query['continuation-token'] = token
    const s = performance.now()
    const r = await s3.request('GET', `/${bucket}`, { query, text: true })
    res.pageMs.push(performance.now() - s)
    expect(r, 200, 'ListObjectsV2')
    const text = r.text ?? ''
    res.keys += text.split('<Key>').length - 1
    res.prefixes += text.split('<CommonPrefixes>').length - 1
    res.pages++
    const truncated = /<IsTruncated>true<\/IsTruncated>/.test(text)
    token = /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(text)?.[1]
    if (!truncated) break
    if (!token) throw new Error('ListObjectsV2: truncated without NextContinuationToken')
    token = token.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'")
    if (performance.now() - t0 > deadlineMs || res.pages >= maxPages) { res.timedOut = true; break }
  }
  res.totalMs = performance.now() - t0
  return res
}

/** Plain readdir + lstat of every entry: what the filesystem gives a lister that needs sizes and times. */
async function plainList (dir: string): Promise<number> {
  const t0 = performance.now()
  const names = await readdir(dir)
  await pool(names.length, 32, async i => { await lstat(join(dir, names[i] ?? '')) })
  return names.length / ((performance.now() - t0) / 1000)
}

export async function listing100k (ctx: Ctx): Promise<Row[]> {
  const s3 = ctx.s3(1)
  ctx.log('listing: 100,000 keys in one directory')
  await listAll(s3, 'list100k', {}, 120_000, 3) // warm-up
  const m = await measured(ctx, () => listAll(s3, 'list100k', {}, 600_000))
  const r = m.value
  const first = r.pageMs[0] ?? NaN
  const last = r.pageMs[r.pageMs.length - 1] ?? NaN
  const keysPerS = r.keys / (r.totalMs / 1000)
  const row: Row = {
    group: 'listing', name: 'V2 100k keys, 1 dir', unit: 'keys/s', bridged: keysPerS, limit: await plainList(ctx.dirs.list100k),
    p50: first, p99: last, serverCpu: `${(m.daemonCpuUs / 1e6).toFixed(2)} s`, genCpu: `${(m.genCpuUs / 1e6).toFixed(2)} s`, peakMiB: m.peakMiB,
    note: `${r.keys} keys, ${r.pages} pages, ${(r.totalMs / 1000).toFixed(2)} s; p50/p99 cols = first/last page ms; limit: readdir+lstat`,
    target: { text: '≥ 100k keys/s; last page ≤ 2× first', pass: keysPerS >= 100_000 && last <= 2 * first && r.keys === 100_000 },
  }
  ctx.log('listing: delimiter over 1,000 folders of 100')
  const runs: ListResult[] = []
  const dm = await measured(ctx, async () => { for (let i = 0; i < 3; i++) runs.push(await listAll(s3, 'folders', { delimiter: '/' }, 120_000)) })
  const best = runs.map(x => x.totalMs).sort((a, b) => a - b)[1] ?? NaN
  const one = await pool(50, 1, async i => {
    const res = await listAll(s3, 'folders', { delimiter: '/', prefix: `d${String(i * 20).padStart(4, '0')}/` }, 10_000)
    if (res.keys !== 100) throw new Error(`folder listing: ${res.keys} keys`)
  })
  s3.close()
  return [row, {
    group: 'listing', name: 'V2 delimiter, 1,000 folders ×100', unit: 'prefixes/s', bridged: (runs[0]?.prefixes ?? 0) / (best / 1000),
    p50: percentile(one.latMs, 50), p99: percentile(one.latMs, 99),
    serverCpu: `${(dm.daemonCpuUs / 1e6 / 3).toFixed(2)} s`, genCpu: `${(dm.genCpuUs / 1e6 / 3).toFixed(2)} s`, peakMiB: dm.peakMiB,
    note: `${runs[0]?.prefixes} prefixes in ${runs[0]?.pages} page(s), median ${best.toFixed(0)} ms; p50/p99 cols = one folder (100 keys)`,
  }]
}

export async function listingMillion (ctx: Ctx, deadlineMs: number, maxPages = Infinity): Promise<Row[]> {
  const s3 = ctx.s3(1)
  ctx.log('listing: 1,000,000 keys in one directory')
  const m = await measured(ctx, () => listAll(s3, 'million', {}, deadlineMs, maxPages))
  s3.close()
  const r = m.value
  const keysPerS = r.keys / (r.totalMs / 1000)
  return [{
    group: 'listing', name: 'V2 1M keys, 1 dir (complete)', unit: 'keys/s', bridged: keysPerS,
    p50: r.pageMs[0], p99: r.pageMs[r.pageMs.length - 1],
    serverCpu: `${(m.daemonCpuUs / 1e6).toFixed(2)} s`, genCpu: `${(m.genCpuUs / 1e6).toFixed(2)} s`, peakMiB: m.peakMiB,
    note: `${r.keys} keys, ${r.pages} pages, ${(r.totalMs / 1000).toFixed(1)} s${r.timedOut ? ' (STOPPED at deadline)' : ''}; p50/p99 cols = first/last page ms`,
    target: { text: 'listed completely; RSS < 200 MiB', pass: !r.timedOut && r.keys === 1_000_000 && m.peakMiB < 200 },
  }]
}

/** Empty files straight on disk (not measured): names that sort like the keys. */
export function makeFlatDir (dir: string, n: number, prefix: string): void {
  mkdirSync(dir, { recursive: true })
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `${prefix}${String(i).padStart(7, '0')}`), '')
}

export function makeFolders (dir: string, folders: number, files: number): void {
  for (let d = 0; d < folders; d++) {
    const sub = join(dir, `d${String(d).padStart(4, '0')}`)
    mkdirSync(sub, { recursive: true })
    for (let f = 0; f < files; f++) writeFileSync(join(sub, `f${String(f).padStart(3, '0')}`), '')
  }
}
