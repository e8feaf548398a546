// Bucket lifecycle rules: the model a bucket holds (PutBucketLifecycleConfiguration), and when a rule expires an
// object or aborts an upload. The XML is lib/http/lifecycle.ts; the job that acts is lib/daemon/lifecycle-job.ts.

export const MAX_LIFECYCLE_RULES = 1000
export const MAX_LIFECYCLE_ID_CHARS = 255
const DAY_MS = 86_400_000
/** The last millisecond a JavaScript Date can hold. */
const MAX_DATE_MS = 8.64e15

export interface LifecycleTag { key: string, value: string }

/**
 * Which objects a rule covers. `form` remembers how the client wrote it (a legacy top-level Prefix, or a Filter
 * with one of its choices) so that GetBucketLifecycleConfiguration gives back what was put.
 */
export interface LifecycleScope {
  form: 'prefix' | 'filter-empty' | 'filter-prefix' | 'filter-tag' | 'filter-gt' | 'filter-lt' | 'filter-and'
  prefix: string
  tags: LifecycleTag[]
  sizeGreaterThan?: number
  sizeLessThan?: number
}

export interface LifecycleTransition { days?: number, date?: string, storageClass: string }

export interface LifecycleRule {
  id: string
  status: 'Enabled' | 'Disabled'
  scope: LifecycleScope
  expiration?: { days?: number, date?: string, expiredObjectDeleteMarker?: boolean }
  abortIncompleteMultipartUploadDays?: number
  /** Kept and shown, never acted on: the NAS has one storage tier (docs/design.md, "Lifecycle"). */
  transitions: LifecycleTransition[]
  /** Kept and shown; there are no noncurrent versions here for them to act on. */
  noncurrentVersionExpiration?: { noncurrentDays?: number, newerNoncurrentVersions?: number }
  noncurrentVersionTransitions: Array<{ noncurrentDays?: number, newerNoncurrentVersions?: number, storageClass: string }>
}

/** What BucketRecord.lifecycle holds once validated. */
export interface LifecycleConfiguration { rules: LifecycleRule[] }

/** Narrows what the state holds; anything unexpected counts as no configuration. */
export function storedLifecycle (value: unknown): LifecycleConfiguration | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const rules = (value as { rules?: unknown }).rules
  return Array.isArray(rules) && rules.length > 0 ? value as LifecycleConfiguration : undefined
}

/** Whether a rule's filter covers an object (prefix, every tag, the size bounds: AWS's And). */
export function ruleCovers (scope: LifecycleScope, object: { key: string, size: number }, tags: readonly LifecycleTag[] = []): boolean {
  if (!object.key.startsWith(scope.prefix)) return false
  if (scope.sizeGreaterThan !== undefined && !(object.size > scope.sizeGreaterThan)) return false
  if (scope.sizeLessThan !== undefined && !(object.size < scope.sizeLessThan)) return false
  return scope.tags.every(t => tags.some(o => o.key === t.key && o.value === t.value))
}

/**
 * When an object (or an upload) made at `madeAt` expires under a Days/Date action: AWS adds the days to the
 * creation time and rounds up to the next midnight UTC; a Date is a midnight UTC itself.
 */
export function dueAt (action: { days?: number, date?: string }, madeAtMs: number): Date | undefined {
  const due = action.date !== undefined ? Date.parse(action.date)
    : action.days === undefined ? NaN : Math.ceil((madeAtMs + action.days * DAY_MS) / DAY_MS) * DAY_MS
  // Past the range of dates (a Days of two billion means "never"), or anything not a number: never due.
  return Number.isFinite(due) && due <= MAX_DATE_MS ? new Date(due) : undefined
}

/** Whether an action is due now; anything that is not a date (NaN included) is not. */
export function isDue (due: Date | undefined, now: Date): boolean {
  return due !== undefined && due.getTime() <= now.getTime()
}
