// Parsing and validating a policy's JSON text into a typed PolicyDocument, with AWS's MalformedPolicy messages.
import { conditionKeyProblem } from './condition-keys.js'
import { S3Error } from '../errors/s3-error.js'
import { S3_ACTIONS, type ResourceKind } from './actions.js'
import { checkConditionValue, parseConditionOperator, type PolicyCondition } from './policy-conditions.js'
import { conditionKeyName, tagKeyActions } from './object-tag-keys.js'
import { compilePattern, matchPattern } from './policy-patterns.js'

export type PolicyVersion = '2012-10-17' | '2008-10-17'
export type PolicyKind = 'bucket' | 'identity' | 'session'

/** An Action/Resource element, or its Not… form when `isNegated`. */
export interface MatchList { readonly isNegated: boolean; readonly values: readonly string[] }

/** A Principal element (`"*"` sets isWildcard), or NotPrincipal when `isNegated`. */
export interface PrincipalList {
  readonly isNegated: boolean
  readonly isWildcard: boolean
  readonly aws: readonly string[]
  readonly canonicalUser: readonly string[]
  readonly federated: readonly string[]
  readonly service: readonly string[]
}

export interface PolicyStatement {
  readonly sid?: string
  readonly effect: 'Allow' | 'Deny'
  /** Absent in identity and session policies: they apply to the caller they are attached to. */
  readonly principal?: PrincipalList
  readonly actions: MatchList
  readonly resources: MatchList
  readonly conditions: readonly PolicyCondition[]
}

export interface PolicyDocument {
  readonly version: PolicyVersion
  readonly id?: string
  readonly statements: readonly PolicyStatement[]
}

export interface ParsePolicyOptions {
  readonly kind: PolicyKind
  /** For bucket policies: every Resource must name this bucket or objects in it. */
  readonly bucketName?: string
  readonly maxBytes: number
  /**
   * Refuse condition keys the bridge does not fill (a typo, or one it does not support): set where a policy is
   * written, not where a stored one is read (condition-keys.ts).
   */
  readonly checkConditionKeys?: boolean
}

/** AWS limits: bucket policies 20 KB; identity policies (WEKA) and session policies (STS) 2 KB. */
export const MAX_BUCKET_POLICY_BYTES = 20 * 1024
export const MAX_IDENTITY_POLICY_BYTES = 2 * 1024
export const MAX_SESSION_POLICY_BYTES = 2048

type Json = unknown
const STATEMENT_FIELDS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'])

function malformed(message: string): S3Error {
  return new S3Error('MalformedPolicy', {}, { message })
}

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Parses and validates a policy; every problem is thrown as S3Error MalformedPolicy. */
export function parsePolicy(text: string, options: ParsePolicyOptions): PolicyDocument {
  // White space does not count against the limit (AWS measures bucket and IAM policies without it: a policy file
  // indented for people, as `aws s3api put-bucket-policy --policy file://p.json` sends it, is taken at its packed
  // size); STS counts a session policy's plain text as sent. The text itself may be a few times the limit at most.
  const packed = options.kind !== 'session'
  const tooLarge = (): S3Error => malformed('Policy exceeds the maximum allowed document size.')
  if (Buffer.byteLength(text, 'utf8') > (packed ? 8 : 1) * options.maxBytes) throw tooLarge()
  if (!text.trimStart().startsWith('{')) throw malformed('Policies must be valid JSON and the first byte must be \'{\'')
  let json: Json
  try {
    json = JSON.parse(text)
  } catch {
    throw malformed('This policy contains invalid Json')
  }
  if (packed && Buffer.byteLength(JSON.stringify(json), 'utf8') > options.maxBytes) throw tooLarge()
  if (!isObject(json)) throw malformed('Policies must be valid JSON and the first byte must be \'{\'')
  for (const field of Object.keys(json)) {
    if (field !== 'Version' && field !== 'Id' && field !== 'Statement') throw malformed(`Unknown field ${field}`)
  }
  const version = parseVersion(json.Version)
  if (json.Id !== undefined && typeof json.Id !== 'string') throw malformed('Invalid policy syntax.')
  const statements = statementList(json.Statement).map(s => parseStatement(s, options))
  checkUniqueSids(statements)
  return json.Id === undefined ? { version, statements } : { version, id: json.Id, statements }
}

function parseVersion(v: Json): PolicyVersion {
  if (v === undefined) return '2008-10-17'
  if (v === '2012-10-17' || v === '2008-10-17') return v
  throw malformed('The policy must contain a valid version string')
}

function statementList(v: Json): Json[] {
  if (v === undefined) throw malformed('Missing required field Statement')
  const list = Array.isArray(v) ? v : [v]
  if (list.length === 0) throw malformed('Could not parse the policy: Statement is empty!')
  return list
}

