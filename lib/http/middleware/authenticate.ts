// Verifies the request's signature (any form) and turns its access key into a Principal.
import { createHash } from 'node:crypto'
import type { Context, Next } from 'koa'
import type { LabelledPolicy } from '../../access/authorize.js'
import { identityPolicyDoc, sessionPolicyDoc } from '../../access/policy-cache.js'
import { authenticate as verifySignature, type Authenticated, type SecretLookup } from '../../auth/authenticate.js'
import { secretsFor, findKey } from '../../auth/credential-store.js'
import { supplementaryGroups } from '../../auth/identity.js'
import { anonymousPrincipal, userPrincipal, type Principal } from '../../auth/principal.js'
import { findServiceAccount, serviceAccountSecrets } from '../../auth/service-accounts.js'
import { resolveSession, sessionKey } from '../../auth/sessions.js'
import { S3Error } from '../../errors/s3-error.js'
import type { UserRecord } from '../../state/types.js'
import { isQueryApiRequest, QUERY_API_SIGNING_SERVICES, queryErrorReply, readFormBody } from '../query-api.js'
import type { Services } from '../types.js'
import { writeReply } from './dispatch.js'
import { continueIfExpected } from '../continue.js'
import type { ResolvedTarget } from './resolve-target.js'

/** Who a verified access key acts as: a user's own key, one of its service accounts, or an STS session of it. */
interface Credential { user: UserRecord, sessionPolicy?: LabelledPolicy, tokenIssuedAt?: Date }

async function principalOf (user: UserRecord, accessKeyId: string, s: Services): Promise<Principal> {
  return userPrincipal(user, await supplementaryGroups(user.uid, user.gid), s.config, accessKeyId)
}

/** A user's key or service account (sessions are resolved from their token before the signature is checked). */
function credentialFor (auth: Authenticated, s: Services): Credential {
  const state = s.state.snapshot()
  const match = findKey(state, auth.accessKeyId)
  if (match) return { user: match.user }
  const service = findServiceAccount(state, auth.accessKeyId)
  if (!service) throw new S3Error('InvalidAccessKeyId', { AWSAccessKeyId: auth.accessKeyId })
  const { policy } = service.account
  return policy === undefined
    ? { user: service.user }
    : { user: service.user, sessionPolicy: { label: `policy of service account ${auth.accessKeyId}`, doc: identityPolicyDoc(policy) } }
}

/**
 * Secrets for a signature check and, once it passed, who the key acts as: a user's key, a service account, or,
 * with a security token, the STS session it names (its secret is the only one tried). Shared by the header/query
 * forms and by POST Object, whose token and signature travel in the form.
 */
export function credentialResolver (s: Services, token: string | undefined, now: Date): { lookup: SecretLookup, resolve: (auth: Authenticated | null) => Promise<SignedPrincipal> } {
  const state = s.state.snapshot()
  let session: Credential | undefined
  const lookup = async (id: string): Promise<string[] | undefined> => {
    if (token === undefined) return secretsFor(state, id, now) ?? serviceAccountSecrets(state, id, now)
    const { claims, user } = resolveSession(state, token, now, sessionKey(s.state.dir))
    if (claims.accessKeyId !== id) throw new S3Error('InvalidToken', {}, { message: 'The security token does not belong to this access key.' })
    const doc = sessionPolicyDoc(state, claims.policy, claims.policyNames)
    session = doc === undefined ? { user, tokenIssuedAt: claims.issuedAt } : { user, sessionPolicy: { label: 'session policy', doc }, tokenIssuedAt: claims.issuedAt }
    return [claims.secretAccessKey]
  }
  const resolve = async (auth: Authenticated | null): Promise<SignedPrincipal> => {
    const credential = auth === null ? undefined : session ?? credentialFor(auth, s)
    if (auth === null || credential === undefined) return { principal: anonymousPrincipal(s.config.anonymousUid, s.config.anonymousGid) }
    return { principal: await principalOf(credential.user, auth.accessKeyId, s), sessionPolicy: credential.sessionPolicy, tokenIssuedAt: credential.tokenIssuedAt }
  }
  return { lookup, resolve }
}

/** The principal of a verified signature, with the policy that narrows it (service account or session), if any. */
export interface SignedPrincipal {
  principal: Principal
  sessionPolicy?: LabelledPolicy
  /** When the STS session the request was signed with was issued (aws:TokenIssueTime); undefined for other keys. */
  tokenIssuedAt?: Date
}

function securityToken (ctx: Context): string | undefined {
  const header = ctx.req.headers['x-amz-security-token']
  if (header !== undefined) return Array.isArray(header) ? header[0] : header
  if (!/security-token/i.test(ctx.querystring)) return undefined // most requests: no query to parse
  const query = new URLSearchParams(ctx.querystring)
  return query.get('X-Amz-Security-Token') ?? query.get('x-amz-security-token') ?? undefined
}

async function authenticateRequest (ctx: Context, s: Services, opts: { services?: readonly string[], bodySha256Hex?: string }): Promise<void> {
  const target = ctx.state.target as ResolvedTarget
  const now = s.now()
  ctx.state.judgedState = s.state.snapshot() // what the caller is judged on (S3Request.judgedState)
  const { lookup, resolve } = credentialResolver(s, securityToken(ctx), now)
  const auth = await verifySignature(
    {
      method: ctx.method,
      rawUrl: ctx.url,
      headers: ctx.req.headers,
      headersDistinct: () => ctx.req.headersDistinct,
      ...(opts.bodySha256Hex === undefined ? {} : { bodySha256Hex: opts.bodySha256Hex }),
      ...(target.isVirtualHost === true && target.bucketName !== undefined ? { virtualHostedBucket: target.bucketName } : {}),
    },
    lookup,
    { now, maxClockSkewMs: s.config.maxClockSkewMs, maxPresignExpirySeconds: 7 * 24 * 3600, ...(opts.services === undefined ? {} : { services: opts.services }) },
  )
  const signed = await resolve(auth)
  ctx.state.auth = auth
  ctx.state.principal = signed.principal
  ctx.state.sessionPolicy = signed.sessionPolicy
  ctx.state.tokenIssuedAt = signed.tokenIssuedAt
  ctx.state.principalName = (ctx.state.principal as Principal).name
}

export function authenticate (s: Services) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const target = ctx.state.target as ResolvedTarget
    if (!isQueryApiRequest(ctx.method, target.target, ctx.req.headers)) {
      await authenticateRequest(ctx, s, {})
      await next()
      return
    }
    // Query-API clients (STS, IAM) sign the body's hash without sending it: read and hash the form first.
    try {
      continueIfExpected(ctx.req, ctx.res) // signed over the body: it must be read before anything can be checked
      const body = await readFormBody(ctx.req)
      ctx.state.formBody = body
      await authenticateRequest(ctx, s, { services: QUERY_API_SIGNING_SERVICES, bodySha256Hex: createHash('sha256').update(body).digest('hex') })
    } catch (err) {
      const reply = queryErrorReply(err, ctx.state.requestId as string, s.log)
      if (err instanceof S3Error) ctx.state.errorCode = err.code
      writeReply(ctx, reply)
      return
    }
    await next()
  }
}
