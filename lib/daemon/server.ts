// Starting, reloading and stopping one bridged: services, the S3 listeners, the admin listener, a graceful close.
import { resolve } from 'node:path'
import type { Server } from 'node:http'
import { ConfigError, fieldFailure, type Config } from '../config/schema.js'
import { createApp } from '../http/app.js'
import { BackgroundWork } from '../http/background-work.js'
import type { Services } from '../http/types.js'
import { createLogger, type Logger } from '../log.js'
import { Metrics } from '../metrics.js'
import { StateStore } from '../state/store.js'
import type { BucketRecord, State } from '../state/types.js'
import { startJobs } from './scheduled-jobs.js'
import { startAdminServer, type AdminServer } from './admin-server.js'
import { RequestTracker } from './drain.js'
import { startMemoryTrimmer } from './memory-trim.js'
import { openListeners, type Listeners } from './listeners.js'
import { openStagingTmpFiles, removeStagingFiles, STALE_TMP_IDLE_MS, sweepStaleStagingFiles } from './staging-cleanup.js'
import { forgetGroups } from '../auth/identity.js'
import { forgetGroupNames } from '../auth/groups.js'
import { xattrFallbackInUse } from '../storage/xattr.js'
import { BucketRoots, ROOT_ANSWER_MS, swappableParent, within } from '../storage/bucket-roots.js'
import { recordMissingMountPoints } from './record-mounts.js'
import { retireRoot, serveRoot } from '../storage/paths.js'

export interface RunningDaemon {
  services: Services
  metrics: Metrics
  /** Base URL of the HTTP listener (or HTTPS when it is the only one). */
  endpoint: string
  httpsEndpoint?: string
  /** Base URL of the admin listener (metrics, health), when config.admin is set and this process serves it. */
  adminEndpoint?: string
  /** Requests whose handler or response is not finished. */
  inFlight (): number
  /**
   * Applies a new config without touching connections: log level, TLS certificates, baseDomains and
   * every per-request setting take effect; returns the changed fields that only a restart applies.
   */
  reload (next: Config): string[]
  /** Stops accepting, waits up to shutdownGraceMs for requests, then cuts the rest and removes their temp files. */
  close (): Promise<void>
}

export interface StartOptions {
  log?: Logger
  now?: () => Date
  /** Serve config.admin from this process (false in cluster workers: the primary serves the aggregate). */
  hasAdminListener?: boolean
  /** Run the scheduled jobs here (false in cluster workers: the primary runs them once for the host). */
  hasJobs?: boolean
}

/** After the grace period, how long cut requests get to run their own cleanup. */
const CUT_SETTLE_MS = 5_000

/** Fields read only at start: changing them on SIGHUP is reported and ignored until a restart. */
export function fieldsNeedingRestart (prev: Config, next: Config): string[] {
  const listenerOf = (c: Config): unknown => c.https && { host: c.https.host, port: c.https.port }
  const checks: Array<[string, unknown, unknown]> = [
    ['http', prev.http, next.http],
    ['https', listenerOf(prev), listenerOf(next)],
    ['admin', prev.admin, next.admin],
    ['httpsOnly', prev.httpsOnly, next.httpsOnly],
    ['workers', prev.workers, next.workers],
    ['stateDir', prev.stateDir, next.stateDir],
    ['statePollMs', prev.statePollMs, next.statePollMs],
  ]
  return checks.filter(([, a, b]) => JSON.stringify(a) !== JSON.stringify(b)).map(([name]) => name)
}

function closed (server: Server): Promise<void> {
  return new Promise(resolve => server.close(() => resolve()))
}

/**
 * The state store; a stateDir that cannot be made (a file, a read-only mount) is named as the config field. When a
 * reload shows a directory no bucket serves any more (`bridgectl buckets delete`, or DeleteBucket in another
 * process), this process lets go of its staging folder once the requests on it are done, so the admin can unmount
 * the export.
 */