function checkUniqueSids(statements: readonly PolicyStatement[]): void {
  const seen = new Set<string>()
  for (const { sid } of statements) {
    if (sid === undefined || sid === '') continue
    if (seen.has(sid)) throw malformed('Statement IDs (SID) in a single policy must be unique.')
    seen.add(sid)
  }
}

function parseStatement(s: Json, options: ParsePolicyOptions): PolicyStatement {
  if (!isObject(s)) throw malformed('Invalid policy syntax.')
  for (const field of Object.keys(s)) if (!STATEMENT_FIELDS.has(field)) throw malformed(`Unknown field ${field}`)
  if (s.Sid !== undefined && typeof s.Sid !== 'string') throw malformed('Invalid policy syntax.')
  const effect = s.Effect
  if (effect === undefined) throw malformed('Missing required field Effect')
  if (effect !== 'Allow' && effect !== 'Deny') throw malformed(`Invalid effect: ${String(effect)}`)
  const principal = parsePrincipalElement(s, effect, options.kind)
  const actions = matchList(s, 'Action', 'NotAction')
  const resources = matchList(s, 'Resource', 'NotResource')
  for (const action of actions.values) checkAction(action, options.kind)
  for (const resource of resources.values) checkResource(resource, options)
  if (options.kind === 'bucket' && !actions.isNegated && !resources.isNegated) checkActionsApply(actions.values, resources.values)
  const conditions = parseConditions(s.Condition, options.checkConditionKeys === true)
  if (options.checkConditionKeys === true) checkTagKeysApply(actions, conditions)
  const statement: PolicyStatement = { effect, actions, resources, conditions }
  return {
    ...(s.Sid === undefined ? {} : { sid: s.Sid }),
    ...(principal === undefined ? {} : { principal }),
    ...statement,
  }
}

/**
 * A tag key no action of the statement takes would make the condition a no-op: "Deny s3:DeleteObject if
 * s3:ExistingObjectTag/retain is true" would delete retained objects (AWS: the key is not supported for PUT and
 * DELETE Object). AWS refuses such statements with this message. Patterns (s3:*, s3:Get*) count with every action
 * they match; NotAction is left alone (it covers almost everything).
 */
function checkTagKeysApply(actions: MatchList, conditions: readonly PolicyCondition[]): void {
  if (actions.isNegated || actions.values.includes('*')) return
  const named = actions.values.flatMap(a => knownActionsMatching(a).map(([name]) => name))
  for (const { key } of conditions) {
    const takers = tagKeyActions(key)
    if (takers !== undefined && !named.some(a => takers.has(a.toLowerCase()))) {
      throw malformed('Conditions do not apply to combination of actions and resources in statement')
    }
  }
}

/** Reads `Name` or `NotName` (exactly one) as a non-empty list of strings. */
function matchList(s: Record<string, Json>, name: string, notName: string): MatchList {
  const positive = s[name]
  const negative = s[notName]
  if (positive !== undefined && negative !== undefined) throw malformed('Invalid policy syntax.')
  if (positive === undefined && negative === undefined) throw malformed(`Missing required field ${name}`)
  const values = stringList(positive ?? negative)
  if (values === undefined || values.length === 0) throw malformed(name === 'Action' ? 'Policy has invalid action' : 'Policy has invalid resource')
  return { isNegated: positive === undefined, values }
}

function stringList(v: Json): string[] | undefined {
  if (typeof v === 'string') return [v]
  if (Array.isArray(v) && v.every((x): x is string => typeof x === 'string')) return v
  return undefined
}

function checkAction(action: string, kind: PolicyKind): void {
  if (action === '*') return
  if (!/^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$/.test(action)) throw malformed('Policy has invalid action')
  if (kind !== 'bucket') return
  if (!/^s3:/i.test(action) || knownActionsMatching(action).length === 0) throw malformed('Policy has invalid action')
}

/** The S3 actions an Action pattern names (case-insensitive, with * and ?); empty for a typo or another service. */
export function knownActionsMatching(action: string): Array<[string, ResourceKind]> {
  const pattern = compilePattern(action)
  if (pattern === undefined) return []
  return [...S3_ACTIONS].filter(([name]) => matchPattern(pattern, name, { ignoreCase: true }))
}

function checkResource(resource: string, options: ParsePolicyOptions): void {
  if (options.kind !== 'bucket') {
    if (resource === '*' || /^arn:[^:]*:[^:]*:[^:]*:[^:]*:.+$/.test(resource)) return
    throw malformed('Policy has invalid resource')
  }
  const prefix = options.bucketName === undefined ? undefined : `arn:aws:s3:::${options.bucketName}`
  const isInBucket = prefix === undefined
    ? /^arn:aws:s3:::[^*?/]+/.test(resource)
    : resource === prefix || resource.startsWith(`${prefix}/`)
  if (!isInBucket) throw malformed('Policy has invalid resource')
}

