// S3 operations (AWS API names) to the IAM actions and resource kinds a policy must allow.

/** What a policy's Resource must name: the bucket ARN, the object ARN, or the service ("*"). */
export type ResourceKind = 'bucket' | 'object' | 'service'

/** How one S3 operation is authorized. */
export interface OperationAccess {
  readonly action: string
  readonly resource: ResourceKind
  /** Replaces `action` when the request names a versionId (GetObject → s3:GetObjectVersion). */
  readonly versionAction?: string
  /** CopyObject, UploadPartCopy: also needed on the copy source object. */
  readonly sourceAction?: string
  /** Also needed when the request carries ACL headers (x-amz-acl, x-amz-grant-*). */
  readonly aclAction?: string
  /** Also needed when the request carries an x-amz-tagging header. */
  readonly taggingAction?: string
  /** Always needed as well, on the same resource (GetObjectAttributes: s3:GetObject, AWS documents both). */
  readonly alsoAction?: string
  /** DeleteObjects: `action` is checked once per key, denied keys become per-key errors. */
  readonly isPerKey?: boolean
}

/** The resource string of service-level actions (ListAllMyBuckets); the evaluator matches it as `arn:aws:s3:::*`. */
export const SERVICE_RESOURCE = '*'

const bucket = (action: string, extra: Partial<OperationAccess> = {}): OperationAccess => ({ action, resource: 'bucket', ...extra })
const object = (action: string, extra: Partial<OperationAccess> = {}): OperationAccess => ({ action, resource: 'object', ...extra })

