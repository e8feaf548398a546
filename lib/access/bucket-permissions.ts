// Which bucket-ACL permission each S3 operation needs (OneFS semantics): object reads need none, the file decides.
import type { BucketPermission } from '../state/types.js'

/** 'owner': only the bucket owner (or admin, or a policy) may; null: no bucket-level grant is needed. */
export type BucketNeed = BucketPermission | 'owner' | null

const READ = ['ListObjects', 'ListObjectsV2', 'ListObjectVersions', 'HeadBucket', 'ListMultipartUploads', 'ListParts', 'GetBucketLocation', 'GetBucketVersioning']
const WRITE = ['PutObject', 'CopyObject', 'DeleteObject', 'DeleteObjects', 'CreateMultipartUpload', 'UploadPart', 'UploadPartCopy', 'CompleteMultipartUpload', 'AbortMultipartUpload', 'PostObject',
  'PutObjectTagging', 'DeleteObjectTagging']
const OWNER = ['DeleteBucket', 'GetBucketPolicy', 'PutBucketPolicy', 'DeleteBucketPolicy', 'GetBucketPolicyStatus', 'GetBucketCors', 'PutBucketCors', 'DeleteBucketCors',
  'GetBucketTagging', 'PutBucketTagging', 'DeleteBucketTagging',
  'GetBucketLifecycleConfiguration', 'PutBucketLifecycleConfiguration', 'DeleteBucketLifecycle', 'GetBucketEncryption', 'DeleteBucketEncryption', 'GetBucketWebsite', 'DeleteBucketWebsite',
  'GetPublicAccessBlock', 'PutPublicAccessBlock', 'DeletePublicAccessBlock', 'GetBucketOwnershipControls', 'PutBucketOwnershipControls', 'DeleteBucketOwnershipControls', 'GetBucketReplication',
  'DeleteBucketReplication', 'GetObjectLockConfiguration', 'GetBucketRequestPayment', 'GetBucketAccelerateConfiguration', 'GetBucketLogging',
  'GetBucketNotificationConfiguration', 'PutBucketVersioning']
/** Object reads and object-ACL calls: the file (and the handler's own ACL checks) decide, not the bucket ACL. */
const BY_THE_FILE = ['GetObject', 'HeadObject', 'GetObjectAttributes', 'GetObjectTagging', 'GetObjectAcl', 'PutObjectAcl']
/** Calls on no bucket: the service, and CreateBucket (which has no bucket yet). */
const NO_BUCKET = ['ListBuckets', 'CreateBucket', 'QueryApi']

/** Fail-closed: an operation missing from every list is the bucket owner's (PutBucketVersioning once fell through). */
export function bucketNeed (operation: string): BucketNeed {
  if (READ.includes(operation)) return 'READ'
  if (WRITE.includes(operation)) return 'WRITE'
  if (operation === 'GetBucketAcl') return 'READ_ACP'
  if (operation === 'PutBucketAcl') return 'WRITE_ACP'
  if (OWNER.includes(operation)) return 'owner'
  if (BY_THE_FILE.includes(operation) || NO_BUCKET.includes(operation)) return null
  return 'owner'
}
