// Look-ups every bridgectl command shares: a user by name and a future date option, with errors that say the fix.
import type { BucketRecord, State, UserRecord } from '../state/types.js'
import { AdminError, UsageError } from './output.js'

export function userOf (state: State, name: string): UserRecord {
  const u = state.users[name]
  if (!u) throw new AdminError(`user "${name}" does not exist (see: bridgectl users list)`)
  return u
}

// YYYY-MM-DD, optionally THH:MM[:SS[.fff]] and Z or ±HH:MM. Other shapes Date.parse takes ("1/2/2027") are
// read in the local time zone or by locale, so they are refused rather than guessed at.
const ISO_DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/

/** Date.parse rolls 2027-02-30 over to March 2: each field must be in range, and the day must exist in its month. */
function isRealDateTime (m: RegExpExecArray): boolean {
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map(v => Number(v ?? 0))
  const date = new Date(Date.UTC(year, month - 1, day))
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour <= 23 && minute <= 59 && second <= 59
}

/** Parses --expires: an ISO 8601 date in the future, or undefined when the option is absent. */
export function futureDate (value: unknown, now: Date): Date | undefined {
  if (value === undefined) return undefined
  const text = String(value)
  const m = ISO_DATE_RE.exec(text)
  const t = Date.parse(text)
  if (!m || !isRealDateTime(m) || Number.isNaN(t)) throw new UsageError(`--expires "${text}" is not a date; use ISO 8601 such as 2027-01-31 or 2027-01-31T12:00:00Z`)
  if (t <= now.getTime()) throw new UsageError('--expires must be in the future')
  return new Date(t)
}

/** A key's status as clients see it: an Active key past its expiry is already refused, until the purge job removes it. */
export function effectiveStatus (key: { status: string, expiresAt?: string }, now: Date): string {
  return key.status === 'Active' && key.expiresAt !== undefined && Date.parse(key.expiresAt) <= now.getTime() ? 'Expired' : key.status
}

export function bucketOf (state: State, name: string): BucketRecord {
  const b = state.buckets[name]
  if (!b) throw new AdminError(`bucket "${name}" does not exist (see: bridgectl buckets list)`)
  return b
}
