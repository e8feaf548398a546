// Policy evaluation: which statement of a parsed policy allows or denies one request, and combining verdicts.
import type { PolicyDocument, PolicyStatement, PrincipalList } from './policy-document.js'
import { evaluateCondition, type ConditionKeys, type PolicyCondition } from './policy-conditions.js'
import { conditionKeyName } from './object-tag-keys.js'
import { compilePattern, matchPattern, type VariableResolver } from './policy-patterns.js'

export interface RequestPrincipal {
  arn: string
  username?: string
  userid?: string
  accountId?: string
  /** The canonical ID (the bridge user name, as the ACL XML shows it), matched by `{"CanonicalUser": …}` principals. */
  canonicalId?: string
  type: 'User' | 'AssumedRole' | 'Anonymous' | 'FederatedUser'
}

export interface RequestContext {
  /** The IAM action, e.g. 's3:GetObject'. */
  action: string
  /** 'arn:aws:s3:::bucket/key', 'arn:aws:s3:::bucket', or '*' for service-level actions. */
  resource: string
  /** An anonymous principal matches only "*" principals. */
  principal: RequestPrincipal
  /** Condition keys by lower-case name, e.g. 'aws:sourceip', 's3:prefix'. */
  keys: Record<string, string | string[] | undefined>
}

export type Decision = 'Allow' | 'Deny' | 'NotApplicable'

/** The decision and, for Allow and Deny, the statement that made it (for `bridgectl access explain`). */
export interface PolicyVerdict {
  decision: Decision
  statement?: { policy: string; sid?: string; index: number }
}

const NOT_APPLICABLE: PolicyVerdict = { decision: 'NotApplicable' }

/** Evaluates one policy: the first matching Deny wins, else the first matching Allow, else NotApplicable. */
export function evaluatePolicy(doc: PolicyDocument, ctx: RequestContext, label: string): PolicyVerdict {
  const keys = contextKeys(ctx)
  const resolve = doc.version === '2012-10-17' ? variableResolver(keys) : undefined
  let allow: PolicyVerdict | undefined
  for (const [index, statement] of doc.statements.entries()) {
    if (!statementMatches(statement, ctx, keys, resolve)) continue
    const which = statement.sid === undefined ? { policy: label, index } : { policy: label, sid: statement.sid, index }
    if (statement.effect === 'Deny') return { decision: 'Deny', statement: which }
    allow ??= { decision: 'Allow', statement: which }
  }
  return allow ?? NOT_APPLICABLE
}

/** Explicit Deny anywhere wins, else any Allow, else NotApplicable. */
export function combine(verdicts: readonly PolicyVerdict[]): PolicyVerdict {
  return verdicts.find(v => v.decision === 'Deny') ?? verdicts.find(v => v.decision === 'Allow') ?? NOT_APPLICABLE
}

function statementMatches(s: PolicyStatement, ctx: RequestContext, keys: ConditionKeys, resolve: VariableResolver | undefined): boolean {
  return (s.principal === undefined || principalMatches(s.principal, ctx.principal))
    && actionMatches(s, ctx.action)
    && resourceMatches(s, ctx.resource, resolve)
    && s.conditions.every(c => evaluateCondition(c, keys, resolve))
}

function actionMatches(s: PolicyStatement, action: string): boolean {
  const isListed = s.actions.values.some(p => {
    const pattern = compilePattern(p)
    return pattern !== undefined && matchPattern(pattern, action, { ignoreCase: true })
  })
  return isListed !== s.actions.isNegated
}

function resourceMatches(s: PolicyStatement, resource: string, resolve: VariableResolver | undefined): boolean {
  // Service-level actions (ListAllMyBuckets) are granted by "*" and by "arn:aws:s3:::*".
  const target = resource === '*' ? 'arn:aws:s3:::*' : resource
  const isListed = s.resources.values.some(p => {
    const pattern = compilePattern(p, resolve)
    return pattern !== undefined && matchPattern(pattern, target)
  })
  return isListed !== s.resources.isNegated
}

function principalMatches(list: PrincipalList, principal: RequestPrincipal): boolean {
  return principalListed(list, principal) !== list.isNegated
}