export function openState (config: Config, log: Logger): StateStore {
  let served: Map<string, string> | undefined
  // Each served directory with who serves it: a bucket deleted and made again (same path, a new record) between two
  // reloads, which a daemon polling over NFS easily misses, must not keep the deleted bucket's staging folder.
  const paths = (state: State): Map<string, string> => {
    const out = new Map<string, string>()
    for (const b of Object.values(state.buckets)) out.set(b.path, [out.get(b.path), b.name, b.createdAt].join('\0'))
    return out
  }
  const onReload = (next: State): void => {
    const now = paths(next)
    for (const [path, who] of served ?? []) if (now.get(path) !== who) retireRoot(path)
    for (const path of now.keys()) serveRoot(path) // also one unmapped and mapped again between two reloads
    served = now
  }
  try {
    const store = new StateStore(config.stateDir, { pollMs: config.statePollMs, onError: m => log.warn(m), onReload })
    served ??= paths(store.snapshot())
    return store
  } catch (err) {
    throw fieldFailure('stateDir', config.stateDir, err)
  }
}

/** How long a bucket's filesystem gets to answer (S3BRIDGE_ROOT_ANSWER_MS: for tests of hung mounts). */
function rootAnswerMs (): number {
  const ms = Number(process.env.S3BRIDGE_ROOT_ANSWER_MS)
  return Number.isSafeInteger(ms) && ms > 0 ? ms : ROOT_ANSWER_MS
}

export async function startDaemon (config: Config, opts: StartOptions = {}): Promise<RunningDaemon> {
  const log = opts.log ?? createLogger(config.logLevel)
  // The state holds users, keys and buckets: in a folder someone else may change (the sample's ./var/state run
  // from /tmp), they could put their own there, with an admin user, before root starts (review 17).
  const unsafeState = await swappableParent(resolve(config.stateDir), { toBeMade: true })
  if (unsafeState !== undefined) throw new ConfigError('stateDir', 'a folder only root can change the parents of', `${config.stateDir}: ${unsafeState}`)
  const state = openState(config, log)
  const roots = new BucketRoots((root, problem) => {
    if (problem !== undefined) log.error({ bucket: root.name, path: root.path }, `bucket ${root.name ?? root.path} is unavailable (503 to every request): ${problem}`)
    else log.warn({ bucket: root.name, path: root.path }, `bucket ${root.name ?? root.path} is available again`)
  }, undefined, rootAnswerMs())
  // A scrape shares the requests' verdicts but waits 1 s at most: it must answer within Prometheus's timeout, and
  // a bucket whose check is that slow is not to be read (its staging folder is opened synchronously).
  const scrapeVerdict = (b: BucketRecord): Promise<string | undefined> => within(roots.verdict(b), 1000, () => 'no answer within 1 s')
  const unavailableBuckets = async (): Promise<number> => {
    const problems = await Promise.all(Object.values(state.snapshot().buckets).map(scrapeVerdict))
    return problems.filter(p => p !== undefined).length
  }
  const metrics = new Metrics({ state: () => state.snapshot(), hasProcessMetrics: true, unavailableBuckets, readable: async b => await scrapeVerdict(b) === undefined })
  const tracker = new RequestTracker()
  const services: Services = { config, state, log, now: opts.now ?? (() => new Date()), roots, background: new BackgroundWork() }
  let isDraining = false
  let listeners: Listeners | undefined
  let admin: AdminServer | undefined
  try {
    state.watch()
    // Through the shared verdicts: a hung bucket's stuck stat is the one its requests wait on too.
    const problem = (b: BucketRecord): Promise<string | undefined> => roots.verdict(b, { fresh: true })
    const swept = await sweepStaleStagingFiles(Object.values(state.snapshot().buckets), { minIdleMs: STALE_TMP_IDLE_MS, nowMs: Date.now(), problem })
    if (swept.length > 0) log.info({ files: swept }, 'removed stale upload temp files')
    await recordMissingMountPoints(state, log, problem)
    if (xattrFallbackInUse()) {
      log.warn('native addon not built (native/, needs a C compiler at npm install): extended attributes go through fs-xattr, which leaks memory per call, listings and multipart assembly are slower')
    }
    const app = createApp(services, { metrics })
    listeners = await openListeners(config, tracker.wrap(app.callback()))
    if (config.admin && opts.hasAdminListener !== false) {
      admin = await startAdminServer(config.admin, {
        metrics: async () => ({ text: await metrics.registry.metrics(), contentType: metrics.registry.contentType }),
        isHealthy: () => !isDraining,
      })
    }
  } catch (err) {
    // Any start failure releases what was opened (the state watcher's timer included) so the process can exit.
    for (const s of listeners?.servers ?? []) s.close()
    state.close()
    metrics.registry.clear()
    throw err
  }
  const jobs = opts.hasJobs === false ? undefined : startJobs(services)
  const trimmer = startMemoryTrimmer(() => tracker.settled)
  return running({ services, metrics, tracker, listeners, admin, setDraining: () => { isDraining = true; jobs?.stop(); trimmer.stop() } })
}

