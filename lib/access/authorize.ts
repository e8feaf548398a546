// The permission model: policies, then the bucket ACL, then the filesystem; every layer must allow, any deny ends it.
import type { Principal } from '../auth/principal.js'
import type { BucketPermission, BucketRecord } from '../state/types.js'
import type { PosixAccess, PosixAccessAnswer } from '../storage/posix-access.js'
import { actionFor, resourceArn, SERVICE_RESOURCE } from './actions.js'
import { bucketNeed } from './bucket-permissions.js'
import { bucketPolicyOf } from './policy-cache.js'
import type { PolicyDocument } from './policy-document.js'
import { combine, evaluatePolicy, isPolicyPublic, type PolicyVerdict, type RequestPrincipal } from './policy.js'
import { aclsDisabled, ignoresPublicGrants } from './object-ownership.js'
import { isBlocked, type PublicIds } from './public-access-block.js'

export const ACCOUNT_ID = '000000000000'

export type FsCheck = 'read' | 'write' | 'create' | 'mark' | 'delete' | 'unmark' | 'list'
/** A filesystem check: path is relative to the bucket root ('' is the root). */
export interface FsNeed { check: FsCheck, path: string, bucketRoot: string }

export interface LabelledPolicy { label: string, doc: PolicyDocument }

export interface AccessQuery {
  operation: string
  /** IAM action to evaluate when it differs from the operation's own (a copy source needs s3:GetObject). */
  action?: string
  bucket?: BucketRecord
  /** The bucket a request names that has no record yet (CreateBucket): its ARN is the policies' resource. */
  bucketName?: string
  key?: string
  principal: Principal
  conditionKeys: Record<string, string | string[] | undefined>
  identityPolicies: LabelledPolicy[]
  /** Session or service-account policy: it can only narrow. */
  sessionPolicy?: LabelledPolicy
  fs: FsNeed[]
  /** Group name → gid, for bucket ACEs naming groups. */
  gidOf: (group: string) => number | undefined
  /** Who the public is here (AuthenticatedUsers' gid, the anonymous uid/gid), for the public access block. */
  publicIds: PublicIds
  /**
   * The filesystem layer for a bucket root. `ignorePublic`: the bucket's IgnorePublicAcls is on and no policy allows
   * the request, so what the object's file grants the public must not count (lib/storage/posix-access.ts).
   */
  posix: (bucketRoot: string, opts?: { ignorePublic?: IgnorePublic }) => PosixAccess
}

export interface IgnorePublic { readonly isAnonymous: boolean, readonly ids: PublicIds }

/** Get/Put/DeleteBucketPolicy: the calls AWS keeps to the owner's account (and open to its root user). */
export function isBucketPolicyCall (operation: string): boolean {
  return /BucketPolicy$/.test(operation)
}

export interface LayerVerdict { layer: 'policy' | 'bucket-acl' | 'filesystem', verdict: 'allow' | 'deny' | 'n/a', reason: string }

export interface AccessDecision {
  allowed: boolean
  /** The filesystem denial was because the path does not exist. */
  isMissing: boolean
  /** The filesystem denial was because a folder or file is in the way of the path (PutObject of "a" over folder "a"). */
  isConflict?: boolean
  /**
   * A policy allowed an ownership call to a caller outside the owner's account (anonymous): the bucket's policy calls
   * answer 405 MethodNotAllowed then, as AWS documents.
   */
  isOtherAccount?: boolean
  layers: LayerVerdict[]
}

export function requestPrincipal (p: Principal): RequestPrincipal {
  if (p.kind === 'anonymous') return { arn: '*', type: 'Anonymous' }
  // The canonical ID is the user name: what ListBuckets' Owner and the ACL XML show as <ID>.
  return { arn: `arn:aws:iam::${ACCOUNT_ID}:user/${p.name}`, username: p.name, userid: p.name, accountId: ACCOUNT_ID, canonicalId: p.name, type: 'User' }
}

