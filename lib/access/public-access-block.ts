// A bucket's PublicAccessBlock (PutPublicAccessBlock): what counts as public, and the four switches as data.
// How the switches act on the permission model is in docs/design.md, "Public access block".
import { S3Error } from '../errors/s3-error.js'
import { ALL_USERS_URI, AUTHENTICATED_USERS_URI, GROUP_ID_URN, type S3Grant } from './s3-acl.js'

/** The four settings, all false when absent (AWS's PublicAccessBlockConfiguration). */
export interface PublicAccessBlock {
  readonly blockPublicAcls: boolean
  readonly ignorePublicAcls: boolean
  readonly blockPublicPolicy: boolean
  readonly restrictPublicBuckets: boolean
}

/** The XML element of each setting, in the order AWS writes them. */
export const PUBLIC_ACCESS_BLOCK_ELEMENTS: ReadonlyArray<readonly [string, keyof PublicAccessBlock]> = [
  ['BlockPublicAcls', 'blockPublicAcls'],
  ['IgnorePublicAcls', 'ignorePublicAcls'],
  ['BlockPublicPolicy', 'blockPublicPolicy'],
  ['RestrictPublicBuckets', 'restrictPublicBuckets'],
]

/** Narrows what the state holds; anything else counts as no configuration. */
export function storedPublicAccessBlock (value: unknown): PublicAccessBlock | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  return {
    blockPublicAcls: v.blockPublicAcls === true,
    ignorePublicAcls: v.ignorePublicAcls === true,
    blockPublicPolicy: v.blockPublicPolicy === true,
    restrictPublicBuckets: v.restrictPublicBuckets === true,
  }
}

/** One setting of a bucket's block (false without a configuration). */
export function isBlocked (value: unknown, setting: keyof PublicAccessBlock): boolean {
  return storedPublicAccessBlock(value)?.[setting] === true
}

/**
 * "The meaning of public" for ACLs (S3 user guide): a grant to AllUsers or AuthenticatedUsers. Here
 * AuthenticatedUsers is also the configured group (`authenticatedUsersGid`), which a grant may name by gid.
 */
export function isPublicGrant (g: S3Grant, authenticatedUsersGid: number | null): boolean {
  if (g.grantee.type !== 'Group') return false
  const uri = g.grantee.uri
  if (uri === ALL_USERS_URI || uri === AUTHENTICATED_USERS_URI) return true
  return authenticatedUsersGid !== null && uri === `${GROUP_ID_URN}${authenticatedUsersGid}`
}

export function hasPublicGrant (grants: readonly S3Grant[], authenticatedUsersGid: number | null): boolean {
  return grants.some(g => isPublicGrant(g, authenticatedUsersGid))
}

/**
 * BlockPublicAcls: a request that would set a public ACL (canned public-read, public-read-write, authenticated-read,
 * or a grant to AllUsers or AuthenticatedUsers) fails with 403 AccessDenied, as on AWS; ACLs already set stay.
 */
export function refusePublicAcl (publicAccessBlock: unknown, grants: readonly S3Grant[], authenticatedUsersGid: number | null, resource: string): void {
  if (!isBlocked(publicAccessBlock, 'blockPublicAcls') || !hasPublicGrant(grants, authenticatedUsersGid)) return
  throw new S3Error('AccessDenied', { Resource: resource }, { message: 'Access Denied: the bucket blocks public ACLs (BlockPublicAcls of its public access block).' })
}