interface Parts {
  services: Services
  metrics: Metrics
  tracker: RequestTracker
  listeners: Listeners
  admin: AdminServer | undefined
  setDraining (): void
}

function running ({ services, metrics, tracker, listeners, admin, setDraining }: Parts): RunningDaemon {
  const { log, state } = services

  const reload = (next: Config): string[] => {
    const needRestart = fieldsNeedingRestart(services.config, next)
    log.level = next.logLevel
    if (next.https && services.config.https && !needRestart.includes('https')) {
      try {
        listeners.reloadCertificates(next.https)
      } catch (err) {
        log.error({ err: (err as Error).message }, 'reload: cannot read the TLS certificate or key; keeping the current ones')
      }
    }
    // What needs a restart keeps its running value, so a later reload compares against what is applied (walkthrough
    // 23: a port changed and changed back was reported as needing a restart, the one never applied as not).
    const prev = services.config
    services.config = {
      ...next,
      http: prev.http, admin: prev.admin, httpsOnly: prev.httpsOnly, workers: prev.workers, stateDir: prev.stateDir, statePollMs: prev.statePollMs,
      https: needRestart.includes('https') ? prev.https : next.https,
    }
    state.refresh()
    forgetGroups() // NSS group changes apply at once after a reload, not after the cache's minute
    forgetGroupNames()
    return needRestart
  }

  let closing: Promise<void> | undefined
  const drain = async (): Promise<void> => {
    setDraining()
    const servers = listeners.servers as Server[]
    const allClosed = Promise.all(servers.map(closed))
    const closeIdle = (): void => { for (const s of servers) s.closeIdleConnections() }
    closeIdle()
    tracker.onSettled = closeIdle // keep-alive connections close as soon as their request is done
    const graceMs = services.config.shutdownGraceMs
    if (!(await tracker.waitIdle(graceMs))) {
      log.warn({ inFlight: tracker.inFlight, graceMs }, 'grace period over: closing the remaining connections')
      // Note the temp files the cut uploads hold before cutting them, in case their own cleanup cannot finish.
      const held = await openStagingTmpFiles()
      for (const s of servers) s.closeAllConnections()
      await tracker.waitIdle(CUT_SETTLE_MS)
      for (const path of await openStagingTmpFiles()) held.add(path)
      const removed = await removeStagingFiles(Object.values(services.state.snapshot().buckets), held)
      if (removed.length > 0) log.info({ files: removed }, 'removed temp files of cut uploads')
    }
    await allClosed
    // A Complete still assembling when its connection was closed finishes (its object is published, or its
    // upload put back) before the daemon says it stopped: it went on unseen and published after "stopped"
    // (sweep 24c F5). A kill meanwhile leaves the upload intact, to be completed again.
    if ((services.background?.size ?? 0) > 0) {
      log.warn({ pending: services.background?.size }, 'waiting for multipart uploads still being assembled')
      await services.background?.settled()
    }
    await admin?.close()
    state.close()
  }

  return {
    services,
    metrics,
    endpoint: listeners.httpEndpoint ?? listeners.httpsEndpoint ?? '',
    httpsEndpoint: listeners.httpsEndpoint,
    adminEndpoint: admin?.endpoint,
    inFlight: () => tracker.inFlight,
    reload,
    close: () => (closing ??= drain()),
  }
}
