// Service accounts: long-lived child keys of a user, acting as the user, optionally narrowed by their own policy.
import { newAccessKeyId, newSecret } from './keys.js'
import type { ServiceAccountRecord, State, UserRecord } from '../state/types.js'

export const MAX_SERVICE_ACCOUNTS_PER_USER = 100

export interface ServiceAccountMatch { user: UserRecord, account: ServiceAccountRecord }

export function findServiceAccount (state: State, accessKeyId: string): ServiceAccountMatch | undefined {
  for (const user of Object.values(state.users)) {
    const account = user.serviceAccounts?.find(a => a.accessKeyId === accessKeyId)
    if (account) return { user, account }
  }
  return undefined
}

/** The secret that verifies a service account at `now`; undefined when it, or its parent user, cannot act. */
export function serviceAccountSecrets (state: State, accessKeyId: string, now: Date): string[] | undefined {
  const match = findServiceAccount(state, accessKeyId)
  if (!match || !match.user.enabled || match.account.status !== 'Active') return undefined
  if (match.account.expiresAt && Date.parse(match.account.expiresAt) <= now.getTime()) return undefined
  return [match.account.secret]
}

export function newServiceAccount (now: Date, opts: { expiresAt?: Date, policy?: string } = {}): ServiceAccountRecord {
  return {
    accessKeyId: newAccessKeyId(),
    secret: newSecret(),
    createdAt: now.toISOString(),
    status: 'Active',
    ...(opts.expiresAt === undefined ? {} : { expiresAt: opts.expiresAt.toISOString() }),
    ...(opts.policy === undefined ? {} : { policy: opts.policy }),
  }
}
