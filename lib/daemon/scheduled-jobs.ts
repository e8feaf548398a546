// node-cron jobs: purge expired keys and old secrets, abort stale multipart uploads, apply lifecycle rules.
import cron from 'node-cron'
import { purgeExpired } from '../auth/rotation.js'
import type { Config } from '../config/schema.js'
import type { Logger } from '../log.js'
import type { StateStore } from '../state/store.js'
import { applyLifecycleToday } from './lifecycle-job.js'
import type { BucketRoots } from '../storage/bucket-roots.js'
import { abortStaleUploads, recoverInterruptedCompletes } from '../storage/multipart-list.js'
import { STALE_TMP_IDLE_MS, sweepStaleStagingFiles } from './staging-cleanup.js'

export interface JobDeps {
  config: Config, state: StateStore, log: Logger, now: () => Date
  /** The daemon's bucket-availability verdicts: jobs skip a bucket that is not there or hangs, sharing its stuck check. */
  roots: BucketRoots
}

/** Removes expired keys and expired old secrets from the state (they already fail at expiry; this tidies). */
export async function purgeExpiredKeys (d: JobDeps): Promise<number> {
  const now = d.now()
  // Read-only check first so an idle bridge does not take the state lock every minute.
  const probe = structuredClone(d.state.snapshot())
  if (purgeExpired(probe, now) === 0) return 0
  const changed = await d.state.mutate(s => purgeExpired(s, now))
  if (changed) d.log.info({ job: 'purge-expired-keys', changed }, 'purged expired keys and old secrets')
  return changed
}

/** Aborts multipart uploads older than staleUploadHours in every bucket. */
export async function abortStale (d: JobDeps): Promise<number> {
  let aborted = 0
  const maxAgeMs = d.config.staleUploadHours * 3_600_000
  for (const bucket of Object.values(d.state.snapshot().buckets)) {
    if (await d.roots.verdict(bucket) !== undefined) continue // missing, unmounted or hung: its folders are not to be read
    try {
      const back = await recoverInterruptedCompletes(bucket.path, undefined, d.now().getTime())
      if (back.length) d.log.warn({ job: 'abort-stale-uploads', bucket: bucket.name, uploads: back }, 'put back multipart uploads whose Complete was interrupted')
      const r = await abortStaleUploads(bucket.path, maxAgeMs, d.now().getTime())
      aborted += r.abortedUploadIds.length
      if (r.abortedUploadIds.length) d.log.info({ job: 'abort-stale-uploads', bucket: bucket.name, uploads: r.abortedUploadIds }, 'aborted stale multipart uploads')
    } catch (err) {
      d.log.warn({ job: 'abort-stale-uploads', bucket: bucket.name, err: (err as Error).message }, 'could not sweep uploads')
    }
  }
  return aborted
}

/**
 * Removes temp files of PUTs that died with a daemon (open nowhere on this host, untouched for 10 minutes): the
 * start-up sweep keeps younger ones, which a daemon restarted at once (systemd) would otherwise keep for good.
 */
export async function sweepTempFiles (d: JobDeps): Promise<number> {
  const swept = await sweepStaleStagingFiles(Object.values(d.state.snapshot().buckets), { minIdleMs: STALE_TMP_IDLE_MS, nowMs: d.now().getTime(), problem: b => d.roots.verdict(b) })
  if (swept.length) d.log.info({ job: 'sweep-temp-files', files: swept }, 'removed stale upload temp files')
  return swept.length
}

export interface Jobs { stop (): void }

export function startJobs (d: JobDeps): Jobs {
  const run = (name: string, fn: () => Promise<unknown>) => async (): Promise<void> => {
    try { await fn() } catch (err) { d.log.warn({ job: name, err: (err as Error).message }, 'job failed') }
  }
  const tasks = [
    cron.schedule('* * * * *', run('purge-expired-keys', () => purgeExpiredKeys(d)), { noOverlap: true }),
    cron.schedule('17 * * * *', run('abort-stale-uploads', () => abortStale(d)), { noOverlap: true }),
    cron.schedule('*/15 * * * *', run('sweep-temp-files', () => sweepTempFiles(d)), { noOverlap: true }),
    // AWS applies lifecycle rules once a day, to what was due by midnight UTC.
    cron.schedule('5 0 * * *', run('lifecycle', () => applyLifecycleToday(d, () => stopped)), { noOverlap: true, timezone: 'Etc/UTC' }),
  ]
  let stopped = false
  return { stop: () => { stopped = true; for (const t of tasks) void t.stop() } }
}
