// What /proc says about one process: resident memory (now and peak), CPU time, open file descriptors.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'

const TICK_US = 1e6 / 100 // USER_HZ is 100 on Linux

export interface ProcSample { rssKiB: number, hwmKiB: number, cpuUs: number, fds: number }

export function sample (pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN)
  return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), cpuUs: cpuUs(pid), fds: fdCount(pid) }
}

export function cpuUs (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // fields after the ")" that closes comm: state is field 3, utime 14, stime 15
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(rest[11]) + Number(rest[12])) * TICK_US
}

export function fdCount (pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/** Resets VmHWM to the current RSS (Linux >= 4.0, "5" in clear_refs); false if not permitted. */
export function resetPeak (pid: number): boolean {
  try { writeFileSync(`/proc/${pid}/clear_refs`, '5'); return true } catch { return false }
}

/** Peak RSS over a stretch of work: VmHWM after a reset, cross-checked by sampling VmRSS every 50 ms. */
export class PeakWatch {
  private maxRss = 0
  private readonly timer: NodeJS.Timeout
  private readonly cpu0: number
  constructor (private readonly pid: number) {
    resetPeak(pid)
    this.cpu0 = cpuUs(pid)
    this.timer = setInterval(() => { try { this.maxRss = Math.max(this.maxRss, sample(pid).rssKiB) } catch {} }, 50)
    this.timer.unref()
  }

  stop (): { peakKiB: number, cpuUs: number } {
    clearInterval(this.timer)
    const s = sample(this.pid)
    return { peakKiB: Math.max(this.maxRss, s.hwmKiB, s.rssKiB), cpuUs: s.cpuUs - this.cpu0 }
  }
}