/** Bucket policies: each action must apply to some resource kind named (s3:PutObject needs an object ARN). */
function checkActionsApply(actions: readonly string[], resources: readonly string[]): void {
  const kinds = new Set<ResourceKind>(resources.map(r => /^arn:aws:s3:::[^/]+\//.test(r) ? 'object' : 'bucket'))
  for (const action of actions) {
    const known = action === '*' ? [...S3_ACTIONS] : knownActionsMatching(action)
    if (!known.some(([, kind]) => kinds.has(kind))) throw malformed('Action does not apply to any resource(s) in statement')
  }
}

function parsePrincipalElement(s: Record<string, Json>, effect: 'Allow' | 'Deny', kind: PolicyKind): PrincipalList | undefined {
  const positive = s.Principal
  const negative = s.NotPrincipal
  if (kind !== 'bucket') {
    if (positive !== undefined || negative !== undefined) throw malformed('Policy document should not specify a principal.')
    return undefined
  }
  if (positive !== undefined && negative !== undefined) throw malformed('Invalid policy syntax.')
  if (positive === undefined && negative === undefined) throw malformed('Missing required field Principal')
  // NotPrincipal with Allow grants access to everyone else, anonymous included: we accept it only with Deny.
  if (negative !== undefined && effect === 'Allow') throw malformed('NotPrincipal is supported only in statements with "Effect": "Deny"')
  return parsePrincipal(positive ?? negative, positive === undefined)
}

function parsePrincipal(v: Json, isNegated: boolean): PrincipalList {
  const empty = { isNegated, isWildcard: false, aws: [], canonicalUser: [], federated: [], service: [] }
  if (v === '*') return { ...empty, isWildcard: true }
  if (!isObject(v) || Object.keys(v).length === 0) throw malformed('Invalid principal in policy')
  const lists: Record<string, string[]> = {}
  for (const [type, value] of Object.entries(v)) {
    const field = ({ AWS: 'aws', CanonicalUser: 'canonicalUser', Federated: 'federated', Service: 'service' } as Record<string, string>)[type]
    const values = stringList(value)
    if (field === undefined || values === undefined || values.length === 0) throw malformed('Invalid principal in policy')
    lists[field] = values
  }
  const aws = lists.aws ?? []
  for (const name of aws) if (!isValidAwsPrincipal(name)) throw malformed('Invalid principal in policy')
  // AWS's canonical IDs are 64 hex digits; the bridge's are the IDs its ACL XML shows (user names, "uid:<n>").
  for (const id of lists.canonicalUser ?? []) if (!/^([0-9a-f]{64}|[\w+=,.@:-]{1,128})$/i.test(id)) throw malformed('Invalid principal in policy')
  return {
    isNegated,
    isWildcard: aws.includes('*'),
    aws: aws.filter(a => a !== '*'),
    canonicalUser: lists.canonicalUser ?? [],
    federated: lists.federated ?? [],
    service: lists.service ?? [],
  }
}

/** `*`, an IAM/STS ARN without wildcards, an account ID, or a bare user name (as versitygw and MinIO allow). */
function isValidAwsPrincipal(name: string): boolean {
  if (name === '*') return true
  if (name.includes('*') || name.includes('?')) return false
  if (name.startsWith('arn:')) return /^arn:[^:]+:(iam|sts)::[^:]+:(root|user\/.+|role\/.+|assumed-role\/.+|federated-user\/.+)$/.test(name)
  return /^[\w+=,.@-]{1,128}$/.test(name)
}

function parseConditions(v: Json, checkKeys: boolean): PolicyCondition[] {
  if (v === undefined) return []
  if (!isObject(v)) throw malformed('Invalid policy syntax.')
  const conditions: PolicyCondition[] = []
  for (const [operatorName, block] of Object.entries(v)) {
    const operator = parseConditionOperator(operatorName)
    if (operator === undefined) throw malformed('Invalid Condition operator')
    if (!isObject(block) || Object.keys(block).length === 0) throw malformed('Invalid policy syntax.')
    for (const [key, raw] of Object.entries(block)) {
      const values = conditionValues(raw)
      for (const value of values) {
        const problem = checkConditionValue(operator, value)
        if (problem !== undefined) throw malformed(problem)
      }
      const problem = checkKeys ? conditionKeyProblem(key.toLowerCase()) : undefined
      if (problem !== undefined) throw malformed(problem)
      conditions.push({ operatorName, operator, key: conditionKeyName(key), values })
    }
  }
  return conditions
}

/** Condition values may be strings, numbers or booleans, alone or in a list. */
function conditionValues(v: Json): string[] {
  const list = Array.isArray(v) ? v : [v]
  return list.map(x => {
    if (typeof x === 'string') return x
    if (typeof x === 'number' || typeof x === 'boolean') return String(x)
    throw malformed('Invalid policy syntax.')
  })
}