/** Bucket ACL grants held by a principal: the owner has FULL_CONTROL; ACEs by user, group or well-known group. */
export function bucketGrants (record: BucketRecord, p: Principal, gidOf: (g: string) => number | undefined, opts: { wellKnown?: boolean, ignoreGids?: readonly (number | null)[] } = {}): Set<BucketPermission> {
  const out = new Set<BucketPermission>()
  if (p.kind === 'user' && record.owner === p.name) out.add('FULL_CONTROL')
  for (const ace of record.acl) {
    let applies = false
    if (ace.type === 'user') applies = p.kind === 'user' && ace.name === p.name
    else if (ace.type === 'wellknown') applies = opts.wellKnown !== false && (ace.name === 'everyone' || (ace.name === 'authenticated' && p.kind === 'user'))
    else if (p.kind === 'user') {
      const gid = /^\d+$/.test(ace.name) ? Number(ace.name) : gidOf(ace.name)
      applies = gid !== undefined && p.groups.includes(gid) && opts.ignoreGids?.includes(gid) !== true
    }
    if (applies) out.add(ace.permission)
  }
  return out
}

function policyLayer (q: AccessQuery): { verdict: PolicyVerdict, layer: LayerVerdict } {
  const access = actionFor(q.operation)
  const action = q.action ?? access.action
  const bucketName = q.bucket?.name ?? q.bucketName
  const resource = access.resource === 'service' || bucketName === undefined ? SERVICE_RESOURCE : resourceArn(bucketName, access.resource === 'object' ? q.key : undefined)
  const ctx = { action, resource, principal: requestPrincipal(q.principal), keys: q.conditionKeys }
  const verdicts: PolicyVerdict[] = []
  if (q.principal.kind === 'user') for (const p of q.identityPolicies) verdicts.push(evaluatePolicy(p.doc, ctx, p.label))
  let restricted = ''
  const doc = q.bucket === undefined ? undefined : bucketPolicyOf(q.bucket)
  if (q.bucket !== undefined && doc !== undefined) {
    let bucketVerdict = evaluatePolicy(doc, ctx, `bucket policy of ${q.bucket.name}`)
    // RestrictPublicBuckets: a public bucket policy grants nothing outside the owner's account (every bridge user is
    // in it; anonymous callers are not). Its Deny still applies.
    if (bucketVerdict.decision === 'Allow' && q.principal.kind === 'anonymous' && isBlocked(q.bucket.publicAccessBlock, 'restrictPublicBuckets') && isPolicyPublic(doc)) {
      bucketVerdict = { decision: 'NotApplicable' }
      restricted = '; the bucket policy is public and the bucket restricts public buckets (RestrictPublicBuckets): its Allow does not count for anonymous callers'
    }
    verdicts.push(bucketVerdict)
  }
  let verdict = combine(verdicts)
  if (q.sessionPolicy && verdict.decision !== 'Deny') {
    const narrowed = evaluatePolicy(q.sessionPolicy.doc, ctx, q.sessionPolicy.label)
    if (narrowed.decision !== 'Allow') verdict = { decision: 'Deny', statement: narrowed.statement ?? { policy: q.sessionPolicy.label, index: -1 } }
  }
  const where = verdict.statement ? ` (${verdict.statement.policy}${verdict.statement.sid ? `, Sid ${verdict.statement.sid}` : ''}, statement ${verdict.statement.index})` : ''
  const reason = (verdict.decision === 'NotApplicable' ? `no policy statement applies to ${action} on ${resource}` : `${verdict.decision} ${action} on ${resource}${where}`) + restricted
  return { verdict, layer: { layer: 'policy', verdict: verdict.decision === 'Allow' ? 'allow' : verdict.decision === 'Deny' ? 'deny' : 'n/a', reason } }
}