/** Section 3 of the policy reference, one row per S3 operation. */
export const OPERATION_ACCESS: Readonly<Record<string, OperationAccess>> = {
  ListBuckets: { action: 's3:ListAllMyBuckets', resource: 'service' },
  CreateBucket: bucket('s3:CreateBucket', { aclAction: 's3:PutBucketAcl' }),
  DeleteBucket: bucket('s3:DeleteBucket'),
  HeadBucket: bucket('s3:ListBucket'),
  GetBucketLocation: bucket('s3:GetBucketLocation'),
  ListObjects: bucket('s3:ListBucket'),
  ListObjectsV2: bucket('s3:ListBucket'),
  ListObjectVersions: bucket('s3:ListBucketVersions'),
  ListMultipartUploads: bucket('s3:ListBucketMultipartUploads'),
  GetObject: object('s3:GetObject', { versionAction: 's3:GetObjectVersion' }),
  HeadObject: object('s3:GetObject', { versionAction: 's3:GetObjectVersion' }),
  GetObjectAttributes: object('s3:GetObjectAttributes', { versionAction: 's3:GetObjectVersionAttributes', alsoAction: 's3:GetObject' }),
  PutObject: object('s3:PutObject', { aclAction: 's3:PutObjectAcl', taggingAction: 's3:PutObjectTagging' }),
  PostObject: object('s3:PutObject', { aclAction: 's3:PutObjectAcl', taggingAction: 's3:PutObjectTagging' }),
  CopyObject: object('s3:PutObject', { sourceAction: 's3:GetObject', aclAction: 's3:PutObjectAcl', taggingAction: 's3:PutObjectTagging' }),
  CreateMultipartUpload: object('s3:PutObject', { aclAction: 's3:PutObjectAcl', taggingAction: 's3:PutObjectTagging' }),
  UploadPart: object('s3:PutObject'),
  UploadPartCopy: object('s3:PutObject', { sourceAction: 's3:GetObject' }),
  CompleteMultipartUpload: object('s3:PutObject'),
  AbortMultipartUpload: object('s3:AbortMultipartUpload'),
  ListParts: object('s3:ListMultipartUploadParts'),
  DeleteObject: object('s3:DeleteObject', { versionAction: 's3:DeleteObjectVersion' }),
  DeleteObjects: object('s3:DeleteObject', { versionAction: 's3:DeleteObjectVersion', isPerKey: true }),
  GetObjectAcl: object('s3:GetObjectAcl', { versionAction: 's3:GetObjectVersionAcl' }),
  PutObjectAcl: object('s3:PutObjectAcl', { versionAction: 's3:PutObjectVersionAcl' }),
  GetObjectTagging: object('s3:GetObjectTagging', { versionAction: 's3:GetObjectVersionTagging' }),
  PutObjectTagging: object('s3:PutObjectTagging', { versionAction: 's3:PutObjectVersionTagging' }),
  DeleteObjectTagging: object('s3:DeleteObjectTagging', { versionAction: 's3:DeleteObjectVersionTagging' }),
  GetBucketAcl: bucket('s3:GetBucketAcl'),
  PutBucketAcl: bucket('s3:PutBucketAcl'),
  GetBucketPolicy: bucket('s3:GetBucketPolicy'),
  PutBucketPolicy: bucket('s3:PutBucketPolicy'),
  DeleteBucketPolicy: bucket('s3:DeleteBucketPolicy'),
  GetBucketPolicyStatus: bucket('s3:GetBucketPolicyStatus'),
  GetBucketCors: bucket('s3:GetBucketCORS'),
  PutBucketCors: bucket('s3:PutBucketCORS'),
  DeleteBucketCors: bucket('s3:PutBucketCORS'),
  GetBucketTagging: bucket('s3:GetBucketTagging'),
  PutBucketTagging: bucket('s3:PutBucketTagging'),
  DeleteBucketTagging: bucket('s3:PutBucketTagging'),
  GetBucketVersioning: bucket('s3:GetBucketVersioning'),
  PutBucketVersioning: bucket('s3:PutBucketVersioning'),
  GetBucketLifecycleConfiguration: bucket('s3:GetLifecycleConfiguration'),
  DeleteBucketLifecycle: bucket('s3:PutLifecycleConfiguration'),
  PutBucketLifecycleConfiguration: bucket('s3:PutLifecycleConfiguration'),
  // configurations the bridge does not keep (handlers/bucket-config.ts)
  GetBucketEncryption: bucket('s3:GetEncryptionConfiguration'),
  DeleteBucketEncryption: bucket('s3:PutEncryptionConfiguration'),
  GetBucketWebsite: bucket('s3:GetBucketWebsite'),
  DeleteBucketWebsite: bucket('s3:DeleteBucketWebsite'),
  GetPublicAccessBlock: bucket('s3:GetBucketPublicAccessBlock'),
  PutPublicAccessBlock: bucket('s3:PutBucketPublicAccessBlock'),
  DeletePublicAccessBlock: bucket('s3:PutBucketPublicAccessBlock'),
  GetBucketOwnershipControls: bucket('s3:GetBucketOwnershipControls'),
  PutBucketOwnershipControls: bucket('s3:PutBucketOwnershipControls'),
  DeleteBucketOwnershipControls: bucket('s3:PutBucketOwnershipControls'),
  GetBucketReplication: bucket('s3:GetReplicationConfiguration'),
  DeleteBucketReplication: bucket('s3:PutReplicationConfiguration'),
  GetObjectLockConfiguration: bucket('s3:GetBucketObjectLockConfiguration'),
  GetBucketRequestPayment: bucket('s3:GetBucketRequestPayment'),
  GetBucketAccelerateConfiguration: bucket('s3:GetAccelerateConfiguration'),
  GetBucketLogging: bucket('s3:GetBucketLogging'),
  GetBucketNotificationConfiguration: bucket('s3:GetBucketNotification'),
  ListBucketAnalyticsConfigurations: bucket('s3:GetAnalyticsConfiguration'),
  GetBucketAnalyticsConfiguration: bucket('s3:GetAnalyticsConfiguration'),
  ListBucketMetricsConfigurations: bucket('s3:GetMetricsConfiguration'),
  GetBucketMetricsConfiguration: bucket('s3:GetMetricsConfiguration'),
  ListBucketInventoryConfigurations: bucket('s3:GetInventoryConfiguration'),
  GetBucketInventoryConfiguration: bucket('s3:GetInventoryConfiguration'),
  ListBucketIntelligentTieringConfigurations: bucket('s3:GetIntelligentTieringConfiguration'),
  GetBucketIntelligentTieringConfiguration: bucket('s3:GetIntelligentTieringConfiguration'),
}

