// bridgectl keys: create (secret shown once), list, view (masked), rotate with an old-key window, activate, deactivate, delete.
import { maskSecret, newAccessKey } from '../../auth/keys.js'
import { rotateKey } from '../../auth/rotation.js'
import type { AccessKeyRecord } from '../../state/types.js'
import { AdminError, emit, table, UsageError } from '../output.js'
import { intOption, parse } from '../parse-args.js'
import type { Command } from '../services.js'
import { effectiveStatus, futureDate, userOf } from '../lookups.js'

const MAX_KEYS_PER_USER = 2

/** "7d", "12h", "30m" → milliseconds. */
function parseSpan (value: string): number {
  const m = /^(\d+)([dhm])$/.exec(value)
  if (!m) throw new UsageError(`--expiring "${value}" must look like 7d, 12h or 30m`)
  return Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm']
}

function maskedView (user: string, k: AccessKeyRecord, now: Date): Record<string, string | undefined> {
  return {
    user,
    accessKeyId: k.accessKeyId,
    secret: maskSecret(k.secret),
    status: effectiveStatus(k, now),
    timestamp: k.createdAt,
    expires: k.expiresAt,
    oldSecret: k.oldSecret ? maskSecret(k.oldSecret) : undefined,
    oldKeyTimestamp: k.oldCreatedAt,
    oldKeyExpiry: k.oldExpiresAt,
  }
}

function pickKey (keys: AccessKeyRecord[], user: string, id: string | undefined): AccessKeyRecord {
  if (id !== undefined) {
    const k = keys.find(x => x.accessKeyId === id)
    if (!k) throw new AdminError(`user "${user}" has no key ${id}`)
    return k
  }
  if (keys.length === 0) throw new AdminError(`user "${user}" has no keys; make one with: bridgectl keys create ${user}`)
  if (keys.length > 1) throw new UsageError(`user "${user}" has ${keys.length} keys; name one with --key ACCESS_KEY_ID`)
  return keys[0]!
}

const create: Command = {
  summary: 'make an access key; the secret is printed once',
  usage: 'keys create USER [--expires DATE]',
  async run (args, s) {
    const { values, positionals } = parse(args, { expires: { type: 'string' } }, ['USER'])
    const now = s.now()
    const key = newAccessKey(now, futureDate(values.expires, now))
    await s.state.mutate(state => {
      const u = userOf(state, positionals[0]!)
      if (u.keys.length >= MAX_KEYS_PER_USER) throw new AdminError(`user "${u.name}" already has ${u.keys.length} keys (the most allowed); delete or rotate one`)
      u.keys.push(key)
    })
    emit(s.out, { user: positionals[0], accessKeyId: key.accessKeyId, secretAccessKey: key.secret, expires: key.expiresAt },
      () => `access key id:     ${key.accessKeyId}\nsecret access key: ${key.secret}\n${key.expiresAt ? `expires:           ${key.expiresAt}\n` : ''}The secret is shown only now; store it safely.\n`)
  },
}

const list: Command = {
  summary: 'list keys (secrets masked)',
  usage: 'keys list [USER] [--expiring 7d] [--json]',
  async run (args, s) {
    const bare = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '--expiring')
    const { values, positionals } = parse(args, { expiring: { type: 'string' } }, bare.length ? ['USER'] : [])
    const now = s.now().getTime()
    const within = values.expiring !== undefined ? parseSpan(values.expiring as string) : undefined
    if (positionals[0] !== undefined) userOf(s.state.snapshot(), positionals[0]) // an unknown user is an error, not an empty table
    const rows = Object.values(s.state.snapshot().users)
      .filter(u => positionals[0] === undefined || u.name === positionals[0])
      .flatMap(u => u.keys.map(k => maskedView(u.name, k, s.now())))
      .filter(r => within === undefined || [r.expires, r.oldKeyExpiry].some(e => e !== undefined && Date.parse(e) > now && Date.parse(e) - now <= within))
    emit(s.out, rows, () => table(rows, ['user', 'accessKeyId', 'secret', 'status', 'timestamp', 'expires', 'oldSecret', 'oldKeyExpiry']))
  },
}

