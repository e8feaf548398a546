// bridgectl: a tiny dispatcher over one file per noun; commands throw, main picks the exit status.
import { ConfigError } from '../config/schema.js'
import { defaultConfigPath, loadConfig } from '../config/load.js'
import { StateStore } from '../state/store.js'
import { bucketCommands } from './commands/buckets.js'
import { keyCommands } from './commands/keys.js'
import { policyCommands } from './commands/policies.js'
import { userCommands } from './commands/users.js'
import { explainCommands } from './commands/explain.js'
import { uploadCommands } from './commands/uploads.js'
import { AdminError, UsageError } from './output.js'
import type { Command } from './services.js'

export const NOUNS: Record<string, Record<string, Command>> = {
  buckets: bucketCommands,
  users: userCommands,
  keys: keyCommands,
  uploads: uploadCommands,
  policies: policyCommands,
}

const SINGLE: Record<string, Record<string, Command>> = { explain: explainCommands }

function help (noun?: string): string {
  if (noun && NOUNS[noun]) {
    return Object.values(NOUNS[noun]).map(c => `  bridgectl ${c.usage}\n      ${c.summary}`).join('\n') + '\n'
  }
  return 'usage: bridgectl [--config FILE] NOUN VERB [ARGS] [--json]\n\nnouns:\n' +
    Object.entries(NOUNS).map(([n, verbs]) => `  ${n.padEnd(10)} ${Object.keys(verbs).join(', ')}`).join('\n') +
    '\n  explain    USER|anonymous BUCKET [KEY] ACTION' +
    '\n\nbridgectl NOUN --help shows the verbs. Exit status: 0 ok, 1 failure, 2 usage.\n'
}

export interface Io { stdout (s: string): void, stderr (s: string): void }

export async function main (argv: string[], io: Io = { stdout: s => process.stdout.write(s), stderr: s => process.stderr.write(s) }): Promise<number> {
  const args = [...argv]
  let configPath: string | undefined
  const ci = args.findIndex(a => a === '--config' || a === '-c')
  if (ci >= 0) {
    configPath = args[ci + 1]
    args.splice(ci, 2)
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
    const config = loadConfig(configPath ?? defaultConfigPath())
    const state = new StateStore(config.stateDir, { pollMs: config.statePollMs })
    await command.run(rest, { config, state, out: { json: rest.includes('--json'), write: io.stdout }, now: () => new Date() })
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
