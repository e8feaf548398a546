// bridgectl policies: named identity policies (create, list, view, update, delete) and attaching them to users.
import { readFileSync } from 'node:fs'
import { BUILTIN_POLICY_NAMES, BUILTIN_POLICY_TEXT, isBuiltinPolicyName } from '../../access/builtin-policies.js'
import { knownActionsMatching, MAX_IDENTITY_POLICY_BYTES, parsePolicy } from '../../access/policy-document.js'
import { S3Error } from '../../errors/s3-error.js'
import type { State } from '../../state/types.js'
import { AdminError, emit, table, UsageError } from '../output.js'
import { parse } from '../parse-args.js'
import type { Command } from '../services.js'
import { userOf } from '../lookups.js'

const NAME_RE = /^[\w+=,.@-]{1,128}$/

/** Checks a policy text as an identity policy (2 KB, no Principal); the message is the S3 MalformedPolicy text. */
export function validIdentityPolicy (text: string, source: string): string {
  try {
    parsePolicy(text, { kind: 'identity', maxBytes: MAX_IDENTITY_POLICY_BYTES, checkConditionKeys: true })
  } catch (err) {
    if (err instanceof S3Error) throw new AdminError(`${source} is not a valid identity policy: ${err.message}`)
    throw err
  }
  return text
}

/**
 * What an admin probably did not mean, though IAM accepts it too: an s3 action that names no S3 operation (a typo
 * grants or denies nothing), and no Version (2008-10-17, where ${aws:username} is literal text, not the user).
 */
export function identityPolicyNotes (text: string): string[] {
  const doc = parsePolicy(text, { kind: 'identity', maxBytes: MAX_IDENTITY_POLICY_BYTES })
  const notes: string[] = []
  if ((JSON.parse(text) as { Version?: unknown }).Version === undefined) notes.push('no Version: the policy is read as version 2008-10-17, where policy variables such as ${aws:username} are plain text; add "Version": "2012-10-17"')
  const unknown = new Set<string>()
  for (const st of doc.statements) {
    for (const a of st.actions.values) if (a !== '*' && /^s3:/i.test(a) && knownActionsMatching(a).length === 0) unknown.add(a)
  }
  if (unknown.size) notes.push(`${[...unknown].join(', ')} ${unknown.size > 1 ? 'name' : 'names'} no S3 action, so ${unknown.size > 1 ? 'they allow' : 'it allows'} or ${unknown.size > 1 ? 'deny' : 'denies'} nothing (a typo?)`)
  return notes
}

function notesText (notes: readonly string[]): string {
  return notes.map(n => `note: ${n}\n`).join('')
}

export function readPolicyFile (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new AdminError(`cannot read ${path}: ${(err as Error).message}`)
  }
}

function attachedTo (state: State, name: string): string[] {
  return Object.values(state.users).filter(u => u.policies.includes(name)).map(u => u.name).sort()
}

const create: Command = {
  summary: 'create a named identity policy (2 KB at most) from a file or inline JSON',
  usage: 'policies create NAME (--file F | --document JSON)',
  async run (args, s) {
    const { values, positionals } = parse(args, { file: { type: 'string' }, document: { type: 'string' } }, ['NAME'])
    const name = positionals[0]!
    if (!NAME_RE.test(name)) throw new UsageError(`policy name "${name}" may hold letters, digits and + = , . @ _ - (at most 128)`)
    if (isBuiltinPolicyName(name)) throw new AdminError(`"${name}" is a built-in policy; choose another name`)
    if ((values.file === undefined) === (values.document === undefined)) throw new UsageError('give exactly one of --file F or --document JSON')
    const text = validIdentityPolicy(values.file !== undefined ? readPolicyFile(values.file as string) : values.document as string, values.file !== undefined ? String(values.file) : '--document')
    const createdAt = s.now().toISOString()
    await s.state.mutate(state => {
      if (state.policies[name]) throw new AdminError(`policy "${name}" already exists (change it with: bridgectl policies update ${name} --file F)`)
      state.policies[name] = { name, text, createdAt }
    })
    const notes = identityPolicyNotes(text)
    emit(s.out, { name, createdAt, ...(notes.length ? { notes } : {}) }, () => `created policy ${name}; attach it with: bridgectl users attach-policy USER ${name}\n${notesText(notes)}`)
  },
}

const list: Command = {
  summary: 'list built-in and custom policies, with the users they are attached to',
  usage: 'policies list [--json]',
  async run (args, s) {
    parse(args, {}, [])
    const state = s.state.snapshot()
    const rows = [
      ...BUILTIN_POLICY_NAMES.map(name => ({ name, type: 'built-in', createdAt: undefined as string | undefined })),
      ...Object.values(state.policies).sort((a, b) => a.name < b.name ? -1 : 1).map(p => ({ name: p.name, type: 'custom', createdAt: p.createdAt })),
    ].map(r => ({ ...r, users: attachedTo(state, r.name) }))
    emit(s.out, rows, () => table(rows.map(r => ({ ...r, users: r.users.join(',') || undefined })), ['name', 'type', 'createdAt', 'users']))
  },
}