const OWNERSHIP_CALLS = new Set(['PutBucketOwnershipControls', 'DeleteBucketOwnershipControls'])

function aclLayer (q: AccessQuery, policyAllows: boolean): LayerVerdict & { isOtherAccount?: true } {
  const need = bucketNeed(q.operation)
  if (need === null || !q.bucket) return { layer: 'bucket-acl', verdict: 'n/a', reason: `${q.operation} is decided by the file, not the bucket ACL` }
  if (q.principal.kind === 'user' && q.principal.role === 'admin') return { layer: 'bucket-acl', verdict: 'allow', reason: `${q.principal.name} has the admin role` }
  // IgnorePublicAcls: the bucket's AllUsers and AuthenticatedUsers grants count for nothing, however they name them.
  const ignorePublic = isBlocked(q.bucket.publicAccessBlock, 'ignorePublicAcls')
  // BucketOwnerEnforced: ACLs no longer grant anything; the owner's own rights stay.
  const aclOf = aclsDisabled(q.bucket) ? { ...q.bucket, acl: [] } : q.bucket
  const grants = bucketGrants(aclOf, q.principal, q.gidOf, ignorePublic ? { wellKnown: false, ignoreGids: [q.publicIds.authenticatedUsersGid, q.publicIds.anonymousGid] } : {})
  const isOwner = q.principal.kind === 'user' && q.bucket.owner === q.principal.name
  const granted = need === 'owner' ? isOwner : grants.has('FULL_CONTROL') || grants.has(need)
  const what = need === 'owner' ? 'bucket ownership' : need
  if (granted) return { layer: 'bucket-acl', verdict: 'allow', reason: `${q.principal.name} holds ${isOwner ? 'FULL_CONTROL as owner' : what} on bucket ${q.bucket.name}` }
  // A policy stands in for ownership only within the owner's account (every bridge user) where ownership is what
  // guards the bucket: on AWS no grant lets another account, let alone an anonymous caller, touch a bucket's
  // policy, and a `"*"` upload policy (s3:Put*) must not hand strangers the bucket's policy, its configuration
  // (PutBucketCors, PutBucketTagging, ...) or its deletion. Reading a configuration a policy opens to all stays open.
  // Nor for rewriting the bucket ACL (WRITE_ACP): an anonymous PutBucketAcl granting AllUsers FULL_CONTROL would
  // outlive the policy that let it through (review 19).
  const isOwnersOnly = need === 'WRITE_ACP' || (need === 'owner' && (isBucketPolicyCall(q.operation) || q.operation === 'DeleteBucket' || /^(Put|Delete)/.test(q.operation)))
  if (policyAllows && isOwnersOnly && q.principal.kind === 'anonymous') {
    return { layer: 'bucket-acl', verdict: 'deny', reason: `a policy allows it, but anonymous callers are outside the owner's account: ${what} is needed`, isOtherAccount: true }
  }
  // Object Ownership decides whose uid other users' uploads get: on AWS the owner is an account, here it is a Unix
  // user, and no policy may let one user have files made in another's name (review 26). The owner or an admin only.
  if (policyAllows && OWNERSHIP_CALLS.has(q.operation)) {
    return { layer: 'bucket-acl', verdict: 'deny', reason: `a policy allows it, but only the bucket's owner (or an admin) may change whose files uploads make: ${what} is needed` }
  }
  if (policyAllows) return { layer: 'bucket-acl', verdict: 'n/a', reason: `no ${what} grant for ${q.principal.name}, but a policy allows` }
  const ignored = ignorePublic && q.bucket.acl.some(ace => ace.type === 'wellknown') ? ' (its public grants are ignored: IgnorePublicAcls)' : ''
  return { layer: 'bucket-acl', verdict: 'deny', reason: `no ${what} grant for ${q.principal.name} on bucket ${q.bucket.name}${ignored}, and no policy allows ${q.action ?? actionFor(q.operation).action}` }
}

