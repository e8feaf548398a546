// What every bridgectl command works on: the config and the state store (the daemon need not run).
import type { Config } from '../config/schema.js'
import type { StateStore } from '../state/store.js'
import type { Output } from './output.js'

export interface AdminServices {
  config: Config
  /** The config file these settings came from. */
  configPath?: string
  state: StateStore
  out: Output
  now: () => Date
}

export interface Command {
  summary: string
  usage: string
  run (args: string[], s: AdminServices): Promise<void>
}