function principalListed(list: PrincipalList, principal: RequestPrincipal): boolean {
  if (list.isWildcard) return true
  if (principal.type === 'Anonymous') return false
  const canonical = principal.canonicalId
  // Hex canonical IDs compare without case; user names (the bridge's IDs) exactly.
  if (canonical !== undefined && list.canonicalUser.some(id => id === canonical || (/^[0-9a-f]{64}$/i.test(id) && id.toLowerCase() === canonical.toLowerCase()))) return true
  return list.aws.some(name => awsPrincipalNames(name, principal))
}

/** An ARN names exactly that principal; `arn:…:root` or a bare account ID names the account; else a bare user name. */
function awsPrincipalNames(name: string, principal: RequestPrincipal): boolean {
  if (name === principal.arn) return true
  const root = /^arn:[^:]+:iam::([^:]+):root$/.exec(name)
  if (root !== null) return principal.accountId !== undefined && root[1] === principal.accountId
  if (name.startsWith('arn:')) return false
  return name === principal.accountId || name === principal.username
}

/** The request's condition keys plus the principal keys of the AWS principal-key table. */
function contextKeys(ctx: RequestContext): ConditionKeys {
  const p = ctx.principal
  const isAnonymous = p.type === 'Anonymous'
  const derived: Record<string, string | undefined> = {
    'aws:username': isAnonymous ? undefined : p.username,
    'aws:userid': isAnonymous ? 'anonymous' : p.userid,
    'aws:principaltype': p.type,
    'aws:principalarn': isAnonymous ? undefined : p.arn,
    'aws:principalaccount': isAnonymous ? undefined : p.accountId,
  }
  const keys: Record<string, string | readonly string[] | undefined> = {}
  for (const [name, value] of Object.entries(ctx.keys)) keys[conditionKeyName(name)] = value // tag keys as written
  // Principal keys come only from the authenticated principal, never from request-supplied keys.
  for (const [name, value] of Object.entries(derived)) keys[name] = value
  return keys
}

/** Policy variables take single-valued keys only; a multi-valued or absent key leaves the variable unresolved. */
function variableResolver(keys: ConditionKeys): VariableResolver {
  return name => {
    const value = keys[name]
    if (typeof value === 'string') return value
    return value?.length === 1 ? value[0] : undefined
  }
}

// Keys whose fixed value makes an Allow to "*" non-public (S3 "The meaning of public").
const RESTRICTING_KEYS = new Set(['aws:sourceip', 'aws:sourcearn', 'aws:sourcevpc', 'aws:sourcevpce', 'aws:sourceowner',
  'aws:sourceaccount', 'aws:userid', 's3:dataaccesspointarn', 's3:dataaccesspointaccount'])

/**
 * GetBucketPolicyStatus IsPublic: some Allow names everyone ("*") without a condition that pins one of
 * the restricting keys to fixed values (no wildcard, no variable; IPv4 ranges no wider than /8, IPv6 /32).
 */
export function isPolicyPublic(doc: PolicyDocument): boolean {
  return doc.statements.some(s => s.effect === 'Allow'
    && s.principal !== undefined && s.principal.isWildcard && !s.principal.isNegated
    && !s.conditions.some(isRestrictingCondition))
}

function isRestrictingCondition(c: PolicyCondition): boolean {
  const { operator } = c
  if (!RESTRICTING_KEYS.has(c.key) || operator.isIfExists || operator.qualifier !== undefined || operator.base.isNegated) return false
  if (c.values.length === 0 || c.values.some(v => /[*?]|\$\{/.test(v))) return false
  if (c.key !== 'aws:sourceip') return operator.base.family === 'string' || operator.base.family === 'arn'
  return operator.base.family === 'ip' && c.values.every(isNarrowCidr)
}

function isNarrowCidr(cidr: string): boolean {
  const [address = '', prefixText] = cidr.split('/')
  const isV6 = address.includes(':')
  const prefix = prefixText === undefined ? (isV6 ? 128 : 32) : Number(prefixText)
  return prefix >= (isV6 ? 32 : 8)
}
