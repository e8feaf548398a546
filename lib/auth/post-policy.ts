// Browser POST uploads: the form's signature (SigV4 or SigV2 over the base64 policy) and the policy's conditions.
import { createHmac } from 'node:crypto'
import { S3Error } from '../errors/s3-error.js'
import type { SecretLookup } from './authenticate.js'
import { parseAmzDate } from './sigv4/parse.js'
import { signHex, signingKey } from './sigv4/signing-key.js'
import { SIGV4_ALGORITHM } from './sigv4/string-to-sign.js'
import { signaturesEqual } from './sigv4/verify.js'

/** Form fields by lower-cased name (S3 compares field names case-insensitively). */
export type PostFields = ReadonlyMap<string, string>

export type PostCondition =
  /** field: lower-cased, as form fields compare; written: as the policy wrote it, for messages. */
  | { op: 'eq' | 'starts-with', field: string, value: string, written?: string }
  | { op: 'content-length-range', min: number, max: number }

export interface PostPolicy { expiration: Date, conditions: PostCondition[] }

export interface PostSignature {
  accessKeyId: string
  signatureVersion: 'AWS4-HMAC-SHA256' | 'AWS'
  signedAt: Date
  region?: string
  service?: string
  securityToken?: string
}

export interface SizeRange { min: number, max: number }

/** Fields the policy need not mention: the signature itself, the file, and x-ignore-*. */
const UNCOVERED_FIELDS = new Set(['policy', 'x-amz-signature', 'signature', 'awsaccesskeyid', 'file'])

function invalidPolicy (why: string): S3Error {
  return new S3Error('InvalidPolicyDocument', {}, { message: `Invalid Policy: ${why}` })
}

function deniedByPolicy (why: string): S3Error {
  return new S3Error('AccessDenied', {}, { message: `Invalid according to Policy: ${why}` })
}

function missingField (name: string): S3Error {
  return new S3Error('InvalidArgument', { ArgumentName: name, ArgumentValue: '' }, {
    message: `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`,
  })
}

function lengthBound (v: unknown): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw invalidPolicy('Invalid content-length-range.')
  return n
}

function parseCondition (c: unknown): PostCondition[] {
  if (Array.isArray(c)) {
    const [op, a, b] = c as unknown[]
    const name = typeof op === 'string' ? op.toLowerCase() : ''
    if (name === 'content-length-range' && c.length === 3) {
      const range = { op: name, min: lengthBound(a), max: lengthBound(b) } as const
      if (range.min > range.max) throw invalidPolicy('Invalid content-length-range.')
      return [range]
    }
    if ((name === 'eq' || name === 'starts-with') && c.length === 3 && typeof a === 'string' && a.startsWith('$') && typeof b === 'string') {
      return [{ op: name, field: a.slice(1).toLowerCase(), value: b, written: a.slice(1) }]
    }
    throw invalidPolicy(`Invalid Condition: ${JSON.stringify(c)}`)
  }
  if (typeof c === 'object' && c !== null) {
    // AWS: {"field": "value"} names one field; {} or two at once is a malformed policy, not a condition unmet.
    if (Object.keys(c).length !== 1) throw invalidPolicy('Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.')
    return Object.entries(c).map(([field, value]) => {
      if (typeof value !== 'string') throw invalidPolicy(`Invalid Condition: ${JSON.stringify(c)}`)
      return { op: 'eq', field: field.toLowerCase(), value, written: field }
    })
  }
  throw invalidPolicy(`Invalid Condition: ${JSON.stringify(c)}`)
}

