// Look-ups every bridgectl command shares: a user by name and a future date option, with errors that say the fix.
import type { BucketRecord, State, UserRecord } from '../state/types.js'
import { AdminError, UsageError } from './output.js'

export function userOf (state: State, name: string): UserRecord {
  const u = state.users[name]
  if (!u) throw new AdminError(`user "${name}" does not exist (see: bridgectl users list)`)
  return u
}

/** Parses --expires: an ISO 8601 date in the future, or undefined when the option is absent. */
export function futureDate (value: unknown, now: Date): Date | undefined {
  if (value === undefined) return undefined
  const t = Date.parse(String(value))
  if (Number.isNaN(t)) throw new UsageError(`--expires "${String(value)}" is not a date; use ISO 8601 such as 2027-01-31 or 2027-01-31T12:00:00Z`)
  if (t <= now.getTime()) throw new UsageError('--expires must be in the future')
  return new Date(t)
}

export function bucketOf (state: State, name: string): BucketRecord {
  const b = state.buckets[name]
  if (!b) throw new AdminError(`bucket "${name}" does not exist (see: bridgectl buckets list)`)
  return b
}
