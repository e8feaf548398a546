// S3 Object Ownership (PutBucketOwnershipControls, CreateBucket's x-amz-object-ownership), mapped onto files:
//   ObjectWriter          the writer owns what it uploads (the bridge's behaviour without a setting);
//   BucketOwnerPreferred  an upload with the bucket-owner-full-control canned ACL is owned by the bucket owner;
//   BucketOwnerEnforced   S3 ACLs are off: every file and folder S3 makes belongs to the bucket owner, ACL writes
//                         (PutBucketAcl, PutObjectAcl, upload ACL headers other than bucket-owner-full-control) are
//                         400 AccessControlListNotSupported, and the bucket ACL's entries for others grant nothing.
// What the files' own permissions grant still counts but for their public part: NFS users share those bits
// (docs/design.md, "Object ownership").
import { S3Error } from '../errors/s3-error.js'
import type { BucketRecord } from '../state/types.js'
import type { AclHeaders, S3Grant } from './s3-acl.js'
import { isBlocked } from './public-access-block.js'

export const OBJECT_OWNERSHIPS = ['BucketOwnerPreferred', 'ObjectWriter', 'BucketOwnerEnforced'] as const
export type ObjectOwnership = typeof OBJECT_OWNERSHIPS[number]
export interface OwnershipControls { readonly objectOwnership: ObjectOwnership }

export function isObjectOwnership (value: string): value is ObjectOwnership {
  return (OBJECT_OWNERSHIPS as readonly string[]).includes(value)
}

/** The stored setting, narrowed; undefined: none (the bridge then acts as ObjectWriter). */
export function storedOwnershipControls (value: unknown): OwnershipControls | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const o = (value as { objectOwnership?: unknown }).objectOwnership
  return typeof o === 'string' && isObjectOwnership(o) ? { objectOwnership: o } : undefined
}

export function objectOwnershipOf (record: BucketRecord): ObjectOwnership | undefined {
  return storedOwnershipControls(record.ownershipControls)?.objectOwnership
}

/** BucketOwnerEnforced: S3 ACLs are disabled on this bucket. */
export function aclsDisabled (record: BucketRecord): boolean {
  return objectOwnershipOf(record) === 'BucketOwnerEnforced'
}

/**
 * Whether what the public part of a file's ACL grants (other::, AuthenticatedUsers, the anonymous ids) stops
 * counting for S3: IgnorePublicAcls, or BucketOwnerEnforced (AWS: ACLs "no longer affect permissions"; the owner,
 * group and named entries stay, as NFS users share them).
 */
export function ignoresPublicGrants (record: BucketRecord): boolean {
  return isBlocked(record.publicAccessBlock, 'ignorePublicAcls') || aclsDisabled(record)
}

export function aclNotSupported (resource: string): S3Error {
  return new S3Error('AccessControlListNotSupported', { Resource: resource })
}

/** `x-amz-acl: bucket-owner-full-control` alone: the one ACL header AWS accepts on uploads to a bucket without ACLs. */
export function isLoneBucketOwnerFullControl (h: AclHeaders): boolean {
  return h.grants === undefined && h.canned === 'bucket-owner-full-control'
}

/**
 * Grants that give FULL_CONTROL to the bucket owner and nothing to anyone else: the "equivalent forms" of
 * bucket-owner-full-control AWS accepts under BucketOwnerEnforced (x-amz-grant-full-control, an XML ACL).
 */
export function grantsOnlyBucketOwnerFullControl (grants: readonly S3Grant[], isBucketOwner: (id: string) => boolean): boolean {
  return grants.length > 0 && grants.every(g => g.permission === 'FULL_CONTROL' && g.grantee.type === 'CanonicalUser' && isBucketOwner(g.grantee.id))
}

/** Whether a new file an upload makes is the bucket owner's rather than the writer's. */
export function bucketOwnerTakesUpload (record: BucketRecord, h: AclHeaders): boolean {
  const ownership = objectOwnershipOf(record)
  return ownership === 'BucketOwnerEnforced' || (ownership === 'BucketOwnerPreferred' && isLoneBucketOwnerFullControl(h))
}