async function fsAnswer (q: AccessQuery, need: FsNeed, policyAllows: boolean): Promise<PosixAccessAnswer> {
  // IgnorePublicAcls takes away what the public part of an object's ACL grants, not what a policy grants (AWS: the
  // setting does not affect policies; an admin reads through its role as an AWS administrator through its policy),
  // so such a request is judged by the file as it is. It applies to the object itself: a file read or written, or
  // the folder a folder key ("k/") names; never to the folders on the way, nor to a listing's folder.
  const isAdmin = q.principal.kind === 'user' && q.principal.role === 'admin'
  const isObject = need.check === 'read' || need.check === 'write' || (need.check === 'list' && q.key !== undefined && q.key.endsWith('/') && need.path !== '')
  // BucketOwnerEnforced: the bucket owner owns every object (AWS), so what the file grants everyone still reaches it;
  // IgnorePublicAcls alone keeps judging the owner like anyone else.
  const isBucketOwner = q.principal.kind === 'user' && q.bucket !== undefined && q.bucket.owner === q.principal.name
  const ignoresHere = q.bucket !== undefined && (isBlocked(q.bucket.publicAccessBlock, 'ignorePublicAcls') || (ignoresPublicGrants(q.bucket) && !isBucketOwner))
  const ignores = !policyAllows && !isAdmin && isObject && ignoresHere
  const posix = q.posix(need.bucketRoot, ignores ? { ignorePublic: { isAnonymous: q.principal.kind === 'anonymous', ids: q.publicIds } } : undefined)
  switch (need.check) {
    case 'read': return posix.canRead(need.path)
    case 'write': return posix.canWrite(need.path)
    case 'create': return posix.canCreate(need.path)
    case 'mark': return posix.canMark(need.path)
    case 'delete': return posix.canDelete(need.path)
    case 'unmark': return posix.canUnmark(need.path)
    case 'list': return posix.canList(need.path)
  }
}

export async function authorize (q: AccessQuery): Promise<AccessDecision> {
  const layers: LayerVerdict[] = []
  const policy = policyLayer(q)
  layers.push(policy.layer)
  // Get/Put/DeleteBucketPolicy stay open to admins and to the bucket's owner (with its own long-term keys, not a
  // narrowed session) whatever the policies say, as AWS keeps them open to the owning account's root user "to
  // ensure that bucket owners don't inadvertently lock themselves out" (API_PutBucketPolicy).
  const isPolicyCall = isBucketPolicyCall(q.operation)
  // Neither escape is open to a session or service account whose policy narrows the user: that policy is what the
  // user handed a tool, and an admin's narrowed key rewrote every bucket's policy through this door.
  const isLongTerm = q.sessionPolicy === undefined
  const isOwnerOfBucket = q.principal.kind === 'user' && q.bucket !== undefined && q.bucket.owner === q.principal.name
  const isAdminPolicyEscape = isPolicyCall && isLongTerm && q.principal.kind === 'user' && (q.principal.role === 'admin' || isOwnerOfBucket)
  if (policy.verdict.decision === 'Deny' && !isAdminPolicyEscape) return { allowed: false, isMissing: false, layers }
  const { isOtherAccount, ...acl } = aclLayer(q, policy.verdict.decision === 'Allow')
  layers.push(acl)
  if (acl.verdict === 'deny') return { allowed: false, isMissing: false, isOtherAccount, layers }
  for (const need of q.fs) {
    const answer = await fsAnswer(q, need, policy.verdict.decision === 'Allow')
    layers.push({ layer: 'filesystem', verdict: answer.allowed ? 'allow' : 'deny', reason: `${need.check} ${need.path || '(bucket root)'}: ${answer.layer}` })
    if (!answer.allowed) return { allowed: false, isMissing: answer.isMissing, isConflict: answer.isConflict === true, layers }
  }
  return { allowed: true, isMissing: false, layers }
}
