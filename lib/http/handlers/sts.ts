// STS over the query API: AssumeRole and GetSessionToken mint sessions for the calling user; GetCallerIdentity.
import { ACCOUNT_ID, requestPrincipal } from '../../access/authorize.js'
import { identityPolicies, namedPolicy } from '../../access/policy-cache.js'
import { MAX_SESSION_POLICY_BYTES, parsePolicy } from '../../access/policy-document.js'
import { combine, evaluatePolicy } from '../../access/policy.js'
import { findKey } from '../../auth/credential-store.js'
import { newSecret } from '../../auth/keys.js'
import { newSessionAccessKeyId, sealSession, sessionKey } from '../../auth/sessions.js'
import { S3Error } from '../../errors/s3-error.js'
import { conditionKeys } from '../authorize.js'
import type { QueryAction, QueryActions } from '../query-api.js'
import type { S3Request, Services } from '../types.js'
import type { XmlNode } from '../xml/render.js'

export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/'

/** AWS's bounds: AssumeRole up to a role's 12 h maximum, GetSessionToken up to 36 h (default 12 h). */
const ASSUME_ROLE_SECONDS = { min: 900, max: 43_200, default: 3600 }
const SESSION_TOKEN_SECONDS = { min: 900, max: 129_600, default: 43_200 }

function validation (message: string): S3Error {
  return new S3Error('ValidationError', {}, { message: `1 validation error detected: ${message}` })
}

export const OLD_SECRET_MESSAGE = 'This access key was rotated: its previous secret still signs requests for a while, but not ones that make or change credentials. Sign with the current secret.'

/** Sessions are minted only from a user's long-term key: not anonymously, not from a session or service account. */
function requireLongTermKey (req: S3Request, s: Services): { user: string, accessKeyId: string, secretCreatedAt: string } {
  const p = req.principal
  if (p.kind !== 'user' || p.accessKeyId === undefined || req.auth === null) {
    throw new S3Error('AccessDenied', {}, { message: 'STS calls must be signed with a user\'s access key.' })
  }
  const key = findKey(s.state.snapshot(), p.accessKeyId)?.key
  if (req.auth.securityToken !== undefined || key === undefined) {
    throw new S3Error('AccessDenied', {}, { message: 'Temporary credentials and service accounts cannot request session credentials.' })
  }
  // The previous secret lives on after a rotation only so that clients can switch over: a session minted with it
  // would outlive its window, and rotating a leaked secret would not lock its holder out.
  if (req.auth.isOldSecret === true) throw new S3Error('AccessDenied', {}, { message: OLD_SECRET_MESSAGE })
  // The session lives while the secret that signed does (sessions.ts): rotated since it was verified, it is refused.
  if (req.auth.verifiedWith?.(key.secret) !== true) throw new S3Error('InvalidClientTokenId')
  return { user: p.name, accessKeyId: p.accessKeyId, secretCreatedAt: key.createdAt }
}

/** An explicit Deny of the STS action in the user's identity policies refuses it; nothing needs to allow it. */
function requireNotDenied (req: S3Request, s: Services, action: string, resource: string): void {
  const p = req.principal
  const ctx = { action, resource, principal: requestPrincipal(p), keys: conditionKeys(req, s.now()) }
  const verdict = combine(identityPolicies(s.state.snapshot(), p.name).map(pol => evaluatePolicy(pol.doc, ctx, pol.label)))
  if (verdict.decision === 'Deny') throw new S3Error('AccessDenied', {}, { message: `User: ${ctx.principal.arn} is not authorized to perform: ${action} on resource: ${resource} with an explicit deny` })
}

function durationSeconds (params: URLSearchParams, bounds: { min: number, max: number, default: number }): number {
  const raw = params.get('DurationSeconds')
  if (raw === null) return bounds.default
  const n = Number(raw)
  if (!/^\d+$/.test(raw)) throw validation(`Value '${raw}' at 'durationSeconds' failed to satisfy constraint: Member must be an integer`)
  if (n < bounds.min) throw validation(`Value '${raw}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to ${bounds.min}`)
  if (n > bounds.max) throw validation(`Value '${raw}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to ${bounds.max}`)
  return n
}

/** The optional session policy, validated now so that a bad one fails the call rather than every later request. */
function sessionPolicy (params: URLSearchParams): string | undefined {
  const text = params.get('Policy')
  if (text === null || text === '') return undefined
  if (text.length > MAX_SESSION_POLICY_BYTES) {
    throw validation(`Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to ${MAX_SESSION_POLICY_BYTES}`)
  }
  parsePolicy(text, { kind: 'session', maxBytes: MAX_SESSION_POLICY_BYTES, checkConditionKeys: true })
  return text
}

function required (params: URLSearchParams, name: string, field: string, pattern: RegExp, min: number, max: number): string {
  const v = params.get(name)
  if (v === null) throw validation(`Value null at '${field}' failed to satisfy constraint: Member must not be null`)
  if (v.length < min || v.length > max) throw validation(`Value '${v}' at '${field}' failed to satisfy constraint: Member must have length between ${min} and ${max}`)
  if (!pattern.test(v)) throw validation(`Value '${v}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source}`)
  return v
}