/** The IAM action and resource kind of an S3 operation; throws on a name missing from the table (a programming error). */
export function actionFor(operation: string): OperationAccess {
  const access = Object.hasOwn(OPERATION_ACCESS, operation) ? OPERATION_ACCESS[operation] : undefined
  if (access === undefined) throw new Error(`No policy action is defined for S3 operation ${operation}`)
  return access
}

/** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key` (the key as is, not URL-encoded). */
export function resourceArn(bucketName: string, key?: string): string {
  return key === undefined ? `arn:aws:s3:::${bucketName}` : `arn:aws:s3:::${bucketName}/${key}`
}

const names = (kind: ResourceKind, list: string): Array<[string, ResourceKind]> =>
  list.split(/\s+/).filter(Boolean).map(n => [`s3:${n}`, kind])

/**
 * Every S3 IAM action a bucket policy may name, with the resource it applies to: ours plus the AWS
 * actions we do not implement, so that policies written for AWS still validate.
 */
export const S3_ACTIONS: ReadonlyMap<string, ResourceKind> = new Map([
  ...names('service', 'ListAllMyBuckets'),
  ...names('bucket', `CreateBucket DeleteBucket ListBucket ListBucketVersions ListBucketMultipartUploads
    GetBucketLocation GetBucketAcl PutBucketAcl GetBucketPolicy PutBucketPolicy DeleteBucketPolicy
    GetBucketPolicyStatus GetBucketCORS PutBucketCORS GetBucketTagging PutBucketTagging GetBucketVersioning
    PutBucketVersioning GetLifecycleConfiguration PutLifecycleConfiguration GetBucketWebsite PutBucketWebsite
    DeleteBucketWebsite GetBucketLogging PutBucketLogging GetBucketNotification PutBucketNotification
    GetEncryptionConfiguration PutEncryptionConfiguration GetBucketObjectLockConfiguration
    PutBucketObjectLockConfiguration GetReplicationConfiguration PutReplicationConfiguration
    GetBucketRequestPayment PutBucketRequestPayment GetAccelerateConfiguration PutAccelerateConfiguration
    GetBucketPublicAccessBlock PutBucketPublicAccessBlock GetBucketOwnershipControls PutBucketOwnershipControls
    GetMetricsConfiguration PutMetricsConfiguration GetAnalyticsConfiguration PutAnalyticsConfiguration
    GetInventoryConfiguration PutInventoryConfiguration GetIntelligentTieringConfiguration
    PutIntelligentTieringConfiguration ListBucketByTags`),
  ...names('object', `GetObject GetObjectVersion GetObjectAttributes GetObjectVersionAttributes PutObject
    DeleteObject DeleteObjectVersion GetObjectAcl GetObjectVersionAcl PutObjectAcl PutObjectVersionAcl
    GetObjectTagging GetObjectVersionTagging PutObjectTagging PutObjectVersionTagging DeleteObjectTagging
    DeleteObjectVersionTagging AbortMultipartUpload ListMultipartUploadParts RestoreObject GetObjectTorrent
    GetObjectVersionTorrent GetObjectRetention PutObjectRetention GetObjectLegalHold PutObjectLegalHold
    BypassGovernanceRetention ReplicateObject ReplicateDelete ReplicateTags GetObjectVersionForReplication
    ObjectOwnerOverrideToBucketOwner`),
])
