// Lifecycle configuration on the wire: PutBucketLifecycleConfiguration XML in (AWS's schema and checks), and out.
import { S3Error } from '../errors/s3-error.js'
import {
  dueAt, MAX_LIFECYCLE_ID_CHARS, MAX_LIFECYCLE_RULES, ruleCovers, storedLifecycle, type LifecycleConfiguration, type LifecycleRule, type LifecycleScope, type LifecycleTag,
} from '../config/lifecycle-rules.js'
import { randomBytes } from 'node:crypto'
import { children, parseXml, texts } from './xml/parse.js'
import { renderXml, type XmlNode } from './xml/render.js'
import type { ObjectInfo } from '../storage/types.js'

const RULE_ELEMENTS = ['ID', 'Prefix', 'Filter', 'Status', 'Expiration', 'Transition', 'NoncurrentVersionExpiration',
  'NoncurrentVersionTransition', 'AbortIncompleteMultipartUpload']
/** AWS's TransitionStorageClass. */
const TRANSITION_CLASSES = new Set(['GLACIER', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'DEEP_ARCHIVE', 'GLACIER_IR'])
/** Days and sizes are an xs:int and xs:long in AWS's model; a day count past this is no longer a date. */
const MAX_INT32 = 2_147_483_647
/** Keys, and so prefixes, are at most 1,024 bytes. */
const MAX_PREFIX_BYTES = 1024
/** The object size bounds' range in AWS's messages (5 TiB). */
const MAX_OBJECT_SIZE = 5_497_558_138_880

function onlyElements (node: unknown, allowed: readonly string[]): void {
  if (typeof node !== 'object' || node === null) return
  for (const name of Object.keys(node)) if (name !== '$' && !allowed.includes(name)) throw new S3Error('MalformedXML')
}

/** The one text of an element, or undefined; twice is not in the schema. */
function one (node: unknown, name: string): string | undefined {
  const values = texts(node, name)
  if (values.length > 1) throw new S3Error('MalformedXML')
  return values[0]
}

function oneChild (node: unknown, name: string): unknown {
  const values = children(node, name)
  if (values.length > 1) throw new S3Error('MalformedXML')
  return values[0] === '' ? {} : values[0]
}

function invalid (message: string): S3Error {
  return new S3Error('InvalidArgument', {}, { message })
}

/**
 * An xs:int (xs:long with `long`) in range; below `min` it is AWS's InvalidArgument with `message` (e.g. "'Days' for
 * Expiration action must be a positive integer").
 */
function integer (text: string | undefined, min: number, message: string, opts: { max?: number, code?: 'InvalidArgument' | 'InvalidRequest' } = {}): number | undefined {
  if (text === undefined) return undefined
  if (!/^\s*[-+]?\d+\s*$/.test(text)) throw new S3Error('MalformedXML')
  const n = Number(text)
  if (!Number.isSafeInteger(n) || (opts.max === undefined && n > MAX_INT32)) throw new S3Error('MalformedXML')
  if (n < min || (opts.max !== undefined && n > opts.max)) throw new S3Error(opts.code ?? 'InvalidArgument', {}, { message })
  return n
}

function midnight (text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  const v = text.trim()
  // An xs:dateTime without a zone is read as UTC, never in the daemon host's zone.
  const zoned = /(Z|[+-]\d{2}:\d{2})$/.test(v) || !v.includes('T') ? v : v + 'Z'
  const t = Date.parse(zoned)
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(t)) throw new S3Error('MalformedXML')
  if (t % 86_400_000 !== 0) throw invalid("'Date' must be at midnight GMT")
  return new Date(t).toISOString()
}

function tagOf (node: unknown): LifecycleTag {
  onlyElements(node, ['Key', 'Value'])
  const key = one(node, 'Key')
  if (key === undefined || key === '' || key.length > 128) throw new S3Error('InvalidTag', {}, { message: 'The TagKey you have provided is invalid' })
  const value = one(node, 'Value')
  if (value === undefined) throw new S3Error('MalformedXML') // both are required in AWS's Tag
  if (value.length > 256) throw new S3Error('InvalidTag', {}, { message: 'The TagValue you have provided is invalid' })
  return { key, value }
}

