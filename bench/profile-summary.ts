// Summarises a V8 .cpuprofile: the top self-time functions (share of non-idle samples) and the share by file.
// Usage: node dist/bench/profile-summary.js FILE.cpuprofile [top]
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, hitCount?: number, children?: number[] }
interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

export interface ProfileLine { name: string, where: string, selfMs: number, share: number, callers?: Map<string, number> }
export interface ProfileSummary { totalMs: number, idleMs: number, top: ProfileLine[], byFile: ProfileLine[] }

function shortUrl (url: string): string {
  if (url === '') return '(native)'
  const m = /\/(dist\/(?:lib|bench)\/.*|node_modules\/.*)$/.exec(url)
  return m?.[1] ?? url.replace(/^file:\/\//, '')
}

export function summarise (file: string, topN = 15): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(prof.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  /** The nearest JavaScript frame above a node: who called a native function. */
  const caller = (id: number): string => {
    let p = parent.get(id)
    for (let hops = 0; p !== undefined && hops < 8; hops++) {
      const cf = byId.get(p)?.callFrame
      if (cf?.url && !cf.url.startsWith('node:')) return `${cf.functionName || '(anonymous)'} ${shortUrl(cf.url)}:${cf.lineNumber + 1}`
      p = parent.get(p)
    }
    return '?'
  }
  const self = new Map<number, number>()
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000))
  const fn = new Map<string, ProfileLine>()
  const files = new Map<string, ProfileLine>()
  let totalMs = 0
  let idleMs = 0
  for (const [id, ms] of self) {
    const cf = byId.get(id)?.callFrame
    if (!cf) continue
    if (cf.functionName === '(idle)') { idleMs += ms; continue }
    totalMs += ms
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '(native)'
    const key = `${cf.functionName}@${where}`
    const line = fn.get(key) ?? { name: cf.functionName || '(anonymous)', where, selfMs: 0, share: 0 }
    line.selfMs += ms
    line.callers ??= new Map()
    const by = caller(id)
    line.callers.set(by, (line.callers.get(by) ?? 0) + ms)
    fn.set(key, line)
    const fileKey = cf.url ? shortUrl(cf.url) : cf.functionName
    const fl = files.get(fileKey) ?? { name: fileKey, where: '', selfMs: 0, share: 0 }
    fl.selfMs += ms
    files.set(fileKey, fl)
  }
  const finish = (m: Map<string, ProfileLine>): ProfileLine[] => [...m.values()]
    .map(l => ({ ...l, share: totalMs > 0 ? l.selfMs / totalMs : 0 }))
    .sort((a, b) => b.selfMs - a.selfMs).slice(0, topN)
  return { totalMs, idleMs, top: finish(fn), byFile: finish(files) }
}

export function formatSummary (s: ProfileSummary): string {
  const pct = (x: number): string => (x * 100).toFixed(1).padStart(5) + '%'
  const lines = [`busy ${s.totalMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms`, 'top self time:']
  for (const l of s.top) {
    lines.push(`  ${pct(l.share)}  ${l.name}  ${l.where}`)
    const callers = [...(l.callers ?? new Map<string, number>()).entries()].sort((a, b) => b[1] - a[1]).slice(0, 2)
    for (const [c, ms] of callers) if (l.selfMs > 0) lines.push(`           from ${c} (${(100 * ms / l.selfMs).toFixed(0)}%)`)
  }
  lines.push('by file:')
  for (const l of s.byFile.slice(0, 10)) lines.push(`  ${pct(l.share)}  ${l.name}`)
  return lines.join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2]
  if (!file) { process.stderr.write('usage: profile-summary FILE.cpuprofile [top]\n'); process.exit(2) }
  process.stdout.write(formatSummary(summarise(file, Number(process.argv[3] ?? 15))) + '\n')
}
