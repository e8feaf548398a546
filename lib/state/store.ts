// The state store: JSON documents in a state directory, replaced atomically under flock, re-read on change.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, chmodSync, watch, type FSWatcher } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { emptyState, type State } from './types.js'

const require = createRequire(import.meta.url)
const fsExt = require('fs-ext') as { flock (fd: number, op: string, cb: (err: Error | null) => void): void, flockSync (fd: number, op: string): void }

/** Documents and the part of State each one holds. users.json holds secrets and is root-only. */
const DOCUMENTS = { 'buckets.json': 'buckets', 'users.json': 'users', 'policies.json': 'policies' } as const
type DocName = keyof typeof DOCUMENTS

export interface StateStoreOptions {
  pollMs: number
  /** Fail on a corrupt document instead of keeping the last good copy: bridgectl must not show a corrupt file as empty. */
  isStrict?: boolean
  onReload?: (state: State) => void
  onError?: (message: string) => void
}

export class StateStore {
  private current: State = emptyState()
  private stamps = new Map<DocName, string>()
  /** Documents read well at least once: only those have a last good copy to keep. */
  private loaded = new Set<DocName>()
  private watcher: FSWatcher | undefined
  private timer: NodeJS.Timeout | undefined

  constructor (readonly dir: string, private readonly options: StateStoreOptions = { pollMs: 2000 }) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    // Only when it needs it: on a state folder that is read-only for now, reading must still work (sweep 24c F4:
    // every bridgectl command, `status` too, failed on this chmod).
    if ((statSync(dir).mode & 0o777) !== 0o700) chmodSync(dir, 0o700)
    this.refresh()
  }

  /** The last good state. Callers must not mutate it. */
  snapshot (): State {
    return this.current
  }

  /** Starts noticing changes made by bridgectl or other daemons: inotify where it works, polling everywhere (NFS). */
  watch (): void {
    try {
      this.watcher = watch(this.dir, () => this.refresh())
      this.watcher.on('error', () => { /* polling still covers it */ })
    } catch { /* polling covers filesystems without inotify */ }
    this.timer = setInterval(() => this.refresh(), this.options.pollMs)
    this.timer.unref()
  }

  close (): void {
    this.watcher?.close()
    if (this.timer) clearInterval(this.timer)
  }

  /** Re-reads documents whose file changed; a corrupt document keeps the last good copy. */
  refresh (): boolean {
    let changed = false
    const next: State = { ...this.current }
    for (const [doc, part] of Object.entries(DOCUMENTS) as [DocName, keyof State][]) {
      const path = join(this.dir, doc)
      const stamp = stampOf(path)
      if (stamp === this.stamps.get(doc)) continue
      try {
        const value = stamp === 'missing' ? {} : readDocument(path)
        ;(next as unknown as Record<string, unknown>)[part] = value
        this.stamps.set(doc, stamp)
        this.loaded.add(doc)
        changed = true
      } catch (err) {
        if (this.options.isStrict) throw err
        this.options.onError?.(this.loaded.has(doc)
          ? `state: keeping the last good ${doc}: ${(err as Error).message}`
          : `state: serving without ${part} (no earlier good copy of ${doc}): ${(err as Error).message}`)
        this.stamps.set(doc, stamp)
      }
    }
    if (changed) {
      this.current = next
      this.options.onReload?.(next)
    }
    return changed
  }

  /**
   * Read-modify-write under an exclusive flock: re-reads from disk, applies fn, writes what changed.
   * fn may throw to abort without writing.
   */
  async mutate<T> (fn: (state: State) => T): Promise<T> {
    const lockFd = openLock(this.dir)
    try {
      await new Promise<void>((resolve, reject) => fsExt.flock(lockFd, 'ex', err => err ? reject(err) : resolve()))
      return this.mutateLocked(fn)
    } finally {
      closeSync(lockFd) // closing the descriptor releases the flock
    }
  }

  /** Synchronous variant for the admin CLI. */
  mutateSync<T> (fn: (state: State) => T): T {
    const lockFd = openLock(this.dir)
    try {
      fsExt.flockSync(lockFd, 'ex')
      return this.mutateLocked(fn)
    } finally {
      closeSync(lockFd)
    }
  }

  private mutateLocked<T> (fn: (state: State) => T): T {
    const fresh = emptyState()
    for (const [doc, part] of Object.entries(DOCUMENTS) as [DocName, keyof State][]) {
      const path = join(this.dir, doc)
      if (stampOf(path) === 'missing') continue
      // Under the lock a corrupt file is an error the admin must see, not something to overwrite blindly.
      ;(fresh as unknown as Record<string, unknown>)[part] = readDocument(path)
    }
    const before = Object.fromEntries(Object.values(DOCUMENTS).map(p => [p, JSON.stringify(fresh[p])]))
    try {
      const result = fn(fresh)
      for (const [doc, part] of Object.entries(DOCUMENTS) as [DocName, keyof State][]) {
        if (JSON.stringify(fresh[part]) === before[part]) continue
        try {
          writeAtomic(join(this.dir, doc), JSON.stringify(fresh[part], null, 2) + '\n')
        } catch (err) {
          throw new StateWriteError(join(this.dir, doc), err)
        }
      }
      return result
    } finally {
      // Also when fn refused: it may have refused because this process's copy was behind (a change made by another
      // daemon), and the request sent again must be judged on what the disk holds now, not on the old copy.
      this.refresh()
    }
  }
}