function scopeOf (rule: unknown): LifecycleScope {
  const prefix = one(rule, 'Prefix')
  const filter = oneChild(rule, 'Filter')
  if ((prefix === undefined) === (filter === undefined)) throw new S3Error('MalformedXML') // one of the two, as AWS's schema
  for (const p of [prefix, one(filter, 'Prefix'), one(oneChild(filter, 'And'), 'Prefix')]) {
    if (p !== undefined && Buffer.byteLength(p) > MAX_PREFIX_BYTES) throw new S3Error('InvalidArgument', {}, { message: 'The maximum size of a prefix is 1024.' })
  }
  if (prefix !== undefined) return { form: 'prefix', prefix, tags: [] }
  onlyElements(filter, ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan', 'And'])
  const choices = ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan', 'And'].filter(n => children(filter, n).length > 0)
  if (choices.length > 1) throw new S3Error('MalformedXML') // a Filter holds one of them; several go in And
  const gt = (node: unknown): number | undefined => integer(one(node, 'ObjectSizeGreaterThan'), 0, "'ObjectSizeGreaterThan' should be between 0 and 5497558138880", { max: MAX_OBJECT_SIZE, code: 'InvalidRequest' })
  const lt = (node: unknown): number | undefined => integer(one(node, 'ObjectSizeLessThan'), 1, "'ObjectSizeLessThan' should be between 1 and 5497558138880", { max: MAX_OBJECT_SIZE, code: 'InvalidRequest' })
  switch (choices[0]) {
    case undefined: return { form: 'filter-empty', prefix: '', tags: [] }
    case 'Prefix': return { form: 'filter-prefix', prefix: one(filter, 'Prefix') ?? '', tags: [] }
    case 'Tag': return { form: 'filter-tag', prefix: '', tags: [tagOf(oneChild(filter, 'Tag'))] }
    case 'ObjectSizeGreaterThan': return { form: 'filter-gt', prefix: '', tags: [], sizeGreaterThan: gt(filter) }
    case 'ObjectSizeLessThan': return { form: 'filter-lt', prefix: '', tags: [], sizeLessThan: lt(filter) }
    default: {
      const and = oneChild(filter, 'And')
      onlyElements(and, ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan'])
      const scope: LifecycleScope = { form: 'filter-and', prefix: one(and, 'Prefix') ?? '', tags: children(and, 'Tag').map(tagOf), sizeGreaterThan: gt(and), sizeLessThan: lt(and) }
      // "A logical AND to two or more predicates" (API_LifecycleRuleAndOperator): an empty And must not read as
      // narrowed while it covers the whole bucket.
      const predicates = (one(and, 'Prefix') === undefined ? 0 : 1) + scope.tags.length + (scope.sizeGreaterThan === undefined ? 0 : 1) + (scope.sizeLessThan === undefined ? 0 : 1)
      if (predicates < 2) throw new S3Error('MalformedXML')
      if (new Set(scope.tags.map(t => t.key)).size !== scope.tags.length) throw invalid('Duplicate Tag Keys are not allowed.')
      if (scope.sizeGreaterThan !== undefined && scope.sizeLessThan !== undefined && scope.sizeGreaterThan >= scope.sizeLessThan) {
        throw invalid('ObjectSizeGreaterThan must be less than ObjectSizeLessThan')
      }
      return scope
    }
  }
}

function ruleOf (node: unknown): LifecycleRule {
  onlyElements(node, RULE_ELEMENTS)
  // AWS names a rule without an ID itself; a random one cannot collide with the IDs of the other rules.
  const id = one(node, 'ID') ?? randomBytes(36).toString('base64')
  if (id.length > MAX_LIFECYCLE_ID_CHARS) throw invalid(`ID length should not exceed allowed limit of ${MAX_LIFECYCLE_ID_CHARS}`)
  const status = one(node, 'Status')
  if (status !== 'Enabled' && status !== 'Disabled') throw new S3Error('MalformedXML')
  const scope = scopeOf(node)

  const exp = oneChild(node, 'Expiration')
  let expiration: LifecycleRule['expiration']
  if (exp !== undefined) {
    onlyElements(exp, ['Days', 'Date', 'ExpiredObjectDeleteMarker'])
    const marker = one(exp, 'ExpiredObjectDeleteMarker')?.trim().toLowerCase()
    if (marker !== undefined && marker !== 'true' && marker !== 'false') throw new S3Error('MalformedXML')
    expiration = { days: integer(one(exp, 'Days'), 1, "'Days' for Expiration action must be a positive integer"), date: midnight(one(exp, 'Date')) }
    if (marker !== undefined) expiration.expiredObjectDeleteMarker = marker === 'true'
    const given = [expiration.days, expiration.date, expiration.expiredObjectDeleteMarker].filter(v => v !== undefined).length
    if (given !== 1) throw new S3Error('MalformedXML') // Days, Date or ExpiredObjectDeleteMarker: exactly one
    if (marker !== undefined && scope.tags.length > 0) throw new S3Error('InvalidRequest', {}, { message: 'ExpiredObjectDeleteMarker cannot be specified with Tags.' })
    if (marker !== undefined && (scope.sizeGreaterThan !== undefined || scope.sizeLessThan !== undefined)) throw new S3Error('MalformedXML')
  }
  const abort = oneChild(node, 'AbortIncompleteMultipartUpload')
  let abortDays: number | undefined
  if (abort !== undefined) {
    onlyElements(abort, ['DaysAfterInitiation'])
    abortDays = integer(one(abort, 'DaysAfterInitiation'), 1, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
    if (abortDays === undefined) throw new S3Error('MalformedXML')
    if (scope.tags.length > 0) throw new S3Error('InvalidRequest', {}, { message: 'AbortIncompleteMultipartUpload cannot be specified with Tags.' })
    if (scope.sizeGreaterThan !== undefined || scope.sizeLessThan !== undefined) throw new S3Error('InvalidRequest', {}, { message: 'AbortIncompleteMultipartUpload cannot be specified with Object Size.' })
  }
  const storageClass = (n: unknown): string => {
    const c = one(n, 'StorageClass')
    if (c === undefined || !TRANSITION_CLASSES.has(c)) throw new S3Error('MalformedXML')
    return c
  }
  const transitions = children(node, 'Transition').map(n => {
    onlyElements(n, ['Days', 'Date', 'StorageClass'])
    const t = { days: integer(one(n, 'Days'), 0, "'Days' for Transition action must be a positive integer"), date: midnight(one(n, 'Date')), storageClass: storageClass(n) }
    if ((t.days === undefined) === (t.date === undefined)) throw new S3Error('MalformedXML')
    if (t.days !== undefined && t.days < 30 && (t.storageClass === 'STANDARD_IA' || t.storageClass === 'ONEZONE_IA')) {
      throw invalid(`'Days' in Transition action must be greater than or equal to 30 for storageClass '${t.storageClass}'`)
    }
    return t
  })
  const nve = oneChild(node, 'NoncurrentVersionExpiration')
  let noncurrentVersionExpiration: LifecycleRule['noncurrentVersionExpiration']
  if (nve !== undefined) {
    onlyElements(nve, ['NoncurrentDays', 'NewerNoncurrentVersions'])
    noncurrentVersionExpiration = { noncurrentDays: integer(one(nve, 'NoncurrentDays'), 1, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"), newerNoncurrentVersions: integer(one(nve, 'NewerNoncurrentVersions'), 1, "'NewerNoncurrentVersions' must be a positive integer") }
    if (noncurrentVersionExpiration.noncurrentDays === undefined) throw new S3Error('MalformedXML')
  }
  const noncurrentVersionTransitions = children(node, 'NoncurrentVersionTransition').map(n => {
    onlyElements(n, ['NoncurrentDays', 'NewerNoncurrentVersions', 'StorageClass'])
    const t = { noncurrentDays: integer(one(n, 'NoncurrentDays'), 0, "'NoncurrentDays' for NoncurrentVersionTransition action must be a positive integer"), newerNoncurrentVersions: integer(one(n, 'NewerNoncurrentVersions'), 1, "'NewerNoncurrentVersions' must be a positive integer"), storageClass: storageClass(n) }
    if (t.noncurrentDays === undefined) throw new S3Error('MalformedXML')
    return t
  })
  if (expiration === undefined && abortDays === undefined && transitions.length === 0 && noncurrentVersionExpiration === undefined && noncurrentVersionTransitions.length === 0) {
    throw new S3Error('InvalidRequest', {}, { message: 'At least one action needs to be specified in a rule' })
  }
  const rule: LifecycleRule = { id, status, scope, transitions, noncurrentVersionTransitions }
  if (expiration !== undefined) rule.expiration = expiration
  if (abortDays !== undefined) rule.abortIncompleteMultipartUploadDays = abortDays
  if (noncurrentVersionExpiration !== undefined) rule.noncurrentVersionExpiration = noncurrentVersionExpiration
  return rule
}

/** Parses a PutBucketLifecycleConfiguration (or the older PutBucketLifecycle) body, with AWS's checks. */
export async function parseLifecycleXml (text: string): Promise<LifecycleConfiguration> {
  const doc = await parseXml(text)
  const root = doc.LifecycleConfiguration
  if (root === undefined || Object.keys(doc).length !== 1) throw new S3Error('MalformedXML')
  onlyElements(root, ['Rule'])
  const nodes = children(root, 'Rule')
  if (nodes.length === 0) throw new S3Error('MalformedXML')
  if (nodes.length > MAX_LIFECYCLE_RULES) throw new S3Error('InvalidRequest', {}, { message: `The number of lifecycle rules should not exceed allowed limit of ${MAX_LIFECYCLE_RULES} rules` })
  const rules = nodes.map(n => ruleOf(n))
  const ids = new Set<string>()
  for (const r of rules) {
    if (ids.has(r.id)) throw invalid('Rule ID must be unique. Found same ID for more than one rule')
    ids.add(r.id)
  }
  return { rules }
}

function tagXml (t: LifecycleTag): XmlNode {
  return { Key: t.key, Value: t.value }
}

function scopeXml (s: LifecycleScope): XmlNode {
  switch (s.form) {
    case 'prefix': return { Prefix: s.prefix }
    case 'filter-empty': return { Filter: {} }
    case 'filter-prefix': return { Filter: { Prefix: s.prefix } }
    case 'filter-tag': return { Filter: { Tag: s.tags.map(tagXml) } }
    case 'filter-gt': return { Filter: { ObjectSizeGreaterThan: s.sizeGreaterThan } }
    case 'filter-lt': return { Filter: { ObjectSizeLessThan: s.sizeLessThan } }
    case 'filter-and': return { Filter: { And: { Prefix: s.prefix, Tag: s.tags.map(tagXml), ObjectSizeGreaterThan: s.sizeGreaterThan, ObjectSizeLessThan: s.sizeLessThan } } }
  }
}

export function renderLifecycleXml (config: LifecycleConfiguration): string {
  return renderXml('LifecycleConfiguration', {
    Rule: config.rules.map(r => ({
      ID: r.id,
      ...scopeXml(r.scope),
      Status: r.status,
      Transition: r.transitions.map(t => ({ Days: t.days, Date: t.date, StorageClass: t.storageClass })),
      NoncurrentVersionTransition: r.noncurrentVersionTransitions.map(t => ({ NoncurrentDays: t.noncurrentDays, NewerNoncurrentVersions: t.newerNoncurrentVersions, StorageClass: t.storageClass })),
      NoncurrentVersionExpiration: r.noncurrentVersionExpiration === undefined ? undefined : { NoncurrentDays: r.noncurrentVersionExpiration.noncurrentDays, NewerNoncurrentVersions: r.noncurrentVersionExpiration.newerNoncurrentVersions },
      AbortIncompleteMultipartUpload: r.abortIncompleteMultipartUploadDays === undefined ? undefined : { DaysAfterInitiation: r.abortIncompleteMultipartUploadDays },
      Expiration: r.expiration === undefined ? undefined : { Days: r.expiration.days, Date: r.expiration.date, ExpiredObjectDeleteMarker: r.expiration.expiredObjectDeleteMarker },
    })),
  })
}

/**
 * x-amz-expiration for GET, HEAD and PUT of an object an enabled Expiration rule covers (API_GetObject): the
 * earliest such rule's date and its ID (URL-encoded, as AWS). Undefined for a bucket without rules (no work then).
 */
export function expirationHeader (lifecycle: unknown, info: Pick<ObjectInfo, 'key' | 'size' | 'lastModified' | 'meta' | 'isDirectoryMarker'>): string | undefined {
  if (lifecycle === undefined || info.isDirectoryMarker) return undefined
  let best: { due: Date, id: string } | undefined
  for (const rule of storedLifecycle(lifecycle)?.rules ?? []) {
    if (rule.status !== 'Enabled' || rule.expiration === undefined) continue
    const due = dueAt(rule.expiration, info.lastModified.getTime())
    if (due === undefined || !ruleCovers(rule.scope, info, info.meta.tags ?? [])) continue
    if (best === undefined || due < best.due) best = { due, id: rule.id }
  }
  return best === undefined ? undefined : `expiry-date="${best.due.toUTCString()}", rule-id="${encodeURIComponent(best.id)}"`
}

/**
 * x-amz-abort-date and x-amz-abort-rule-id for CreateMultipartUpload and ListParts of an upload an enabled
 * AbortIncompleteMultipartUpload rule covers (API_CreateMultipartUpload): when the daily job will abort it.
 */
export function abortHeaders (lifecycle: unknown, key: string, initiated: Date): Record<string, string> {
  if (lifecycle === undefined) return {}
  let best: { due: Date, id: string } | undefined
  for (const rule of storedLifecycle(lifecycle)?.rules ?? []) {
    const days = rule.abortIncompleteMultipartUploadDays
    if (rule.status !== 'Enabled' || days === undefined || !ruleCovers(rule.scope, { key, size: 0 })) continue
    const due = dueAt({ days }, initiated.getTime())
    if (due !== undefined && (best === undefined || due < best.due)) best = { due, id: rule.id }
  }
  return best === undefined ? {} : { 'x-amz-abort-date': best.due.toUTCString(), 'x-amz-abort-rule-id': best.id }
}
