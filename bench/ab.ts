// Interleaved A/B of two builds under 4 KiB GETs (or HEADs): both daemons run at once over the same files, rounds
// alternate between them (ABBA…), and each round's event-loop and whole-process CPU per request is read from
// /proc. On a noisy VM this tells a few-percent change from drift far better than two separate bench runs.
//
//   node dist/bench/ab.js DIST_A DIST_B [--rounds 20] [--ops 3000] [--head]
//
// DIST_A and DIST_B are the dist/ folders of two built checkouts (each inside its package root, beside its
// native/ and node_modules/): e.g. this one and `git worktree add /tmp/base <rev>` after `npm ci` there.
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import type { BridgedChild } from './bridged.js'
import { Target, pool } from './client.js'

const UID = 1000
const GID = 1000
const FILES = 1000
const CONCURRENCY = 32

interface Round { opsPerSec: number, cpuUs: number, loopUs: number }
interface Side { name: string, daemon: BridgedChild, target: Target, rounds: Round[] }

/** utime + stime of a /proc stat file, in ms (USER_HZ is 100 on Linux). */
function cpuMs (statPath: string): number {
  const fields = readFileSync(statPath, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function main (): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { rounds: { type: 'string', default: '20' }, ops: { type: 'string', default: '3000' }, head: { type: 'boolean', default: false } },
  })
  if (positionals.length !== 2) {
    process.stderr.write('usage: node dist/bench/ab.js DIST_A DIST_B [--rounds N] [--ops N] [--head]\n')
    process.exit(2)
  }
  const rounds = Number(values.rounds)
  const ops = Number(values.ops)
  const method = values.head ? 'HEAD' : 'GET'
  const dir = mkdtempSync('/tmp/s3bridge-ab-')
  const bucket = join(dir, 'bucket')
  mkdirSync(join(bucket, 'small'), { recursive: true })
  chownSync(bucket, UID, GID)
  chownSync(join(bucket, 'small'), UID, GID)
  const body = Buffer.alloc(4096, 7)
  const key = (i: number): string => `small/${String(i % FILES).padStart(7, '0')}`
  for (let i = 0; i < FILES; i++) {
    writeFileSync(join(bucket, key(i)), body)
    chownSync(join(bucket, key(i)), UID, GID)
  }
  const sides: Side[] = []
  try {
    for (const [i, dist] of positionals.entries()) {
      const { startBridged } = await import(pathToFileURL(join(resolve(dist), 'bench/bridged.js')).href) as typeof import('./bridged.js')
      const state = join(dir, `state-${i}`)
      mkdirSync(state)
      const daemon = await startBridged({ dir: state, uid: UID, gid: GID, buckets: { bench: bucket }, logLevel: 'info', fsync: false })
      sides.push({ name: i === 0 ? 'A' : 'B', daemon, target: Target.signed(daemon.endpoint, CONCURRENCY, daemon.accessKeyId, daemon.secretAccessKey), rounds: [] })
    }
    const burst = (s: Side, n: number): ReturnType<typeof pool> => pool(n, CONCURRENCY, async i => {
      const r = await s.target.request(method, `/bench/${key(i)}`)
      if (r.status !== 200) throw new Error(`${s.name}: ${method} answered ${r.status}`)
    })
    for (const s of sides) await burst(s, 3000) // warm-up: JIT, page cache, keep-alive sockets
    for (let r = 0; r < rounds; r++) {
      for (const s of r % 2 === 0 ? sides : [...sides].reverse()) {
        const pid = s.daemon.pid
        const c0 = cpuMs(`/proc/${pid}/stat`)
        const l0 = cpuMs(`/proc/${pid}/task/${pid}/stat`)
        const res = await burst(s, ops)
        s.rounds.push({
          opsPerSec: ops / res.elapsedMs * 1000,
          cpuUs: (cpuMs(`/proc/${pid}/stat`) - c0) * 1000 / ops,
          loopUs: (cpuMs(`/proc/${pid}/task/${pid}/stat`) - l0) * 1000 / ops,
        })
      }
    }
    for (const s of sides) {
      process.stdout.write(`${s.name} ${positionals[s.name === 'A' ? 0 : 1]}: ${median(s.rounds.map(r => r.opsPerSec)).toFixed(0)} ${method}s/s, ` +
        `daemon ${median(s.rounds.map(r => r.cpuUs)).toFixed(0)} µs, event loop ${median(s.rounds.map(r => r.loopUs)).toFixed(0)} µs per request (medians)\n`)
    }
    const [a, b] = sides as [Side, Side]
    for (const [what, pick] of [['event loop', (r: Round) => r.loopUs], ['daemon', (r: Round) => r.cpuUs]] as const) {
      const d = a.rounds.map((r, i) => pick(b.rounds[i]!) - pick(r))
      process.stdout.write(`B − A ${what} µs per request, paired by round: median ${median(d).toFixed(0)}, range ${Math.min(...d).toFixed(0)} … ${Math.max(...d).toFixed(0)}\n`)
    }
  } finally {
    for (const s of sides) { s.target.close(); await s.daemon.stop() }
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch(err => {
  process.stderr.write(`ab: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