const view: Command = {
  summary: 'print a policy document',
  usage: 'policies view NAME [--json]',
  async run (args, s) {
    const { positionals } = parse(args, {}, ['NAME'])
    const name = positionals[0]!
    const state = s.state.snapshot()
    const text = isBuiltinPolicyName(name) ? BUILTIN_POLICY_TEXT[name] : state.policies[name]?.text
    if (text === undefined) throw new AdminError(`policy "${name}" does not exist (see: bridgectl policies list)`)
    emit(s.out, { name, type: isBuiltinPolicyName(name) ? 'built-in' : 'custom', users: attachedTo(state, name), document: JSON.parse(text) as unknown },
      () => text.endsWith('\n') ? text : text + '\n')
  },
}

const update: Command = {
  summary: 'replace a custom policy\'s document in place; users keep it attached, so their rights change at once',
  usage: 'policies update NAME (--file F | --document JSON)',
  async run (args, s) {
    const { values, positionals } = parse(args, { file: { type: 'string' }, document: { type: 'string' } }, ['NAME'])
    const name = positionals[0]!
    if (isBuiltinPolicyName(name)) throw new AdminError(`"${name}" is a built-in policy and cannot be changed; create a custom one`)
    if ((values.file === undefined) === (values.document === undefined)) throw new UsageError('give exactly one of --file F or --document JSON')
    const text = validIdentityPolicy(values.file !== undefined ? readPolicyFile(values.file as string) : values.document as string, values.file !== undefined ? String(values.file) : '--document')
    // One mutation: no moment where the attached users hold neither the old document nor the new one.
    const users = await s.state.mutate(state => {
      const p = state.policies[name]
      if (!p) throw new AdminError(`policy "${name}" does not exist (see: bridgectl policies list)`)
      p.text = text
      return attachedTo(state, name)
    })
    const notes = identityPolicyNotes(text)
    emit(s.out, { name, users, ...(notes.length ? { notes } : {}) }, () => `updated policy ${name}${users.length ? ` (attached to ${users.join(', ')})` : ''}\n${notesText(notes)}`)
  },
}

const remove: Command = {
  summary: 'delete a custom policy that no user has attached',
  usage: 'policies delete NAME',
  async run (args, s) {
    const { positionals } = parse(args, {}, ['NAME'])
    const name = positionals[0]!
    if (isBuiltinPolicyName(name)) throw new AdminError(`"${name}" is a built-in policy and cannot be deleted`)
    await s.state.mutate(state => {
      if (!state.policies[name]) throw new AdminError(`policy "${name}" does not exist (see: bridgectl policies list)`)
      const users = attachedTo(state, name)
      if (users.length) throw new AdminError(`policy "${name}" is attached to ${users.join(', ')}; detach it first (bridgectl users detach-policy USER ${name})`)
      delete state.policies[name]
    })
    emit(s.out, { deleted: name }, () => `deleted policy ${name}\n`)
  },
}

export const policyCommands: Record<string, Command> = { create, list, view, update, delete: remove }

export const attachPolicy: Command = {
  summary: 'attach a built-in or custom policy to a user',
  usage: 'users attach-policy USER POLICY',
  async run (args, s) {
    const { positionals } = parse(args, {}, ['USER', 'POLICY'])
    const [userName, name] = positionals as [string, string]
    await s.state.mutate(state => {
      const u = userOf(state, userName)
      if (!isBuiltinPolicyName(name) && !state.policies[name]) throw new AdminError(`policy "${name}" does not exist (see: bridgectl policies list)`)
      if (u.policies.includes(name)) throw new AdminError(`policy "${name}" is already attached to ${userName}`)
      u.policies.push(name)
    })
    emit(s.out, { user: userName, attached: name }, () => `attached policy ${name} to ${userName}\n`)
  },
}

export const detachPolicy: Command = {
  summary: 'detach a policy from a user',
  usage: 'users detach-policy USER POLICY',
  async run (args, s) {
    const { positionals } = parse(args, {}, ['USER', 'POLICY'])
    const [userName, name] = positionals as [string, string]
    await s.state.mutate(state => {
      const u = userOf(state, userName)
      if (!u.policies.includes(name)) throw new AdminError(`policy "${name}" is not attached to ${userName}`)
      u.policies = u.policies.filter(p => p !== name)
    })
    emit(s.out, { user: userName, detached: name }, () => `detached policy ${name} from ${userName}\n`)
  },
}
