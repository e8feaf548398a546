// The cluster primary: forks config.workers processes that share the listeners, restarts crashed ones,
// forwards SIGHUP and SIGTERM, and serves the admin listener with every worker's metrics summed.
import cluster, { type Worker } from 'node:cluster'
import type { Config } from '../config/schema.js'
import type { Logger } from '../log.js'
import { openState } from './server.js'
import { startAdminServer } from './admin-server.js'
import { startJobs } from './scheduled-jobs.js'
import { bootstrapDemo } from './bootstrap.js'
import { printBanner } from './banner.js'
import { handleSignals, rereadConfig } from './signals.js'
import { STALE_TMP_IDLE_MS, sweepStaleStagingFiles } from './staging-cleanup.js'
import { BucketRoots } from '../storage/bucket-roots.js'
import { clusterMetrics } from './worker-metrics.js'

export const LISTENING_MESSAGE = 's3bridge:listening'
export interface ListeningMessage { type: typeof LISTENING_MESSAGE, endpoint: string, httpsEndpoint?: string }

/** A worker that dies sooner than this after its start is restarted after RESTART_DELAY_MS, not at once. */
const MIN_HEALTHY_LIFE_MS = 5_000
const RESTART_DELAY_MS = 1_000
/** Beyond the workers' own grace period, how long the primary waits before killing them. */
const STOP_MARGIN_MS = 10_000

function isListeningMessage (m: unknown): m is ListeningMessage {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === LISTENING_MESSAGE
}

export async function runPrimary (configPath: string, config: Config, log: Logger): Promise<number> {
  // State is all on disk: the primary only bootstraps the demo and sweeps leftovers before the workers start.
  const state = openState(config, log)
  const swept = await sweepStaleStagingFiles(Object.values(state.snapshot().buckets), { minIdleMs: STALE_TMP_IDLE_MS, nowMs: Date.now() })
  if (swept.length > 0) log.info({ files: swept }, 'removed stale upload temp files')
  const demo = await bootstrapDemo(config, state, new Date())
  const jobs = startJobs({ config, state, log, now: () => new Date(), roots: new BucketRoots() })
  let current = config
  let isStopping = false
  const startedAt = new Map<Worker, number>()
  const ready = new Set<Worker>()
  const admin = config.admin
    ? await startAdminServer(config.admin, {
      metrics: () => clusterMetrics([...ready]),
      isHealthy: () => !isStopping && ready.size > 0,
    })
    : undefined

  let hasPrintedBanner = false
  const fork = (): void => {
    const worker = cluster.fork()
    startedAt.set(worker, Date.now())
    worker.on('message', (m: unknown) => {
      if (!isListeningMessage(m)) return
      ready.add(worker)
      if (hasPrintedBanner) return
      hasPrintedBanner = true
      printBanner(m, demo)
      log.info({ workers: current.workers, admin: admin?.endpoint }, 'workers started')
    })
  }
  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker) ?? 0)
    startedAt.delete(worker)
    ready.delete(worker)
    if (isStopping) return
    log.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another')
    if (lived < MIN_HEALTHY_LIFE_MS) setTimeout(() => { if (!isStopping) fork() }, RESTART_DELAY_MS)
    else fork()
  })
  for (let i = 0; i < config.workers; i++) fork()

  const each = (fn: (w: Worker) => void): void => { for (const w of Object.values(cluster.workers ?? {})) if (w) fn(w) }
  const signal = await handleSignals(() => {
    const next = rereadConfig(configPath, log)
    if (!next) return
    current = next
    log.level = next.logLevel
    each(w => w.process.kill('SIGHUP'))
    log.info('reload sent to the workers')
  })
  isStopping = true
  log.info({ signal }, 'stopping workers')
  each(w => w.process.kill('SIGTERM'))
  await allWorkersGone(current.shutdownGraceMs + STOP_MARGIN_MS, () => each(w => w.process.kill('SIGKILL')))
  jobs.stop()
  await admin?.close()
  state.close()
  log.info('stopped')
  return 0
}

function allWorkersGone (timeoutMs: number, onTimeout: () => void): Promise<void> {
  return new Promise(resolve => {
    const check = (): void => {
      if (Object.keys(cluster.workers ?? {}).length > 0) return
      clearTimeout(timer)
      cluster.off('exit', check)
      resolve()
    }
    const timer = setTimeout(() => {
      onTimeout()
    }, timeoutMs)
    cluster.on('exit', check)
    check()
  })
}