function isoSeconds (d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** AWS's managed S3 policies, as the bridge's built-ins that mean the same. */
const AWS_MANAGED: Record<string, string> = { AmazonS3ReadOnlyAccess: 'read-only', AmazonS3FullAccess: 'full-access' }

/**
 * AssumeRole's PolicyArns (up to 10): managed session policies, which can only narrow the session. They name the
 * bridge's policies (`arn:aws:iam::ACCOUNT:policy/NAME`, built-in or made with bridgectl) or AWS's two S3 ones.
 * One the bridge does not have is refused rather than ignored: ignoring it would widen the session. Names are
 * looked up on each request, as AWS evaluates a managed policy's current version: editing the policy changes the
 * sessions that name it, and one deleted since grants nothing.
 */
function policyArns (params: URLSearchParams, s: Services): string[] | undefined {
  const names: string[] = []
  for (let n = 1; params.has(`PolicyArns.member.${n}.arn`); n++) {
    const arn = params.get(`PolicyArns.member.${n}.arn`) ?? ''
    if (n > 10) throw validation(`Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10`)
    const m = /^arn:aws:iam::([^:]*):policy\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/.exec(arn)
    // The bridge's account (every bridge user's) or AWS's managed ones; another account's policy is not here.
    const name = m === null ? undefined : m[1] === 'aws' ? AWS_MANAGED[m[2] as string] : m[1] === ACCOUNT_ID ? m[2] : undefined
    if (name === undefined || namedPolicy(s.state.snapshot(), name) === undefined) {
      throw new S3Error('ValidationError', {}, { message: `Policy ${arn} does not exist or is not attachable: name a bridge policy (arn:aws:iam::${ACCOUNT_ID}:policy/NAME), AmazonS3ReadOnlyAccess or AmazonS3FullAccess.` })
    }
    names.push(name)
  }
  return names.length === 0 ? undefined : names
}

function issue (s: Services, caller: { user: string, accessKeyId: string, secretCreatedAt: string }, seconds: number, policy: string | undefined, policyNames?: string[]): XmlNode {
  const now = s.now()
  const expiresAt = new Date(now.getTime() + seconds * 1000)
  const accessKeyId = newSessionAccessKeyId()
  const secretAccessKey = newSecret()
  const token = sealSession({
    user: caller.user,
    parentAccessKeyId: caller.accessKeyId,
    accessKeyId,
    secretAccessKey,
    issuedAt: now,
    expiresAt,
    ...(policy === undefined ? {} : { policy }),
    ...(policyNames === undefined ? {} : { policyNames }),
    parentSecretCreatedAt: caller.secretCreatedAt,
  }, sessionKey(s.state.dir))
  return { AccessKeyId: accessKeyId, SecretAccessKey: secretAccessKey, SessionToken: token, Expiration: isoSeconds(expiresAt) }
}

/** Roles are not objects here: any role ARN is accepted and the session acts as the calling user (as MinIO does). */
const assumeRole: QueryAction = {
  namespace: STS_NAMESPACE,
  async handle (params, req, s) {
    const caller = requireLongTermKey(req, s)
    const roleArn = required(params, 'RoleArn', 'roleArn', /^arn:aws:iam::[^:]*:role\/[\w+=,.@/-]+$/, 20, 2048)
    const sessionName = required(params, 'RoleSessionName', 'roleSessionName', /^[\w+=,.@-]*$/, 2, 64)
    const seconds = durationSeconds(params, ASSUME_ROLE_SECONDS)
    const policy = sessionPolicy(params)
    const names = policyArns(params, s)
    requireNotDenied(req, s, 'sts:AssumeRole', roleArn)
    const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1)
    return {
      Credentials: issue(s, caller, seconds, policy, names),
      AssumedRoleUser: {
        AssumedRoleId: `${caller.user}:${sessionName}`,
        Arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${roleName}/${sessionName}`,
      },
    }
  },
}

const getSessionToken: QueryAction = {
  namespace: STS_NAMESPACE,
  async handle (params, req, s) {
    const caller = requireLongTermKey(req, s)
    const seconds = durationSeconds(params, SESSION_TOKEN_SECONDS)
    const policy = sessionPolicy(params)
    requireNotDenied(req, s, 'sts:GetSessionToken', '*')
    return { Credentials: issue(s, caller, seconds, policy) }
  },
}

/** Tools call it to test credentials; sessions and service accounts answer as their user. */
const getCallerIdentity: QueryAction = {
  namespace: STS_NAMESPACE,
  async handle (_params, req) {
    const p = req.principal
    if (p.kind !== 'user') throw new S3Error('AccessDenied', {}, { message: 'GetCallerIdentity must be signed.' })
    const who = requestPrincipal(p)
    return { Arn: who.arn, UserId: p.name, Account: ACCOUNT_ID }
  },
}

export const STS_ACTIONS: QueryActions = { AssumeRole: assumeRole, GetSessionToken: getSessionToken, GetCallerIdentity: getCallerIdentity }
