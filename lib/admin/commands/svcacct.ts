// bridgectl users svcacct: a user's service accounts (add with the secret shown once, list, remove).
import { maskSecret } from '../../auth/keys.js'
import { MAX_SERVICE_ACCOUNTS_PER_USER, newServiceAccount } from '../../auth/service-accounts.js'
import { AdminError, emit, table, UsageError } from '../output.js'
import { parse } from '../parse-args.js'
import type { AdminServices, Command } from '../services.js'
import { readPolicyFile, validIdentityPolicy } from './policies.js'
import { effectiveStatus, futureDate, userOf } from '../lookups.js'


async function add (args: string[], s: AdminServices): Promise<void> {
  const { values, positionals } = parse(args, { 'policy-file': { type: 'string' }, expires: { type: 'string' } }, ['USER'])
  const file = values['policy-file'] as string | undefined
  const policy = file === undefined ? undefined : validIdentityPolicy(readPolicyFile(file), file)
  const now = s.now()
  const expiresAt = futureDate(values.expires, now)
  const account = newServiceAccount(now, { ...(expiresAt === undefined ? {} : { expiresAt }), ...(policy === undefined ? {} : { policy }) })
  await s.state.mutate(state => {
    const u = userOf(state, positionals[0]!)
    const accounts = u.serviceAccounts ?? []
    if (accounts.length >= MAX_SERVICE_ACCOUNTS_PER_USER) throw new AdminError(`user "${u.name}" already has ${accounts.length} service accounts (the most allowed); remove one first`)
    u.serviceAccounts = [...accounts, account]
  })
  emit(s.out, { user: positionals[0], accessKeyId: account.accessKeyId, secretAccessKey: account.secret, expires: account.expiresAt, hasPolicy: policy !== undefined },
    () => `access key id:     ${account.accessKeyId}\nsecret access key: ${account.secret}\n${account.expiresAt ? `expires:           ${account.expiresAt}\n` : ''}` +
      `acts as ${positionals[0]}${policy === undefined ? '' : ', narrowed by its policy'}. The secret is shown only now; store it safely.\n`)
}

async function list (args: string[], s: AdminServices): Promise<void> {
  const { positionals } = parse(args, {}, ['USER'])
  const u = userOf(s.state.snapshot(), positionals[0]!)
  const rows = (u.serviceAccounts ?? []).map(a => ({
    accessKeyId: a.accessKeyId, secret: maskSecret(a.secret), status: effectiveStatus(a, s.now()), created: a.createdAt, expires: a.expiresAt, policy: a.policy === undefined ? 'inherited' : 'narrowed',
  }))
  emit(s.out, rows, () => table(rows, ['accessKeyId', 'secret', 'status', 'created', 'expires', 'policy']))
}

async function remove (args: string[], s: AdminServices): Promise<void> {
  const { positionals } = parse(args, {}, ['USER', 'ACCESS_KEY_ID'])
  const [user, id] = positionals as [string, string]
  await s.state.mutate(state => {
    const u = userOf(state, user)
    if (!(u.serviceAccounts ?? []).some(a => a.accessKeyId === id)) throw new AdminError(`user "${user}" has no service account ${id}`)
    u.serviceAccounts = (u.serviceAccounts ?? []).filter(a => a.accessKeyId !== id)
  })
  emit(s.out, { user, deleted: id }, () => `removed service account ${id} of ${user}\n`)
}

const VERBS: Record<string, (args: string[], s: AdminServices) => Promise<void>> = { add, list, remove }

export const svcacct: Command = {
  summary: 'service accounts: child keys acting as the user, optionally narrowed by a policy (at most 100)',
  usage: 'users svcacct add USER [--policy-file F] [--expires DATE] | svcacct list USER | svcacct remove USER ACCESS_KEY_ID',
  async run (args, s) {
    const [verb, ...rest] = args
    const run = verb !== undefined && Object.hasOwn(VERBS, verb) ? VERBS[verb] : undefined
    if (!run) throw new UsageError(verb === undefined ? 'missing add, list or remove' : `unknown svcacct verb "${verb}"`)
    await run(rest, s)
  },
}
