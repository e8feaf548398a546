// Access keys in the state: which secrets verify a key right now, and which user it belongs to.
import type { AccessKeyRecord, State, UserRecord } from '../state/types.js'

export interface KeyMatch { user: UserRecord, key: AccessKeyRecord }

export function findKey (state: State, accessKeyId: string): KeyMatch | undefined {
  for (const user of Object.values(state.users)) {
    const key = user.keys.find(k => k.accessKeyId === accessKeyId)
    if (key) return { user, key }
  }
  return undefined
}

/**
 * Secrets that verify this key at `now`: the current one, then the previous one while its rotation window
 * lasts. Expiry is checked here on every request, so a key dies the moment it expires, whatever the jobs do.
 */
export function secretsFor (state: State, accessKeyId: string, now: Date): string[] | undefined {
  const match = findKey(state, accessKeyId)
  if (!match || !match.user.enabled || match.key.status !== 'Active') return undefined
  const t = now.getTime()
  if (match.key.expiresAt && Date.parse(match.key.expiresAt) <= t) return undefined
  const secrets = [match.key.secret]
  if (match.key.oldSecret && match.key.oldExpiresAt && Date.parse(match.key.oldExpiresAt) > t) secrets.push(match.key.oldSecret)
  return secrets
}
