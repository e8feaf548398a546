// Signal wiring shared by a single bridged, its cluster primary and its workers: SIGHUP reloads, SIGTERM/SIGINT stop.
import { checkTlsFiles } from './listeners.js'
import { ConfigError, type Config } from '../config/schema.js'
import { loadConfig } from '../config/load.js'
import type { Logger } from '../log.js'

/** Re-reads the config file; a bad file is logged and the running config kept. */
export function rereadConfig (path: string, log: Logger): Config | undefined {
  let config: Config
  try {
    config = loadConfig(path)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    log.error({ err: err.message }, 'reload refused: config file is invalid; keeping the running config')
    return undefined
  }
  // TLS files are read now, not at the next restart: accepted unread, a missing or mismatched file surfaced only
  // as a daemon that would not start again (sweep 24c F9).
  if (config.https) {
    try {
      checkTlsFiles(config.https)
    } catch (err) {
      log.error({ err: (err as Error).message }, 'reload refused: the https certificate or key cannot be used; keeping the running config')
      return undefined
    }
  }
  return config
}

/** Calls onReload on each SIGHUP (also while stopping); resolves on the first SIGTERM or SIGINT. */
export function handleSignals (onReload: () => void): Promise<NodeJS.Signals> {
  const hangup = (): void => onReload()
  process.on('SIGHUP', hangup)
  return new Promise(resolve => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop)
      process.off('SIGINT', stop)
      // A second SIGTERM/SIGINT during the drain is ignored rather than killing the process mid-cleanup.
      process.on('SIGTERM', () => undefined)
      process.on('SIGINT', () => undefined)
      resolve(signal)
    }
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
  })
}
