// A bucket's PublicAccessBlock (PutPublicAccessBlock): what counts as public, and the four switches as data.
// How the switches act on the permission model is in docs/design.md, "Public access block".
import { S3Error } from '../errors/s3-error.js'
import type { PosixAcl } from './posix-acl.js'
import type { InodeFacts } from './posix-permission.js'
import { resolveGrantee, type GranteeDirectory, type GranteeRef, type S3Grant } from './s3-acl.js'

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
 * Who "the public" is on this NAS: AllUsers is other:: and the anonymous uid/gid (what unsigned requests act as),
 * AuthenticatedUsers is the configured group (every signed user is in it). Null gid: no such group.
 */
export interface PublicIds {
  readonly authenticatedUsersGid: number | null
  readonly anonymousUid: number
  readonly anonymousGid: number
}

export function publicIdsOf (config: PublicIds): PublicIds {
  return { authenticatedUsersGid: config.authenticatedUsersGid, anonymousUid: config.anonymousUid, anonymousGid: config.anonymousGid }
}

/**
 * "The meaning of public" for ACLs (S3 user guide): a grant to AllUsers or AuthenticatedUsers, here also to the
 * groups and user they are on the NAS, however the grant names them (a URI, a group name, a padded gid, `nobody`).
 */
export function isPublicGrantee (ref: GranteeRef, ids: PublicIds): boolean {
  switch (ref.kind) {
    case 'allUsers': case 'authenticatedUsers': return true
    case 'group': return ref.gid === ids.authenticatedUsersGid || ref.gid === ids.anonymousGid
    case 'user': return ref.uid === ids.anonymousUid
  }
}

/**
 * BlockPublicAcls: a request that would set a public ACL (canned public-read, public-read-write, authenticated-read,
 * or a grant to a public grantee) fails with 403 AccessDenied, as on AWS; ACLs already set stay. A grantee that does
 * not resolve is left to the step that resolves it (400 InvalidArgument there).
 */
export function refusePublicAcl (publicAccessBlock: unknown, grants: readonly S3Grant[], dir: GranteeDirectory, ids: PublicIds, resource: string): void {
  if (!isBlocked(publicAccessBlock, 'blockPublicAcls')) return
  const isPublic = grants.some(g => {
    try {
      return isPublicGrantee(resolveGrantee(g.grantee, dir), ids)
    } catch {
      return false
    }
  })
  if (isPublic) throw new S3Error('AccessDenied', { Resource: resource }, { message: 'Access Denied: the bucket blocks public ACLs (BlockPublicAcls of its public access block).' })
}

/**
 * A file as IgnorePublicAcls judges it: its grants less the public ones. other:: grants nothing; the
 * AuthenticatedUsers and anonymous entries grant nothing; the owning group's entry loses the bits other:: or
 * AuthenticatedUsers give everyone anyway (an S3 public-read folds AllUsers' read into group::, since POSIX never
 * unions entries, and a 0644 file's group read is everyone's: GetObjectAcl shows no group grant for either). Named
 * user and group entries exist because someone granted them (setfacl, an S3 grant): they keep their bits, so
 * alice with READ and AllUsers READ still reads. The owner keeps its bits.
 */
export function withoutPublicGrants (inode: InodeFacts, ids: PublicIds): InodeFacts {
  const isPublicGroup = (gid: number): boolean => gid === ids.authenticatedUsersGid || gid === ids.anonymousGid
  if (inode.acl === undefined) {
    const other = inode.mode & 0o007
    const group = isPublicGroup(inode.gid) ? 0 : ((inode.mode >> 3) & 0o007) & ~other
    return { ...inode, mode: (inode.mode & ~0o077) | (group << 3) }
  }
  const acl: PosixAcl = inode.acl
  const other = acl.find(e => e.tag === 'OTHER')?.perm ?? 0
  const auth = acl.reduce((bits, e) => (e.tag === 'GROUP' && e.id === ids.authenticatedUsersGid) || (e.tag === 'GROUP_OBJ' && inode.gid === ids.authenticatedUsersGid) ? bits | e.perm : bits, 0)
  const implied = other | auth
  const entries = acl.map(e => {
    switch (e.tag) {
      case 'USER_OBJ': case 'MASK': return e
      case 'OTHER': return { ...e, perm: 0 }
      case 'USER': return e.id === ids.anonymousUid ? { ...e, perm: 0 } : e
      case 'GROUP': return isPublicGroup(e.id) ? { ...e, perm: 0 } : e
      case 'GROUP_OBJ': return { ...e, perm: isPublicGroup(inode.gid) ? 0 : e.perm & ~implied }
    }
  })
  return { ...inode, mode: inode.mode & ~0o007, acl: entries }
}
