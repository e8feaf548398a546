// x-amz-acl / x-amz-grant-* on uploads: refused early under objectAclPolicy 'deny', applied to the new file under 'replace'.
import type { IncomingHttpHeaders } from 'node:http'
import { S3Error } from '../errors/s3-error.js'
import { expandCannedAcl, hasAclHeaders, isLonePrivate, parseCannedAcl, readAclHeaders, resolveGrants, uidOfId, type AclHeaders, type S3Grant } from '../access/s3-acl.js'
import { aclFromMode } from '../access/posix-acl.js'
import { grantsToPosixAcl } from '../access/s3-acl-posix.js'
import { publicIdsOf, refusePublicAcl } from '../access/public-access-block.js'
import { aclNotSupported, aclsDisabled, grantsOnlyBucketOwnerFullControl, isLoneBucketOwnerFullControl, objectOwnershipOf } from '../access/object-ownership.js'
import type { BucketRecord } from '../state/types.js'
import { currentAcl, readObjectAcl, writeObjectAcl } from '../storage/object-acl-store.js'
import { requireAccess } from './authorize.js'
import { granteeDirectory } from './grantee-directory.js'
import type { S3Request, Services } from './types.js'

/** Whether an ACL grantee ID names the bucket's owner (its user name, or its uid as `uid:N`). */
export function isBucketOwnerId (s: Services, record: BucketRecord): (id: string) => boolean {
  const ownerUid = s.state.snapshot().users[record.owner]?.uid
  return id => {
    if (id === record.owner) return true
    try {
      return ownerUid !== undefined && uidOfId(id, granteeDirectory(s)) === ownerUid
    } catch {
      return false
    }
  }
}

/**
 * BucketOwnerPreferred's `bucket-owner-full-control` alone asks for the file to be the bucket owner's: taken as that
 * under objectAclPolicy deny too (the ACL itself is not applied there), or the setting could never act (review 26).
 */
function asksOwnership (h: AclHeaders, record: BucketRecord): boolean {
  return objectOwnershipOf(record) === 'BucketOwnerPreferred' && isLoneBucketOwnerFullControl(h)
}

const NO_ACL_HEADERS: AclHeaders = { canned: undefined, grants: undefined }

/** The ACL headers an upload to this bucket applies: none where ACLs are disabled (BucketOwnerEnforced). */
function uploadAclHeaders (headers: IncomingHttpHeaders, record: BucketRecord): AclHeaders {
  return aclsDisabled(record) ? NO_ACL_HEADERS : readAclHeaders(headers)
}

/**
 * Call BEFORE receiving an upload's body (PutObject, CopyObject, CreateMultipartUpload). Throws
 * 400 InvalidRequest for canned + grant headers, 400 InvalidArgument / 501 NotImplemented for an unknown /
 * unsupported canned ACL or a malformed grant header, and 403 AccessDenied when the bucket's
 * objectAclPolicy is 'deny' and the request asks for anything but `x-amz-acl: private`, or when the bucket blocks
 * public ACLs (BlockPublicAcls) and the request asks for one.
 * Grantee names are resolved later, by applyAclHeaders.
 */
export function checkAclHeadersAllowed (req: S3Request, s: Services, record: BucketRecord): AclHeaders {
  const headers = readAclHeaders(req.headers)
  // BucketOwnerEnforced: no ACL but bucket-owner-full-control (which then says nothing) is taken, before any byte.
  if (aclsDisabled(record)) {
    const saysOwnerOnly = isLoneBucketOwnerFullControl(headers) ||
      (headers.canned === undefined && headers.grants !== undefined && grantsOnlyBucketOwnerFullControl(headers.grants, isBucketOwnerId(s, record)))
    if (hasAclHeaders(headers) && !saysOwnerOnly) throw aclNotSupported(`/${record.name}/${req.rawKey ?? ''}`)
    return NO_ACL_HEADERS
  }
  const canned = headers.canned === undefined ? undefined : parseCannedAcl(headers.canned)
  // BlockPublicAcls: refused before any byte is taken (the owner ids do not matter to what is public).
  const asked = headers.grants ?? (canned === undefined ? [] : expandCannedAcl(canned, { ownerId: '', bucketOwnerId: record.owner }))
  refusePublicAcl(record.publicAccessBlock, asked, granteeDirectory(s), publicIdsOf(s.config), `/${record.name}/${req.rawKey ?? ''}`)
  if (record.objectAclPolicy === 'deny' && hasAclHeaders(headers) && !isLonePrivate(headers) && !asksOwnership(headers, record)) {
    throw new S3Error('AccessDenied', { Resource: `/${record.name}` }, { message: 'This bucket does not allow S3 to change object ACLs (object ACL policy deny).' })
  }
  return headers
}

