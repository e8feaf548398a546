// bridged's entry point: load the config, bootstrap the demo on first start, serve (alone or as cluster workers), handle signals.
import cluster from 'node:cluster'
import { parseArgs } from 'node:util'
import { ConfigError, type Config } from '../config/schema.js'
import { defaultConfigPath, loadConfig } from '../config/load.js'
import { createLogger, type Logger } from '../log.js'
import { printBanner } from './banner.js'
import { bootstrapDemo } from './bootstrap.js'
import { startDaemon, type RunningDaemon } from './server.js'
import { handleSignals, rereadConfig } from './signals.js'
import { answerMetricRequests } from './worker-metrics.js'
import { LISTENING_MESSAGE, runPrimary, type ListeningMessage } from './workers.js'
import { createServer as createNetServer, type AddressInfo } from 'node:net'

export async function main (argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help) {
    process.stdout.write('usage: bridged [--config FILE]\n  Serves the buckets of FILE (default: $S3BRIDGE_CONFIG or the sample etc/bridge.conf).\n' +
      '  SIGHUP reloads FILE and the state; SIGTERM drains (shutdownGraceSeconds) and exits.\n')
    return 0
  }
  const configPath = values.config ?? defaultConfigPath()
  let config
  try {
    config = loadConfig(configPath)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`bridged: ${err.message}\n`)
      return 2
    }
    throw err
  }
  const log = createLogger(config.logLevel)
  if (cluster.isWorker) return runWorker(configPath, withPinnedPorts(config), log)
  if (config.workers > 1) {
    await pinEphemeralPorts(config)
    return runPrimary(configPath, withPinnedPorts(config), log)
  }
  return runSingle(configPath, config, log)
}

/** Ports chosen once by the primary for listeners configured on port 0 (JSON { http?, https? }). */
const PINNED_PORTS_ENV = 'S3BRIDGE_PINNED_PORTS'

function freePort (host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer()
    probe.once('error', reject)
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
}

/**
 * With workers, a listener on port 0 would get a new random port whenever every worker holding it has died
 * and a replacement listens again, so the printed endpoint would stop working. The primary picks the port
 * once and every worker, first or replacement, listens on it.
 */
async function pinEphemeralPorts (config: Config): Promise<void> {
  const pinned: { http?: number, https?: number } = {}
  if (config.http?.port === 0) pinned.http = await freePort(config.http.host)
  if (config.https?.port === 0) pinned.https = await freePort(config.https.host)
  if (pinned.http !== undefined || pinned.https !== undefined) process.env[PINNED_PORTS_ENV] = JSON.stringify(pinned)
}

function withPinnedPorts (config: Config): Config {
  const raw = process.env[PINNED_PORTS_ENV]
  if (raw === undefined) return config
  const pinned = JSON.parse(raw) as { http?: number, https?: number }
  return {
    ...config,
    http: config.http && pinned.http !== undefined ? { ...config.http, port: pinned.http } : config.http,
    https: config.https && pinned.https !== undefined ? { ...config.https, port: pinned.https } : config.https,
  }
}

/** Serves until SIGTERM/SIGINT, reloading on SIGHUP; then drains and returns the exit status. */
async function serveUntilStopped (configPath: string, daemon: RunningDaemon, log: Logger): Promise<number> {
  const signal = await handleSignals(() => {
    const reread = rereadConfig(configPath, log)
    if (!reread) return
    const next = withPinnedPorts(reread)
    const needRestart = daemon.reload(next)
    // A change that waits for a restart is something the admin must act on: said at warn (logLevel warn hid it).
    if (needRestart.length > 0) log.warn({ needRestart }, 'reloaded; some changes apply after a restart')
    else log.info({ needRestart }, 'reloaded')
  })
  log.info({ signal, inFlight: daemon.inFlight(), graceMs: daemon.services.config.shutdownGraceMs }, 'stopping')
  await daemon.close()
  log.info('stopped')
  return 0
}

async function runSingle (configPath: string, config: Config, log: Logger): Promise<number> {
  const daemon = await startDaemon(config, { log })
  const demo = await bootstrapDemo(config, daemon.services.state, new Date())
  printBanner(daemon, demo)
  return serveUntilStopped(configPath, daemon, log)
}

async function runWorker (configPath: string, config: Config, log: Logger): Promise<number> {
  const daemon = await startDaemon(config, { log, hasAdminListener: false, hasJobs: false })
  answerMetricRequests(daemon.metrics.registry)
  const message: ListeningMessage = { type: LISTENING_MESSAGE, endpoint: daemon.endpoint, httpsEndpoint: daemon.httpsEndpoint }
  process.send?.(message)
  const code = await serveUntilStopped(configPath, daemon, log)
  cluster.worker?.disconnect() // the IPC channel would keep the worker alive
  return code
}