/** Decodes the base64 JSON policy; an expired one is AccessDenied like AWS. */
export function parsePostPolicy (base64: string, now: Date): PostPolicy {
  let doc: unknown
  try {
    doc = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'))
  } catch {
    throw invalidPolicy('Invalid JSON.')
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalidPolicy('Invalid JSON.')
  const { expiration, conditions } = doc as Record<string, unknown>
  if (typeof expiration !== 'string') throw invalidPolicy('Policy missing expiration.')
  const expires = new Date(expiration)
  if (Number.isNaN(expires.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(expiration)) throw invalidPolicy(`Invalid 'expiration' value: '${expiration}'`)
  if (!Array.isArray(conditions)) throw invalidPolicy('Policy missing conditions.')
  const parsed = conditions.flatMap(parseCondition)
  if (expires.getTime() <= now.getTime()) throw deniedByPolicy('Policy expired.')
  return { expiration: expires, conditions: parsed }
}

function field (fields: PostFields, name: string): string | undefined {
  return fields.get(name)
}

async function secretsOrThrow (lookup: SecretLookup, accessKeyId: string): Promise<string[]> {
  const secrets = await lookup(accessKeyId)
  if (secrets === undefined || secrets.length === 0) throw new S3Error('InvalidAccessKeyId', { AWSAccessKeyId: accessKeyId })
  return secrets
}

function mismatch (accessKeyId: string, policy: string, provided: string): S3Error {
  return new S3Error('SignatureDoesNotMatch', { AWSAccessKeyId: accessKeyId, StringToSign: policy, SignatureProvided: provided })
}

async function verifySigV4Form (fields: PostFields, policy: string, lookup: SecretLookup): Promise<PostSignature> {
  const algorithm = field(fields, 'x-amz-algorithm')
  if (algorithm !== SIGV4_ALGORITHM) {
    throw new S3Error('InvalidArgument', { ArgumentName: 'x-amz-algorithm', ArgumentValue: algorithm ?? '' }, { message: 'Unsupported algorithm; only AWS4-HMAC-SHA256 is supported.' })
  }
  const credential = field(fields, 'x-amz-credential')
  if (credential === undefined) throw missingField('x-amz-credential')
  const amzDate = field(fields, 'x-amz-date')
  if (amzDate === undefined) throw missingField('x-amz-date')
  const provided = field(fields, 'x-amz-signature')
  if (provided === undefined) throw missingField('x-amz-signature')
  const parts = credential.split('/')
  const [accessKeyId, date, region, service, terminator] = parts
  const signedAt = parseAmzDate(amzDate)
  if (parts.length !== 5 || !accessKeyId || !date || !/^\d{8}$/.test(date) || !region || !service || terminator !== 'aws4_request' || signedAt === undefined) {
    throw new S3Error('InvalidArgument', { ArgumentName: 'x-amz-credential', ArgumentValue: credential }, { message: 'Invalid credential or date in the POST form.' })
  }
  // As for header and query signatures: a signature for another service (sts, iam) is not an S3 one.
  if (service !== 's3') {
    throw new S3Error('InvalidArgument', { ArgumentName: 'x-amz-credential', ArgumentValue: credential }, { message: `Error parsing the X-Amz-Credential parameter; incorrect service "${service}". This endpoint belongs to "s3".` })
  }
  const secrets = await secretsOrThrow(lookup, accessKeyId)
  const isMatch = secrets.some(secret => signaturesEqual(signHex(signingKey(secret, date, region, service), policy), provided))
  if (!isMatch) throw mismatch(accessKeyId, policy, provided)
  return { accessKeyId, signatureVersion: SIGV4_ALGORITHM, signedAt, region, service, securityToken: field(fields, 'x-amz-security-token') }
}

async function verifySigV2Form (fields: PostFields, policy: string, lookup: SecretLookup, now: Date): Promise<PostSignature> {
  const accessKeyId = field(fields, 'awsaccesskeyid') ?? ''
  const provided = field(fields, 'signature')
  if (provided === undefined) throw missingField('Signature')
  const secrets = await secretsOrThrow(lookup, accessKeyId)
  const isMatch = secrets.some(secret => signaturesEqual(createHmac('sha1', secret).update(policy, 'utf8').digest('base64'), provided))
  if (!isMatch) throw mismatch(accessKeyId, policy, provided)
  return { accessKeyId, signatureVersion: 'AWS', signedAt: now, securityToken: field(fields, 'x-amz-security-token') }
}

/**
 * Verifies the form's signature over its policy. null means an anonymous upload (no policy and no
 * signature fields); the bucket's ACL or policy then decides.
 */
export async function verifyPostSignature (fields: PostFields, lookup: SecretLookup, now: Date): Promise<PostSignature | null> {
  const policy = field(fields, 'policy')
  const isV4 = fields.has('x-amz-signature') || fields.has('x-amz-credential') || fields.has('x-amz-algorithm')
  const isV2 = fields.has('signature') || fields.has('awsaccesskeyid')
  if (policy === undefined) {
    if (isV4 || isV2) throw missingField('policy')
    return null
  }
  if (isV4) return verifySigV4Form(fields, policy, lookup)
  if (isV2) return verifySigV2Form(fields, policy, lookup, now)
  throw missingField('x-amz-signature')
}

function conditionText (c: PostCondition): string {
  return c.op === 'content-length-range' ? `["content-length-range", ${c.min}, ${c.max}]` : `["${c.op}", "$${c.written ?? c.field}", ${JSON.stringify(c.value)}]`
}

function holds (c: PostCondition & { op: 'eq' | 'starts-with' }, value: string): boolean {
  if (c.op === 'eq') return value === c.value
  // Content-Type may list several types; each must start with the prefix.
  if (c.field === 'content-type') return value.split(',').every(v => v.trim().startsWith(c.value))
  return value.startsWith(c.value)
}

/**
 * Checks every condition against the form (the bucket is the request's, the key after ${filename}),
 * and that the policy names every field the form sent. Returns the allowed file size range, if any.
 */
export function checkPostConditions (policy: PostPolicy, fields: PostFields, target: { bucket: string, key: string }): SizeRange | undefined {
  const values = new Map(fields)
  values.set('bucket', target.bucket)
  values.set('key', target.key)
  let range: SizeRange | undefined
  const covered = new Set<string>()
  for (const c of policy.conditions) {
    if (c.op === 'content-length-range') {
      range = { min: c.min, max: c.max }
      continue
    }
    covered.add(c.field)
    if (!holds(c, values.get(c.field) ?? '')) throw deniedByPolicy(`Policy Condition failed: ${conditionText(c)}`)
  }
  const extra = [...fields.keys()].filter(name => !UNCOVERED_FIELDS.has(name) && !name.startsWith('x-ignore-') && !covered.has(name))
  if (extra.length > 0) throw deniedByPolicy(`Extra input fields: ${extra.join(', ')}`)
  return range
}
