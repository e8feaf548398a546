// Reads the config file (or the embedded sample) and the few environment overrides; the only reader of process.env.
import { readFileSync, realpathSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { packageRoot } from './package-root.js'
import { ConfigError, parseConfig, type Config } from './schema.js'

/** The sample config shipped in etc/, used when no --config is given. */
export const SAMPLE_CONFIG_PATH = join(packageRoot(), 'etc', 'bridge.conf')

/**
 * Whether `path` names the sample, however it is spelled (`etc/bridge.conf` from the checkout, a symlink): its
 * relative paths mean the current directory, and bridgectl guards its stateDir (walkthrough 23 #3).
 */
export function isSampleConfig (path: string): boolean {
  const real = (p: string): string => { try { return realpathSync(p) } catch { return resolve(p) } }
  return real(path) === real(SAMPLE_CONFIG_PATH)
}

export function defaultConfigPath (): string {
  return process.env.S3BRIDGE_CONFIG ?? SAMPLE_CONFIG_PATH
}

/** Loads and validates a config file. Relative paths in the sample resolve against the current directory. */
export function loadConfig (path: string, overrides: Record<string, unknown> = {}): Config {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError('(file)', `a readable config file at ${path}`, (err as Error).message)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new ConfigError('(file)', `valid JSON in ${path}`, (err as Error).message)
  }
  const baseDir = isSampleConfig(path) ? process.cwd() : dirname(resolve(path))
  return parseConfig({ ...(raw as object), ...overrides }, baseDir)
}
