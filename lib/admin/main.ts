// bridgectl: a tiny dispatcher over one file per noun; commands throw, main picks the exit status.
import { existsSync } from 'node:fs'
import { ConfigError, type Config } from '../config/schema.js'
import { defaultConfigPath, isSampleConfig, loadConfig } from '../config/load.js'
import { StateStore } from '../state/store.js'
import { bucketCommands } from './commands/buckets.js'
import { keyCommands } from './commands/keys.js'
import { policyCommands } from './commands/policies.js'
import { userCommands } from './commands/users.js'
import { explainCommands } from './commands/explain.js'
import { uploadCommands } from './commands/uploads.js'
import { settingsCommands, statusCommands } from './commands/status.js'
import { AdminError, UsageError } from './output.js'
import type { Command } from './services.js'

export const NOUNS: Record<string, Record<string, Command>> = {
  buckets: bucketCommands,
  users: userCommands,
  keys: keyCommands,
  uploads: uploadCommands,
  policies: policyCommands,
}

const SINGLE: Record<string, Record<string, Command>> = { explain: explainCommands, status: statusCommands, settings: settingsCommands }

function help (noun?: string): string {
  if (noun && NOUNS[noun]) {
    return Object.values(NOUNS[noun]).map(c => `  bridgectl ${c.usage}\n      ${c.summary}`).join('\n') + '\n'
  }
  return 'usage: bridgectl [--config FILE] NOUN VERB [ARGS] [--json]\n\nnouns:\n' +
    Object.entries(NOUNS).map(([n, verbs]) => `  ${n.padEnd(10)} ${Object.keys(verbs).join(', ')}`).join('\n') +
    '\n  explain    USER|anonymous BUCKET [KEY] ACTION' +
    '\n  status     daemon health, state counts, bucket directories (exit 1 if something is wrong)' +
    '\n  settings   the effective configuration' +
    '\n\nbridgectl NOUN --help shows the verbs. Exit status: 0 ok, 1 failure, 2 usage.\n'
}

export interface Io { stdout (s: string): void, stderr (s: string): void }

/** Takes --config FILE, --config=FILE or -c FILE out of args; a missing value is a usage error, not the default. */
function takeConfigOption (args: string[]): string | undefined {
  const ci = args.findIndex(a => a === '--config' || a === '-c' || a.startsWith('--config='))
  if (ci < 0) return undefined
  const arg = args[ci]!
  const [value, count] = arg.startsWith('--config=') ? [arg.slice('--config='.length), 1] : [args[ci + 1], 2]
  if (value === undefined || value === '' || value.startsWith('-')) throw new UsageError(`${arg.replace(/=.*/, '')} needs a FILE: --config FILE or --config=FILE`)
  args.splice(ci, count)
  return value
}

/**
 * The state bridgectl works on. The sample config's stateDir is relative to the current directory: from
 * the wrong directory it would quietly make a new, empty state that no daemon reads, so that is refused.
 */
function openState (config: Config, configPath: string): StateStore {
  if (isSampleConfig(configPath) && !existsSync(config.stateDir)) {
    throw new AdminError(`no state at ${config.stateDir} (the sample config's stateDir, relative to the current directory); ` +
      'pass the daemon\'s config with --config FILE or set S3BRIDGE_CONFIG')
  }
  try {
    return new StateStore(config.stateDir, { pollMs: config.statePollMs, isStrict: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if ((code === 'EPERM' || code === 'EACCES') && process.getuid?.() !== 0) {
      throw new AdminError(`bridgectl must run as root: the state in ${config.stateDir} is root-only (${(err as Error).message})`)
    }
    throw err
  }
}

export async function main (argv: string[], io: Io = { stdout: s => process.stdout.write(s), stderr: s => process.stderr.write(s) }): Promise<number> {
  const args = [...argv]
  let configPath: string | undefined
  try {
    configPath = takeConfigOption(args)
  } catch (err) {
    io.stderr(`bridgectl: ${(err as Error).message}\n${help()}`)
    return 2
  }
  // One-word commands ("bridgectl explain ...") are nouns whose only verb has the same name.
  if (args[0] !== undefined && SINGLE[args[0]]) args.splice(1, 0, args[0])
  const [noun, verb, ...rest] = args
  if (!noun || noun === '--help' || noun === '-h' || noun === 'help') {
    io.stdout(help())
    return noun ? 0 : 2
  }
  const verbs = NOUNS[noun] ?? SINGLE[noun]
  if (!verbs) {
    io.stderr(`bridgectl: unknown noun "${noun}"\n${help()}`)
    return 2
  }
  if (!verb || verb === '--help' || verb === '-h') {
    io.stdout(help(noun))
    return verb ? 0 : 2
  }
  const command = verbs[verb]
  if (!command) {
    io.stderr(`bridgectl: unknown command "${noun} ${verb}"\n${help(noun)}`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`usage: bridgectl ${command.usage}\n  ${command.summary}\n`)
    return 0
  }
  try {
    const path = configPath ?? defaultConfigPath()
    const config = loadConfig(path)
    const state = openState(config, path)
    await command.run(rest, { config, configPath: path, state, out: { json: rest.includes('--json'), write: io.stdout }, now: () => new Date() })
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`bridgectl: ${err.message}\nusage: bridgectl ${command.usage}\n`)
      return 2
    }
    if (err instanceof AdminError || err instanceof ConfigError) {
      io.stderr(`bridgectl: ${err.message}\n`)
      return 1
    }
    io.stderr(`bridgectl: ${(err as Error).message ?? String(err)}\n`)
    return 1
  }
}