/**
 * The state could not be saved (a full or read-only state filesystem): nothing of the change was written. The S3
 * side answers 503 ServiceUnavailable (retry later), bridgectl names the file and the reason.
 */
export class StateWriteError extends Error {
  constructor (readonly path: string, cause: unknown) {
    super(`cannot save ${path}: ${(cause as Error).message}`, { cause })
  }
}

/**
 * Takes an exclusive flock on `path` (made 0600 if missing) without waiting: the descriptor to close (which
 * releases it) when taken, undefined when another process holds it. flock over NFS is a byte-range lock on every
 * host (Linux since 2.6.12), so daemons sharing the state see each other's.
 */
export async function tryLock (path: string): Promise<number | undefined> {
  const fd = openSync(path, 'a', 0o600)
  try {
    await new Promise<void>((resolve, reject) => fsExt.flock(fd, 'exnb', err => err ? reject(err) : resolve()))
    return fd
  } catch (err) {
    closeSync(fd)
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return undefined
    throw err
  }
}

function openLock (dir: string): number {
  try {
    return openSync(join(dir, '.lock'), 'a', 0o600)
  } catch (err) {
    throw new StateWriteError(join(dir, '.lock'), err)
  }
}

function stampOf (path: string): string {
  try {
    const st = statSync(path)
    return `${st.ino}:${st.size}:${st.mtimeMs}`
  } catch (err) {
    // Only a document that is not there is empty: a read error (EIO, ESTALE on an NFS state dir) keeps the last
    // good copy (readDocument fails on it), rather than unmapping every bucket until the next poll.
    const code = (err as NodeJS.ErrnoException).code
    return code === 'ENOENT' ? 'missing' : `unreadable:${code ?? 'error'}`
  }
}

/** Reads one document; a corrupt one is named with its path and what to do about it. */
function readDocument (path: string): unknown {
  const text = readFileSync(path, 'utf8')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    // Only where: V8's message quotes the text around the fault, which in users.json is a secret key.
    const at = /position (\d+)/.exec((err as Error).message)?.[1]
    throw new Error(`state file ${path} is corrupt (not valid JSON${at !== undefined ? ` at byte ${at}` : ''}); restore it from a backup or fix its JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`state file ${path} is corrupt (not a JSON object); restore it from a backup or fix its JSON`)
  }
  return value
}

/** temp file, fsync, rename, fsync directory: readers see the old document or the new one. */
export function writeAtomic (path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`
  try {
    writeFileSync(tmp, text, { mode: 0o600 })
    const fd = openSync(tmp, 'r+')
    try { fsyncSync(fd) } finally { closeSync(fd) }
    renameSync(tmp, path)
  } catch (err) {
    try { unlinkSync(tmp) } catch { /* never made, or already renamed */ }
    throw err // a full state filesystem left users.json.tmp-PID behind (sweep 24c F6)
  }
  const dirFd = openSync(join(path, '..'), 'r')
  try { fsyncSync(dirFd) } finally { closeSync(dirFd) }
}
