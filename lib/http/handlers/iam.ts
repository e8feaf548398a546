// IAM self-service over the query API: a user manages its own access keys (admins may name another user).
import { newAccessKey } from '../../auth/keys.js'
import { ACCOUNT_ID, requestPrincipal } from '../../access/authorize.js'
import { evaluatePolicy } from '../../access/policy.js'
import { identityPolicies } from '../../access/policy-cache.js'
import { findKey, secretsFor } from '../../auth/credential-store.js'
import { conditionKeys } from '../authorize.js'
import { S3Error } from '../../errors/s3-error.js'
import type { AccessKeyRecord, State, UserRecord } from '../../state/types.js'
import type { QueryAction, QueryActions } from '../query-api.js'
import type { S3Request } from '../types.js'
import { OLD_SECRET_MESSAGE } from './sts.js'

export const IAM_NAMESPACE = 'https://iam.amazonaws.com/doc/2010-05-08/'
/** AWS's quota: two access keys per user. */
const MAX_KEYS_PER_USER = 2

/**
 * The user the call is about: UserName when given (admins only, unless it is the caller), else the caller.
 * Keys are managed only with a user's own long-term key: a session or a service account, whose policy may only
 * narrow the user's rights, must not mint, list, change or remove the user's keys (as STS refuses them sessions).
 * An explicit Deny of iam:<action> in the caller's identity policies holds too.
 */
function targetUser (params: URLSearchParams, req: S3Request, state: State, action: string): UserRecord {
  const p = req.principal
  if (p.kind !== 'user') throw new S3Error('AccessDenied', {}, { message: 'IAM calls must be signed.' })
  const caller = `arn:aws:iam::${ACCOUNT_ID}:user/${p.name}`
  if (req.auth?.securityToken !== undefined || p.accessKeyId === undefined || !findKey(state, p.accessKeyId)) {
    throw new S3Error('AccessDenied', {}, { message: `User: ${caller} is not authorized to perform: iam:${action} with temporary credentials or a service account key` })
  }
  // A key minted with a rotated-out secret would outlive the secret's window (as an STS session would).
  if (req.auth?.isOldSecret === true) throw new S3Error('AccessDenied', {}, { message: OLD_SECRET_MESSAGE })
  // The caller's key as `state` has it (the fresh state, inside a mutate): still active, its user enabled, and its
  // current secret the one that signed. A daemon a poll behind let a disabled key re-enable itself (review 29).
  const current = secretsFor(state, p.accessKeyId, new Date())?.[0]
  if (current === undefined || req.auth?.verifiedWith?.(current) !== true) throw new S3Error('InvalidClientTokenId')
  const name = params.get('UserName') ?? p.name
  if (name !== p.name && state.users[p.name]?.role !== 'admin') { // the role as `state` has it (a demoted admin)
    throw new S3Error('AccessDenied', {}, { message: `User: ${caller} is not authorized to perform this action on user ${name}` })
  }
  const ctx = { action: `iam:${action}`, resource: userArn(name), principal: requestPrincipal(p), keys: conditionKeys(req, new Date()) }
  for (const policy of identityPolicies(state, p.name)) {
    if (evaluatePolicy(policy.doc, ctx, policy.label).decision === 'Deny') {
      throw new S3Error('AccessDenied', {}, { message: `User: ${caller} is not authorized to perform: iam:${action} on resource: ${userArn(name)} with an explicit deny in an identity-based policy` })
    }
  }
  const user = state.users[name]
  if (!user) throw new S3Error('NoSuchEntity', {}, { message: `The user with name ${name} cannot be found.` })
  return user
}

const userArn = (name: string): string => `arn:aws:iam::${ACCOUNT_ID}:user/${name}`

function keyOf (user: UserRecord, id: string | null): AccessKeyRecord {
  const key = user.keys.find(k => k.accessKeyId === id)
  if (!key) throw new S3Error('NoSuchEntity', {}, { message: `The Access Key with id ${id ?? ''} cannot be found.` })
  return key
}

const createAccessKey: QueryAction = {
  namespace: IAM_NAMESPACE,
  async handle (params, req, s) {
    const name = targetUser(params, req, s.state.snapshot(), 'CreateAccessKey').name
    // A key the admin gave an expiry date mints keys that expire with it (no later), or the date would mean nothing.
    const signer = findKey(s.state.snapshot(), (req.principal as { accessKeyId: string }).accessKeyId)?.key
    const key = newAccessKey(s.now(), signer?.expiresAt === undefined ? undefined : new Date(signer.expiresAt))
    await s.state.mutate(state => {
      const user = targetUser(params, req, state, 'CreateAccessKey')
      if (user.keys.length >= MAX_KEYS_PER_USER) throw new S3Error('LimitExceeded', {}, { message: `Cannot exceed quota for AccessKeysPerUser: ${MAX_KEYS_PER_USER}` })
      user.keys.push(key)
    })
    return { AccessKey: { UserName: name, AccessKeyId: key.accessKeyId, Status: key.status, SecretAccessKey: key.secret, CreateDate: new Date(key.createdAt) } }
  },
}

const listAccessKeys: QueryAction = {
  namespace: IAM_NAMESPACE,
  async handle (params, req, s) {
    const user = targetUser(params, req, s.state.snapshot(), 'ListAccessKeys')
    return {
      UserName: user.name,
      AccessKeyMetadata: { member: user.keys.map(k => ({ UserName: user.name, AccessKeyId: k.accessKeyId, Status: k.status, CreateDate: new Date(k.createdAt) })) },
      IsTruncated: false,
    }
  },
}

const updateAccessKey: QueryAction = {
  namespace: IAM_NAMESPACE,
  async handle (params, req, s) {
    const status = params.get('Status')
    if (status !== 'Active' && status !== 'Inactive') {
      throw new S3Error('ValidationError', {}, { message: `1 validation error detected: Value '${status ?? ''}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]` })
    }
    await s.state.mutate(state => { keyOf(targetUser(params, req, state, 'UpdateAccessKey'), params.get('AccessKeyId')).status = status })
    return null
  },
}

const deleteAccessKey: QueryAction = {
  namespace: IAM_NAMESPACE,
  async handle (params, req, s) {
    await s.state.mutate(state => {
      const user = targetUser(params, req, state, 'DeleteAccessKey')
      const key = keyOf(user, params.get('AccessKeyId'))
      user.keys = user.keys.filter(k => k !== key)
    })
    return null
  },
}

const getUser: QueryAction = {
  namespace: IAM_NAMESPACE,
  async handle (params, req, s) {
    const user = targetUser(params, req, s.state.snapshot(), 'GetUser')
    return { User: { Path: '/', UserName: user.name, UserId: user.name, Arn: userArn(user.name), CreateDate: new Date(user.createdAt) } }
  },
}

export const IAM_ACTIONS: QueryActions = {
  CreateAccessKey: createAccessKey,
  ListAccessKeys: listAccessKeys,
  UpdateAccessKey: updateAccessKey,
  DeleteAccessKey: deleteAccessKey,
  GetUser: getUser,
}
