// npm run bench [-- --quick | --million | --profile | --no-profile | --only=small,large,multipart,list,million]
// Runs the workloads against bridged (a child process) and against the machine's limit, and prints ratios.
import { chownSync, chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, cpSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { startBridged, type BridgedChild } from './bridged.js'
import { Target } from './client.js'
import { startNginx, type Nginx } from './nginx.js'
import { formatSummary, summarise } from './profile-summary.js'
import { fdCount, sample } from './proc-stats.js'
import {
  largeObjects, listing100k, listingMillion, makeFlatDir, makeFolders, multipart, smallObjects, type Ctx, type Row,
} from './workloads.js'

const UID = 2000
const GID = 2000

interface Options { quick: boolean, million: boolean, profile: 'auto' | 'always' | 'never', only: Set<string> | null, smallOps: number, millionDeadlineMs: number }

function options (argv: string[]): Options {
  const only = argv.find(a => a.startsWith('--only='))?.slice(7)
  return {
    quick: argv.includes('--quick'),
    million: argv.includes('--million') || process.env.BENCH_MILLION === '1',
    profile: argv.includes('--profile') ? 'always' : argv.includes('--no-profile') ? 'never' : 'auto',
    only: only ? new Set(only.split(',')) : null,
    smallOps: Number(process.env.BENCH_SMALL_OPS ?? 10_000),
    millionDeadlineMs: Number(process.env.BENCH_MILLION_DEADLINE_S ?? 900) * 1000,
  }
}

const log = (msg: string): void => { process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`) }

function machine (): string {
  let disk = '?'
  try { disk = execFileSync('df', ['-hT', '/tmp'], { encoding: 'utf8' }).trim().split('\n')[1]?.replace(/\s+/g, ' ') ?? '?' } catch {}
  return `nproc ${cpus().length} (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, /tmp: ${disk}, node ${process.version}, ` +
    `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, load ${loadavg().map(x => x.toFixed(2)).join(' ')}`
}

function fmt (x: number | undefined, digits = 0): string {
  if (x === undefined || Number.isNaN(x)) return ''
  return x >= 100 ? x.toFixed(0) : x.toFixed(digits || (x < 10 ? 2 : 1))
}

export function table (rows: Row[]): string {
  const out = [
    '| workload | unit | bridged | limit | ratio | p50 ms | p99 ms | daemon CPU | generator CPU | daemon peak RSS MiB | target | result | note |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|',
  ]
  for (const r of rows) {
    const ratio = r.limit ? `${(100 * r.bridged / r.limit).toFixed(0)}%` : ''
    out.push(`| ${r.group} ${r.name} | ${r.unit} | ${fmt(r.bridged)} | ${fmt(r.limit)} | ${ratio} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${r.serverCpu ?? ''} | ${r.genCpu ?? ''} | ` +
      `${fmt(r.peakMiB)} | ${r.target?.text ?? ''} | ${r.target ? (r.target.pass ? 'PASS' : 'MISS') : ''} | ${r.note ?? ''} |`)
  }
  return out.join('\n')
}

async function main (): Promise<void> {
  const opt = options(process.argv.slice(2))
  const want = (g: string): boolean => opt.only === null || opt.only.has(g)
  const tmp = mkdtempSync('/tmp/s3bridge-bench-')
  log(`temp ${tmp}; ${machine()}`)
  const data = join(tmp, 'data')
  const dirs = { bench: join(data, 'bench'), list100k: join(data, 'list100k'), folders: join(data, 'folders'), million: join(data, 'million') }
  let bridged: BridgedChild | undefined
  let nginx: Nginx | undefined
  try {
    mkdirSync(data, { recursive: true })
    chmodSync(tmp, 0o755)
    chmodSync(data, 0o755)
    mkdirSync(dirs.bench, { recursive: true })
    const runList = !opt.quick && want('list')
    const runMillion = !opt.quick && opt.million && want('million')
    if (runList) {
      log('creating 100,000 files and 1,000 folders × 100 files (not measured)')
      makeFlatDir(dirs.list100k, 100_000, 'obj-')
      makeFolders(dirs.folders, 1000, 100)
    }
    if (runMillion) {
      log('creating 1,000,000 empty files (not measured)')
      const t0 = Date.now()
      makeFlatDir(dirs.million, 1_000_000, 'm-')
      log(`created in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
    }
    for (const d of Object.values(dirs)) { mkdirSync(d, { recursive: true }); chownSync(d, UID, GID) }

    const spec = { dir: tmp, uid: UID, gid: GID, logLevel: 'info' as const, fsync: process.env.BENCH_FSYNC === '1', buckets: { bench: dirs.bench, list100k: dirs.list100k, folders: dirs.folders, million: dirs.million } }
    const start = async (cpuProfDir?: string): Promise<BridgedChild> => startBridged(spec, { cpuProfDir })
    bridged = await start()
    nginx = await startNginx(tmp, data)
    const ctxFor = (b: BridgedChild): Ctx => ({
      s3: c => Target.signed(b.endpoint, c, b.accessKeyId, b.secretAccessKey),
      nginx: nginx ? (c => new Target(nginx?.endpoint ?? '', c)) : undefined,
      nginxPid: nginx?.pid,
      daemonPid: b.pid,
      dirs,
      scratch: join(tmp, 'scratch'),
      smallOps: opt.smallOps,
      log,
    })
    const ctx = ctxFor(bridged)
    // One PUT and DELETE first: the daemon keeps one descriptor per bucket it has written to (its verified
    // staging folder, lib/storage/paths.ts) for its lifetime. Counted after that, growth means a leak.
    const warm = ctx.s3(1)
    await warm.request('PUT', '/bench/.warm-up', { body: { chunk: Buffer.from('w'), size: 1 }, text: true })
    await warm.request('DELETE', '/bench/.warm-up', { text: true })
    warm.close()
    const fdsBefore = fdCount(bridged.pid)
    const rssStart = sample(bridged.pid).rssKiB / 1024
    log(`bridged pid ${bridged.pid} at ${bridged.endpoint}: ${fdsBefore} fds, RSS ${rssStart.toFixed(0)} MiB; nginx pid ${nginx.pid}`)
    const gen0 = process.cpuUsage()

    const groups: Array<[string, (c: Ctx) => Promise<Row[]>]> = []
    if (want('small')) groups.push(['small', c => smallObjects(c, { quick: opt.quick })])
    if (want('large')) groups.push(['large', largeObjects])
    if (!opt.quick && want('multipart')) groups.push(['multipart', multipart])
    if (runList) groups.push(['list', listing100k])
    if (runMillion) groups.push(['million', c => listingMillion(c, opt.millionDeadlineMs)])

    const rows: Row[] = []
    const rowGroup = new Map<Row, string>()
    for (const [name, run] of groups) {
      for (const r of await run(ctx)) { rows.push(r); rowGroup.set(r, name) }
    }
    await new Promise(resolve => setTimeout(resolve, 1000)) // let the daemon see the clients' sockets close
    // Idle MD5 worker threads exit 10 s after their last upload (their event-loop fds go with them): let them.
    let fdsAfter = fdCount(bridged.pid)
    for (let waited = 0; fdsAfter > fdsBefore && waited < 15_000; waited += 500) {
      await new Promise(resolve => setTimeout(resolve, 500))
      fdsAfter = fdCount(bridged.pid)
    }
    const gen = process.cpuUsage(gen0)
    rows.push({
      group: 'daemon', name: 'open fds before → after', unit: 'fds', bridged: fdsAfter, limit: undefined,
      note: `${fdsBefore} → ${fdsAfter}; RSS at start ${rssStart.toFixed(0)} MiB, at end ${(sample(bridged.pid).rssKiB / 1024).toFixed(0)} MiB`,
      target: { text: 'no fd growth', pass: fdsAfter <= fdsBefore },
    })
    process.stdout.write(`\n## s3bridge bench ${new Date().toISOString()}\n\n${machine()}\n` +
      `generator CPU over the whole run: ${((gen.user + gen.system) / 1e6).toFixed(1)} s (user ${(gen.user / 1e6).toFixed(1)} s)\n\n${table(rows)}\n\n`)
    await bridged.stop()
    bridged = undefined

    // CPU profiles of the daemon under the loads whose targets were missed (or all, with --profile).
    const toProfile = new Set<string>()
    for (const r of rows) {
      const g = rowGroup.get(r)
      if (g && (opt.profile === 'always' || (opt.profile === 'auto' && r.target && !r.target.pass))) toProfile.add(g)
    }
    for (const g of toProfile) {
      const run = groups.find(([n]) => n === g)?.[1]
      if (!run) continue
      const profDir = join(tmp, `prof-${g}`)
      mkdirSync(profDir, { recursive: true })
      log(`profiling the daemon under "${g}"`)
      const pb = await start(profDir)
      try {
        if (g === 'million') await listingMillion(ctxFor(pb), 120_000, 200)
        else await run(ctxFor(pb))
      } finally { await pb.stop() }
      for (const f of readdirSync(profDir).filter(f => f.endsWith('.cpuprofile'))) {
        process.stdout.write(`### daemon CPU profile under "${g}"\n\n\`\`\`\n${formatSummary(summarise(join(profDir, f), 15))}\n\`\`\`\n\n`)
        if (process.env.BENCH_KEEP_PROFILES) {
          mkdirSync(process.env.BENCH_KEEP_PROFILES, { recursive: true })
          cpSync(join(profDir, f), join(process.env.BENCH_KEEP_PROFILES, `${g}-${f}`))
        }
      }
    }
  } finally {
    await bridged?.stop()
    await nginx?.stop()
    log(`removing ${tmp}`)
    rmSync(tmp, { recursive: true, force: true })
  }
}

main().catch(err => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exitCode = 1
})
