// Which bucket-ACL permission each S3 operation needs (OneFS semantics): object reads need none, the file decides.
import type { BucketPermission } from '../state/types.js'

/** 'owner': only the bucket owner (or admin, or a policy) may; null: no bucket-level grant is needed. */
export type BucketNeed = BucketPermission | 'owner' | null

const READ = ['ListObjects', 'ListObjectsV2', 'ListObjectVersions', 'HeadBucket', 'ListMultipartUploads', 'ListParts', 'GetBucketLocation', 'GetBucketVersioning']
const WRITE = ['PutObject', 'CopyObject', 'DeleteObject', 'DeleteObjects', 'CreateMultipartUpload', 'UploadPart', 'UploadPartCopy', 'CompleteMultipartUpload', 'AbortMultipartUpload', 'PostObject',
  'PutObjectTagging', 'DeleteObjectTagging']
const OWNER = ['DeleteBucket', 'GetBucketPolicy', 'PutBucketPolicy', 'DeleteBucketPolicy', 'GetBucketPolicyStatus', 'GetBucketCors', 'PutBucketCors', 'DeleteBucketCors',
  'GetBucketTagging', 'PutBucketTagging', 'DeleteBucketTagging',
  'GetBucketLifecycleConfiguration', 'DeleteBucketLifecycle', 'GetBucketEncryption', 'DeleteBucketEncryption', 'GetBucketWebsite', 'DeleteBucketWebsite',
  'GetPublicAccessBlock', 'DeletePublicAccessBlock', 'GetBucketOwnershipControls', 'DeleteBucketOwnershipControls', 'GetBucketReplication',
  'DeleteBucketReplication', 'GetObjectLockConfiguration', 'GetBucketRequestPayment', 'GetBucketAccelerateConfiguration', 'GetBucketLogging',
  'GetBucketNotificationConfiguration']

export function bucketNeed (operation: string): BucketNeed {
  if (READ.includes(operation)) return 'READ'
  if (WRITE.includes(operation)) return 'WRITE'
  if (operation === 'GetBucketAcl') return 'READ_ACP'
  if (operation === 'PutBucketAcl') return 'WRITE_ACP'
  if (OWNER.includes(operation)) return 'owner'
  return null
}