const view: Command = {
  summary: 'show a user\'s keys like OneFS "mykeys view" (secrets masked)',
  usage: 'keys view USER [--json]',
  async run (args, s) {
    const { positionals } = parse(args, {}, ['USER'])
    const u = userOf(s.state.snapshot(), positionals[0]!)
    const rows = u.keys.map(k => maskedView(u.name, k, s.now()))
    emit(s.out, rows, () => rows.map(r => Object.entries(r).map(([k, v]) => `${(k + ':').padEnd(17)}${v ?? '-'}`).join('\n')).join('\n\n') + '\n')
  },
}

const rotate: Command = {
  summary: 'make a new secret; the previous one stays valid for --old-key-expiry minutes',
  usage: 'keys rotate USER [ACCESS_KEY_ID | --key ACCESS_KEY_ID] [--old-key-expiry MINUTES (0-1440, default 10)]',
  async run (args, s) {
    const { values, positionals } = parse(args, { key: { type: 'string' }, 'old-key-expiry': { type: 'string' } }, ['USER'], ['ACCESS_KEY_ID'])
    const minutes = intOption(values['old-key-expiry'], 'old-key-expiry', 0, 1440) ?? s.config.oldKeyExpiryMinutes
    const now = s.now()
    const result = await s.state.mutate(state => {
      const u = userOf(state, positionals[0]!)
      const k = pickKey(u.keys, u.name, keyArgument(values, positionals))
      rotateKey(k, now, minutes)
      return { accessKeyId: k.accessKeyId, secret: k.secret, oldKeyExpiry: k.oldExpiresAt }
    })
    emit(s.out, { user: positionals[0], accessKeyId: result.accessKeyId, secretAccessKey: result.secret, oldKeyExpiry: result.oldKeyExpiry },
      () => `access key id:     ${result.accessKeyId}\nnew secret:        ${result.secret}\nold secret valid until ${result.oldKeyExpiry ?? 'now (expired at once)'}\nThe secret is shown only now; store it safely.\n`)
  },
}

/** The key named after USER or with --key (activate and deactivate take it the first way); not both. */
function keyArgument (values: Record<string, unknown>, positionals: string[]): string | undefined {
  const flag = values.key as string | undefined
  if (flag !== undefined && positionals[1] !== undefined && flag !== positionals[1]) throw new UsageError(`two different keys: ${positionals[1]} and --key ${flag}`)
  return flag ?? positionals[1]
}

const remove: Command = {
  summary: 'delete a key',
  usage: 'keys delete USER [ACCESS_KEY_ID | --key ACCESS_KEY_ID]',
  async run (args, s) {
    const { values, positionals } = parse(args, { key: { type: 'string' } }, ['USER'], ['ACCESS_KEY_ID'])
    const id = await s.state.mutate(state => {
      const u = userOf(state, positionals[0]!)
      const k = pickKey(u.keys, u.name, keyArgument(values, positionals))
      u.keys = u.keys.filter(x => x !== k)
      return k.accessKeyId
    })
    emit(s.out, { deleted: id }, () => `deleted key ${id}\n`)
  },
}

/** Sets a key's status, as IAM UpdateAccessKey does; a user's service-account keys are found too. */
function setStatus (status: 'Active' | 'Inactive'): Command {
  const verb = status === 'Active' ? 'activate' : 'deactivate'
  return {
    summary: status === 'Active' ? 'make an inactive key work again (same secret)' : 'stop a key without deleting it (clients keep their secret for a later activate)',
    usage: `keys ${verb} USER ACCESS_KEY_ID`,
    async run (args, s) {
      const { positionals } = parse(args, {}, ['USER', 'ACCESS_KEY_ID'])
      const [user, id] = positionals as [string, string]
      const now = s.now()
      await s.state.mutate(state => {
        const u = userOf(state, user)
        const k = [...u.keys, ...(u.serviceAccounts ?? [])].find(x => x.accessKeyId === id)
        if (!k) throw new AdminError(`user "${user}" has no key ${id} (see: bridgectl keys list ${user})`)
        // An expired key stays refused whatever its status; saying "activated" would mislead.
        if (status === 'Active' && effectiveStatus(k, now) === 'Expired') throw new AdminError(`key ${id} expired at ${k.expiresAt}; make a new one with: bridgectl keys create ${user}`)
        k.status = status
      })
      emit(s.out, { user, accessKeyId: id, status }, () => `key ${id} of ${user} is now ${status}\n`)
    },
  }
}

export const keyCommands: Record<string, Command> = { create, list, view, rotate, activate: setStatus('Active'), deactivate: setStatus('Inactive'), delete: remove }
