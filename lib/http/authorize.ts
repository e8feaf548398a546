// The HTTP side of the permission model: builds the access query from a request and turns a denial into AccessDenied.
import { ACCOUNT_ID, authorize, isBucketPolicyCall, type AccessDecision, type FsNeed, type LabelledPolicy } from '../access/authorize.js'
import { requestTagKeys, tagKeyUse } from '../access/object-tag-keys.js'
import { bucketPolicyOf, identityPolicies } from '../access/policy-cache.js'
import type { PolicyDocument } from '../access/policy-document.js'
import { publicIdsOf } from '../access/public-access-block.js'
import { keyConflictError, S3Error } from '../errors/s3-error.js'
import type { BucketRecord } from '../state/types.js'
import { existingTagConditions } from '../storage/object-tags.js'
import { posixLayerFor } from '../storage/posix-access.js'
import type { ObjectKey, ObjectTag } from '../storage/types.js'
import type { PrefetchedWalk } from '../storage/path-walk.js'
import { gidOfGroup } from '../auth/groups.js'
import { tagsFromHeader } from './tagging.js'
import type { S3Request, Services } from './types.js'

export { gidOfGroup as gidOf } from '../auth/groups.js'

const PREFIXED_LISTINGS = new Set(['ListObjects', 'ListObjectsV2', 'ListObjectVersions', 'ListMultipartUploads'])

