// Who holds a CompleteMultipartUpload's lock (the upload folder renamed "<id>.completing"), so that a lock whose
// daemon was killed mid-Complete can be put back at once instead of after an hour (multipart-list.ts recovery).
import { readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'

/** Who holds a Complete's lock: enough to tell, on the same machine, whether that process is still running. */
interface LockHolder { host: string, bootId: string, pid: number, start: string }

/** The lock holder's record, in the locked upload folder. */
export const LOCK_HOLDER_FILE = 'holder.json'

/** A process's start time (clock ticks since boot, /proc/PID/stat field 22): with the pid, it names one process. */
function processStart (pid: number | 'self'): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

let self: LockHolder | undefined
function selfHolder (): LockHolder | undefined {
  if (self !== undefined) return self
  try {
    const start = processStart('self')
    if (start === undefined) return undefined
    self = { host: hostname(), bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), pid: process.pid, start }
  } catch { /* no /proc: locks are recovered by age only */ }
  return self
}

/** Records this process as the holder of a Complete's lock (best effort: without it the lock is recovered by age). */
export async function writeLockHolder (lockDir: string): Promise<void> {
  const me = selfHolder()
  if (me !== undefined) await writeFile(join(lockDir, LOCK_HOLDER_FILE), JSON.stringify(me), { mode: 0o600 }).catch(() => undefined)
}

/**
 * Whether the process that took a Complete's lock is certainly gone: it ran on this machine, and the machine has
 * rebooted since or no process with its pid and start time runs. Unknown (another machine sharing the export, no
 * record yet) is not gone: such locks wait for INTERRUPTED_COMPLETE_MS.
 */
export async function isHolderGone (lockDir: string): Promise<boolean> {
  const me = selfHolder()
  if (me === undefined) return false
  let holder: LockHolder
  try {
    holder = JSON.parse(await readFile(join(lockDir, LOCK_HOLDER_FILE), 'utf8')) as LockHolder
  } catch {
    return false
  }
  if (holder.host !== me.host || typeof holder.pid !== 'number' || !Number.isSafeInteger(holder.pid) || holder.pid <= 0) return false
  if (holder.bootId !== me.bootId) return true
  return processStart(holder.pid) !== holder.start
}

