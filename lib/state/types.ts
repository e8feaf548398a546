// The records kept in the state store: buckets, users and their keys.

export type BucketPermission = 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP' | 'FULL_CONTROL'
export interface BucketAce {
  /** user name, group name, or well-known group (everyone | authenticated) */
  name: string
  type: 'user' | 'group' | 'wellknown'
  permission: BucketPermission
}

export interface BucketRecord {
  name: string
  /** Absolute, symlink-free directory the bucket serves. Fixed after creation. */
  path: string
  owner: string
  createdAt: string
  /** true when S3 CreateBucket made the directory (DeleteBucket may then remove it if empty). */
  createdByS3: boolean
  /**
   * Mount point of the filesystem the directory was on when it was mapped (lib/storage/bucket-roots.ts): the
   * bucket is refused (503) while its directory is not on that filesystem, e.g. while the export is unmounted.
   */
  mountPoint?: string
  acl: BucketAce[]
  objectAclPolicy: 'replace' | 'deny'
  policy?: string
  cors?: unknown
  /** PutBucketLifecycleConfiguration's rules (lib/config/lifecycle-rules.ts), acted on by the daily job. */
  lifecycle?: unknown
  /** PutPublicAccessBlock's four settings (lib/access/public-access-block.ts); absent: none. */
  publicAccessBlock?: { blockPublicAcls: boolean, ignorePublicAcls: boolean, blockPublicPolicy: boolean, restrictPublicBuckets: boolean }
  /** PutBucketOwnershipControls or CreateBucket's x-amz-object-ownership (lib/access/object-ownership.ts); absent: none. */
  ownershipControls?: { objectOwnership: 'BucketOwnerPreferred' | 'ObjectWriter' | 'BucketOwnerEnforced' }
  /** Bucket tags (PutBucketTagging), in the order given. */
  tags?: Array<{ key: string, value: string }>
  /** Set by PutBucketVersioning Suspended: GetBucketVersioning then says so (objects have the "null" version either way). */
  versioningSuspended?: true
}

export interface AccessKeyRecord {
  accessKeyId: string
  secret: string
  createdAt: string
  status: 'Active' | 'Inactive'
  expiresAt?: string
  oldSecret?: string
  oldCreatedAt?: string
  oldExpiresAt?: string
}

/** A child key of a user: acts as the user, narrowed by its own policy when it has one. */
export interface ServiceAccountRecord {
  accessKeyId: string
  secret: string
  createdAt: string
  status: 'Active' | 'Inactive'
  expiresAt?: string
  /** Identity-policy text that can only narrow the parent's rights. */
  policy?: string
}

export interface UserRecord {
  name: string
  uid: number
  gid: number
  role: 'admin' | 'user'
  enabled: boolean
  createdAt: string
  keys: AccessKeyRecord[]
  policies: string[]
  serviceAccounts?: ServiceAccountRecord[]
}

export interface PolicyRecord {
  name: string
  text: string
  createdAt: string
}

export interface State {
  buckets: Record<string, BucketRecord>
  users: Record<string, UserRecord>
  policies: Record<string, PolicyRecord>
}

export function emptyState (): State {
  return { buckets: {}, users: {}, policies: {} }
}
