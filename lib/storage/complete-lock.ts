// Who holds a CompleteMultipartUpload's lock (the upload folder renamed "<id>.completing"), so that a lock whose
// daemon was killed mid-Complete can be put back at once instead of after an hour (multipart-list.ts recovery).
import { readFileSync, readlinkSync } from 'node:fs'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'

/**
 * Who holds a Complete's lock: enough to tell, on the same machine, whether that process is still running. `pidNs`
 * names the pid namespace (containers sharing a host name and boot id number their processes apart).
 */
interface LockHolder { host: string, bootId: string, pidNs: string, pid: number, start: string }

/** The lock holder's record, in the locked upload folder (the root-only staging folder: no NFS user can forge it). */
export const LOCK_HOLDER_FILE = 'holder.json'

/**
 * A process's start time (clock ticks since boot, /proc/PID/stat field 22): with the pid, it names one process.
 * undefined when no such process runs; an error other than ENOENT/ESRCH (EMFILE, ENOMEM) is thrown: unknown.
 */
function processStart (pid: number | 'self'): string | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ESRCH') return undefined
    throw err
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
}

/** This machine's boot time (ms since the epoch, /proc/stat btime). */
function bootTimeMs (): number | undefined {
  const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))
  return m?.[1] === undefined ? undefined : Number(m[1]) * 1000
}

let self: LockHolder | undefined
let bootedAtMs: number | undefined
function selfHolder (): LockHolder | undefined {
  if (self !== undefined) return self
  try {
    const start = processStart('self')
    if (start === undefined) return undefined
    bootedAtMs = bootTimeMs()
    self = {
      host: hostname(), bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
      pidNs: readlinkSync('/proc/self/ns/pid'), pid: process.pid, start,
    }
  } catch { /* no /proc: locks are recovered by age only */ }
  return self
}

/**
 * Records this process as the holder of the lock it is about to take: written into the live upload folder just
 * before the rename that takes the lock, so a lock never carries an earlier holder's record (a put-back folder keeps
 * its last one until then). Best effort: without a record the lock is recovered by age.
 */
export async function writeLockHolder (uploadDir: string): Promise<void> {
  const me = selfHolder()
  if (me !== undefined) await writeFile(join(uploadDir, LOCK_HOLDER_FILE), JSON.stringify(me), { mode: 0o600 }).catch(() => undefined)
}

/**
 * Whether the process that holds a Complete's lock runs: 'gone' when it ran on this machine (same host, pid
 * namespace) and the machine has rebooted since the lock was taken or no process with its pid and start time runs
 * now; 'alive' when that process runs; 'unknown' otherwise (another machine sharing the export, no record, /proc
 * unreadable). Only 'gone' lets a lock be put back before INTERRUPTED_COMPLETE_MS.
 */
export async function lockHolderState (lockDir: string): Promise<'gone' | 'alive' | 'unknown'> {
  const me = selfHolder()
  if (me === undefined) return 'unknown'
  let holder: LockHolder
  try {
    const written = await stat(join(lockDir, LOCK_HOLDER_FILE)) // just before the lock was taken
    holder = JSON.parse(await readFile(join(lockDir, LOCK_HOLDER_FILE), 'utf8')) as LockHolder
    if (holder.host !== me.host || holder.pidNs !== me.pidNs || !Number.isSafeInteger(holder.pid) || holder.pid <= 0) return 'unknown'
    if (holder.bootId !== me.bootId) {
      // Another boot of this machine, if the lock is older than this boot; else another machine of the same name.
      return bootedAtMs !== undefined && written.mtimeMs < bootedAtMs ? 'gone' : 'unknown'
    }
    return processStart(holder.pid) === holder.start ? 'alive' : 'gone'
  } catch {
    return 'unknown'
  }
}