function header (req: S3Request, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

/**
 * s3:ObjectCreationOperation (S3 user guide, "Enforce conditional writes"): true for the operations that publish an
 * object and take If-Match / If-None-Match, false for the multipart steps that need s3:PutObject but cannot carry
 * them, so that a policy demanding s3:if-none-match can exempt those.
 */
const OBJECT_CREATION: Record<string, string> = {
  PutObject: 'true', CopyObject: 'true', CompleteMultipartUpload: 'true', PostObject: 'true',
  CreateMultipartUpload: 'false', UploadPart: 'false', UploadPartCopy: 'false',
}

/** Policy condition keys for this request (lower-case names); operation is the one being authorized. */
export function conditionKeys (req: S3Request, now: Date, operation?: string): Record<string, string | string[] | undefined> {
  const auth = req.auth
  return {
    'aws:sourceip': req.sourceIp.replace(/^::ffff:/, ''),
    'aws:securetransport': String(req.isSecure),
    'aws:currenttime': now.toISOString(),
    'aws:epochtime': String(Math.floor(now.getTime() / 1000)),
    'aws:referer': header(req, 'referer'),
    'aws:useragent': header(req, 'user-agent'),
    // A listing without a prefix lists from "" (AWS's home-folder example allows `"s3:prefix": ["", "home/"]`).
    's3:prefix': req.query.get('prefix') ?? (operation !== undefined && PREFIXED_LISTINGS.has(operation) ? '' : undefined),
    's3:delimiter': req.query.get('delimiter') ?? undefined,
    's3:max-keys': req.query.get('max-keys') ?? undefined,
    's3:x-amz-acl': header(req, 'x-amz-acl'),
    's3:x-amz-content-sha256': header(req, 'x-amz-content-sha256'),
    's3:signatureversion': auth ? auth.signatureVersion : undefined,
    's3:authtype': auth ? auth.authType : undefined,
    's3:signatureage': auth ? String(Math.max(0, now.getTime() - auth.signedAt.getTime())) : undefined,
    's3:x-amz-copy-source': header(req, 'x-amz-copy-source'),
    's3:x-amz-metadata-directive': header(req, 'x-amz-metadata-directive'),
    's3:if-match': header(req, 'if-match'),
    's3:if-none-match': header(req, 'if-none-match'),
    's3:objectcreationoperation': operation === undefined ? undefined : OBJECT_CREATION[operation],
    's3:x-amz-grant-read': header(req, 'x-amz-grant-read'),
    's3:x-amz-grant-write': header(req, 'x-amz-grant-write'),
    's3:x-amz-grant-read-acp': header(req, 'x-amz-grant-read-acp'),
    's3:x-amz-grant-write-acp': header(req, 'x-amz-grant-write-acp'),
    's3:x-amz-grant-full-control': header(req, 'x-amz-grant-full-control'),
    's3:x-amz-storage-class': header(req, 'x-amz-storage-class'),
    's3:x-amz-server-side-encryption': header(req, 'x-amz-server-side-encryption'),
    's3:x-amz-server-side-encryption-aws-kms-key-id': header(req, 'x-amz-server-side-encryption-aws-kms-key-id'),
    's3:x-amz-server-side-encryption-customer-algorithm': header(req, 'x-amz-server-side-encryption-customer-algorithm'),
    's3:x-amz-website-redirect-location': header(req, 'x-amz-website-redirect-location'),
    's3:x-amz-object-ownership': header(req, 'x-amz-object-ownership'),
    's3:versionid': req.query.get('versionId') ?? undefined,
    's3:resourceaccount': ACCOUNT_ID,
    'aws:resourceaccount': ACCOUNT_ID,
    'aws:requestedregion': auth?.region,
    'aws:principalisawsservice': 'false',
    'aws:viaawsservice': 'false',
    's3:tlsversion': req.tlsVersion,
    'aws:tokenissuetime': req.tokenIssuedAt?.toISOString(),
  }
}

export interface AccessNeeds {
  operation: string
  bucket?: BucketRecord
  /** CreateBucket: the name asked for, whose ARN (arn:aws:s3:::name) the policies judge. */
  bucketName?: string
  key?: string
  fs?: FsNeed[]
  action?: string
  /** A walk of the key's path already started by the handler (GetObject): the filesystem check uses it. */
  prefetched?: PrefetchedWalk
  /**
   * The tags the request sets, when they are not its x-amz-tagging header (PutObjectTagging's body, a POST form's
   * tagging field): s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys.
   */
  requestTags?: readonly ObjectTag[]
}

/** The tags an upload's x-amz-tagging header sets: PutObject, CreateMultipartUpload, a CopyObject that replaces them. */
function headerTags (req: S3Request, operation: string): ObjectTag[] | undefined {
  const replaces = operation === 'PutObject' || operation === 'CreateMultipartUpload' ||
    (operation === 'CopyObject' && String(req.headers['x-amz-tagging-directive'] ?? '').toUpperCase() === 'REPLACE')
  return replaces ? tagsFromHeader(req.headers['x-amz-tagging']) : undefined
}

export async function decide (req: S3Request, s: Services, needs: AccessNeeds): Promise<AccessDecision> {
  const state = s.state.snapshot()
  const p = req.principal
  const identity: LabelledPolicy[] = p.kind === 'user' ? identityPolicies(state, p.name) : []
  const keys = conditionKeys(req, s.now(), needs.operation)
  // Tags are looked at only when a policy in play names a tag key: the GET path pays a WeakMap look-up per policy.
  const bucket = needs.bucket
  const use = tagKeyUse(policiesInPlay(req, identity, bucket))
  if (use.request) Object.assign(keys, requestTagKeys(needs.requestTags ?? headerTags(req, needs.operation)))
  if (use.existing && bucket !== undefined && needs.key !== undefined) {
    Object.assign(keys, await existingTagConditions({ name: bucket.name, root: bucket.path }, needs.key as ObjectKey, needs.operation, needs.prefetched))
  }
  return authorize({
    operation: needs.operation,
    action: needs.action,
    bucket: needs.bucket,
    bucketName: needs.bucketName,
    key: needs.key,
    principal: p,
    conditionKeys: keys,
    identityPolicies: identity,
    sessionPolicy: req.sessionPolicy,
    fs: needs.fs ?? [],
    gidOf: gidOfGroup,
    publicIds: publicIdsOf(s.config),
    posix: posixLayerFor(p, needs.prefetched),
  })
}

/**
 * Whether a policy in play for this caller and bucket judges the tags a request sets (s3:RequestObjectTag/<key>,
 * s3:RequestObjectTagKeys): only then must PutObjectTagging read its body before the check.
 */
export function policiesJudgeRequestTags (req: S3Request, s: Services, bucket: BucketRecord): boolean {
  const p = req.principal
  const identity = p.kind === 'user' ? identityPolicies(s.state.snapshot(), p.name) : []
  return tagKeyUse(policiesInPlay(req, identity, bucket)).request
}

/** The documents that judge this request: the user's, its session's, the bucket's. */
function policiesInPlay (req: S3Request, identity: readonly LabelledPolicy[], bucket: BucketRecord | undefined): Array<PolicyDocument | undefined> {
  return [...identity.map(l => l.doc), req.sessionPolicy?.doc, bucket === undefined ? undefined : bucketPolicyOf(bucket)]
}

/**
 * Throws unless every layer allows. A missing object is NoSuchKey only for callers who may list the
 * bucket (AWS answers 403 otherwise, so keys cannot be probed).
 */
export async function requireAccess (req: S3Request, s: Services, needs: AccessNeeds, opts: { missingIsNoSuchKey?: boolean } = {}): Promise<void> {
  const d = await decide(req, s, needs)
  if (d.allowed) return
  if (d.isMissing && opts.missingIsNoSuchKey && needs.bucket) {
    const list = await decide(req, s, { operation: 'ListObjects', bucket: needs.bucket })
    if (list.allowed) throw new S3Error('NoSuchKey', { Key: needs.key })
  }
  if (d.isMissing && !opts.missingIsNoSuchKey) return // the operation itself reports what is missing
  if (d.isConflict === true && needs.bucket) {
    // Like NoSuchKey: only a caller who may list the bucket learns what is in the way.
    const list = await decide(req, s, { operation: 'ListObjects', bucket: needs.bucket })
    if (list.allowed) throw keyConflictError({ Key: needs.key })
  }
  // API_PutBucketPolicy (and Get, Delete): "If you have the correct permissions, but you're not using an identity
  // that belongs to the bucket owner's account, Amazon S3 returns a 405 Method Not Allowed error."
  if (d.isOtherAccount === true && isBucketPolicyCall(needs.operation)) throw new S3Error('MethodNotAllowed', { Method: req.method, ResourceType: 'BUCKET' })
  throw new S3Error('AccessDenied', { Resource: needs.bucket ? `/${needs.bucket.name}${needs.key !== undefined ? '/' + needs.key : ''}` : '/' })
}

/** Filesystem path of a key relative to the bucket root (one definition, in access/fs-needs.ts). */
export { keyPath as relPath } from '../access/fs-needs.js'