/**
 * Whether the request's ACL headers decide the new file's permissions: any ACL header, except a lone
 * `x-amz-acl: private` under objectAclPolicy deny, which is accepted and changes nothing (rclone sends it with
 * every upload and copy). Without them a copy gets no more than its source's mode bits.
 */
export function aclHeadersDecide (headers: IncomingHttpHeaders, record: BucketRecord): boolean {
  const acl = uploadAclHeaders(headers, record)
  if (!hasAclHeaders(acl)) return false
  return !(record.objectAclPolicy === 'deny' && (isLonePrivate(acl) || asksOwnership(acl, record)))
}

/**
 * What an upload's headers ask of the policies beyond s3:PutObject: ACL headers (but a lone private) need s3:PutObjectAcl and an
 * x-amz-tagging header s3:PutObjectTagging (API_PutObject, API_CopyObject, API_CreateMultipartUpload), so a
 * session, service account or Deny that withholds them cannot set them through the upload. The bucket-ACL
 * and filesystem layers are the upload's own, checked by the caller.
 */
export async function requireUploadHeaderActions (req: S3Request, s: Services, needs: { operation: string, bucket: BucketRecord, key: string }, opts: { tagging: boolean }): Promise<void> {
  const acl = uploadAclHeaders(req.headers, needs.bucket)
  // `x-amz-acl: private` alone only narrows (owner-only) and rclone sends it with every upload: it passes, as it
  // passes under objectAclPolicy deny.
  if (hasAclHeaders(acl) && !isLonePrivate(acl)) await requireAccess(req, s, { ...needs, action: 's3:PutObjectAcl' })
  if (opts.tagging && req.headers['x-amz-tagging'] !== undefined) await requireAccess(req, s, { ...needs, action: 's3:PutObjectTagging' })
  if (hasAclHeaders(acl) && needs.bucket.objectAclPolicy !== 'deny') {
    // What applyAclHeaders would refuse once the bytes are in (an unknown grantee, AuthenticatedUsers without a
    // configured gid) is refused now: a multipart upload took every part and failed only at Complete.
    const grants = acl.grants ?? expandCannedAcl(parseCannedAcl(acl.canned ?? 'private'), { ownerId: `uid:${req.principal.uid}`, bucketOwnerId: needs.bucket.owner })
    grantsToPosixAcl(resolveGrants(grants, granteeDirectory(s)), {
      ownerUid: req.principal.uid,
      fileGid: req.principal.gid,
      isDirectory: false,
      previous: aclFromMode(0o600),
      authenticatedUsersGid: s.config.authenticatedUsersGid,
      anonymousUid: s.config.anonymousUid,
      anonymousGid: s.config.anonymousGid,
    })
  }
}

/**
 * Applies the request's ACL headers to the new file at filePath (a staging path or /proc/self/fd/N), before
 * it is published. No ACL headers: nothing happens, so the create mode or inherited default ACL stays.
 * Under 'deny' `x-amz-acl: private` passes and changes nothing. Under 'replace' the whole access ACL is
 * rewritten as PutObjectAcl would (owner = the file's owner; bucket-owner-* name the bucket owner), which
 * means an explicit `x-amz-acl: private` makes the file owner-only (0600 for a plain file), as on AWS.
 * Throws 400 InvalidArgument for unknown grantee IDs, 501 for AuthenticatedUsers without a configured gid.
 */
export async function applyAclHeaders (req: S3Request, s: Services, record: BucketRecord, filePath: string, owner?: { uid: number, gid: number }): Promise<void> {
  const headers = checkAclHeadersAllowed(req, s, record)
  if (!hasAclHeaders(headers) || record.objectAclPolicy === 'deny') return
  const stored = await readObjectAcl(filePath)
  // The owner the file will have once published (it may still be the daemon's now: WriteOptions.onCreated).
  const ownerUid = owner?.uid ?? stored.uid
  const grants: S3Grant[] = headers.grants ??
    expandCannedAcl(parseCannedAcl(headers.canned ?? 'private'), { ownerId: `uid:${ownerUid}`, bucketOwnerId: record.owner })
  const update = grantsToPosixAcl(resolveGrants(grants, granteeDirectory(s)), {
    ownerUid,
    fileGid: owner?.gid ?? stored.gid,
    isDirectory: stored.isDirectory,
    previous: currentAcl(stored),
    authenticatedUsersGid: s.config.authenticatedUsersGid,
    anonymousUid: s.config.anonymousUid,
    anonymousGid: s.config.anonymousGid,
  })
  await writeObjectAcl(filePath, { ...update, mode: stored.mode })
}
