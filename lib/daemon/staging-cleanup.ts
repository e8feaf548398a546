// Removes upload temp files from the buckets' staging tmp folders: stale ones at start, this process's own at stop.
import { lstat, readdir, readlink, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { BucketRecord } from '../state/types.js'
import { rootProblemWithin } from '../storage/bucket-roots.js'
import { existingStagingDir, STAGING_DIR, stagingRealPath } from '../storage/paths.js'

/**
 * Where PUTs stream before the rename, if the bucket has a trusted staging folder (the sweeps never make one, and
 * a missing or unmounted bucket directory is skipped); multipart uploads live in a sibling folder this module
 * never touches.
 */
export function stagingTmpDir (bucketPath: string): string | undefined {
  const staging = existingStagingDir(bucketPath)
  return staging === undefined ? undefined : join(staging, 'tmp')
}

const TMP_MARKER = `/${STAGING_DIR}/tmp/`

/** Staging tmp files that a process holds open, read from /proc/PID/fd (Linux). */
export async function openStagingTmpFiles (pid: number | 'self' = 'self'): Promise<Set<string>> {
  const found = new Set<string>()
  const fdDir = `/proc/${pid}/fd`
  const fds = await readdir(fdDir).catch(() => [] as string[])
  for (const fd of fds) {
    const target = await readlink(join(fdDir, fd)).catch(() => '')
    if (target.includes(TMP_MARKER) && !target.endsWith(' (deleted)')) found.add(target)
  }
  return found
}

/** Staging tmp files held open by any process on this host (other workers, another bridged). */
async function openOnThisHost (): Promise<Set<string>> {
  const found = new Set<string>()
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter(p => /^\d+$/.test(p))
  for (const pid of pids) for (const path of await openStagingTmpFiles(Number(pid))) found.add(path)
  return found
}

/** A staging temp file untouched this long, and open nowhere on this host, is left over from a crash. */
export const STALE_TMP_IDLE_MS = 10 * 60_000

export interface SweepOptions {
  /** Files modified more recently than this may belong to an upload on another host: keep them. */
  minIdleMs: number
  nowMs: number
  /** Why a bucket cannot be read now (default rootProblemWithin; the daemon passes its shared verdicts). */
  problem?: (bucket: BucketRecord) => Promise<string | undefined>
}

/**
 * Removes temp files left by a crashed or killed bridged: files in `<bucket>/.s3bridge/tmp/` that no process
 * on this host holds open and that nobody has written for minIdleMs (other hosts may share the filesystem).
 * Returns the paths removed.
 */
export async function sweepStaleStagingFiles (buckets: readonly BucketRecord[], opts: SweepOptions): Promise<string[]> {
  const candidates: Array<{ path: string, real: string }> = []
  // Not on a filesystem that is gone, not mounted (its bare mount point) or hung: opening the staging folder
  // below is synchronous, and a hung mount would stop the daemon (at start: keep it from starting). Checked all at
  // once, so hung buckets cost one deadline together.
  const problems = await Promise.all(buckets.map(b => (opts.problem ?? rootProblemWithin)(b)))
  for (const [i, bucket] of buckets.entries()) {
    if (problems[i] !== undefined) continue
    // Read and removed through the verified staging folder (never a path an NFS user could redirect);
    // matched against other processes' open files by the real path their /proc links show.
    const dir = stagingTmpDir(bucket.path)
    if (dir === undefined) continue
    const real = join(stagingRealPath(bucket.path), 'tmp')
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const st = await lstat(join(dir, name)).catch(() => undefined)
      if (st?.isFile() && opts.nowMs - st.mtimeMs >= opts.minIdleMs) candidates.push({ path: join(dir, name), real: join(real, name) })
    }
  }
  if (candidates.length === 0) return []
  const open = await openOnThisHost()
  const stale = candidates.filter(c => !open.has(c.real))
  const removed = new Set(await removeFiles(stale.map(c => c.path)))
  return stale.filter(c => removed.has(c.path)).map(c => c.real)
}

/**
 * Unlinks staging temp files named by their real paths (as /proc links show them), each through its bucket's
 * verified staging folder; paths outside every bucket's staging tmp are left alone. Returns the real paths removed.
 */
export async function removeStagingFiles (buckets: readonly BucketRecord[], realPaths: Iterable<string>): Promise<string[]> {
  const removed: string[] = []
  for (const real of realPaths) {
    for (const bucket of buckets) {
      const prefix = join(stagingRealPath(bucket.path), 'tmp') + '/'
      const name = real.startsWith(prefix) ? real.slice(prefix.length) : ''
      if (name === '' || name.includes('/')) continue
      const dir = stagingTmpDir(bucket.path)
      if (dir !== undefined && (await removeFiles([join(dir, name)])).length > 0) removed.push(real)
      break
    }
  }
  return removed
}

/** Unlinks each path, ignoring those already gone; returns the ones removed. */
export async function removeFiles (paths: Iterable<string>): Promise<string[]> {
  const removed: string[] = []
  for (const path of paths) {
    try {
      await unlink(path)
      removed.push(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
  return removed
}
