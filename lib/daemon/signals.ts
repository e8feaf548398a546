// Signal wiring shared by a single bridged, its cluster primary and its workers: SIGHUP reloads, SIGTERM/SIGINT stop.
import { ConfigError, type Config } from '../config/schema.js'
import { loadConfig } from '../config/load.js'
import type { Logger } from '../log.js'

/** Re-reads the config file; a bad file is logged and the running config kept. */
export function rereadConfig (path: string, log: Logger): Config | undefined {
  try {
    return loadConfig(path)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    log.error({ err: err.message }, 'reload refused: config file is invalid; keeping the running config')
    return undefined
  }
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
