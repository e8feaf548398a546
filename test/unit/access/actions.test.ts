// The S3 operation → IAM action table (policy reference section 3), checked row by row.
import t from 'tap'
import { OPERATION_ACCESS, S3_ACTIONS, SERVICE_RESOURCE, actionFor, resourceArn, type OperationAccess } from '../../../lib/access/actions.js'

type Expected = [operation: string, action: string, resource: OperationAccess['resource'], extra?: Partial<OperationAccess>]

const expected: Expected[] = [
  ['ListBuckets', 's3:ListAllMyBuckets', 'service'],
  ['CreateBucket', 's3:CreateBucket', 'bucket', { aclAction: 's3:PutBucketAcl' }],
  ['DeleteBucket', 's3:DeleteBucket', 'bucket'],
  ['HeadBucket', 's3:ListBucket', 'bucket'],
  ['GetBucketLocation', 's3:GetBucketLocation', 'bucket'],
  ['ListObjects', 's3:ListBucket', 'bucket'],
  ['ListObjectsV2', 's3:ListBucket', 'bucket'],
  ['ListObjectVersions', 's3:ListBucketVersions', 'bucket'],
  ['ListMultipartUploads', 's3:ListBucketMultipartUploads', 'bucket'],
  ['GetObject', 's3:GetObject', 'object', { versionAction: 's3:GetObjectVersion' }],
  ['HeadObject', 's3:GetObject', 'object', { versionAction: 's3:GetObjectVersion' }],
  ['GetObjectAttributes', 's3:GetObjectAttributes', 'object', { versionAction: 's3:GetObjectVersionAttributes', alsoAction: 's3:GetObject' }],
  ['PutObject', 's3:PutObject', 'object', { aclAction: 's3:PutObjectAcl', taggingAction: 's3:PutObjectTagging' }],
  ['PostObject', 's3:PutObject', 'object', { aclAction: 's3:PutObjectAcl', taggingAction: 's3:PutObjectTagging' }],
  ['CopyObject', 's3:PutObject', 'object', { sourceAction: 's3:GetObject', aclAction: 's3:PutObjectAcl', taggingAction: 's3:PutObjectTagging' }],
  ['CreateMultipartUpload', 's3:PutObject', 'object', { aclAction: 's3:PutObjectAcl', taggingAction: 's3:PutObjectTagging' }],
  ['UploadPart', 's3:PutObject', 'object'],
  ['UploadPartCopy', 's3:PutObject', 'object', { sourceAction: 's3:GetObject' }],
  ['CompleteMultipartUpload', 's3:PutObject', 'object'],
  ['AbortMultipartUpload', 's3:AbortMultipartUpload', 'object'],
  ['ListParts', 's3:ListMultipartUploadParts', 'object'],
  ['DeleteObject', 's3:DeleteObject', 'object', { versionAction: 's3:DeleteObjectVersion' }],
  ['DeleteObjects', 's3:DeleteObject', 'object', { versionAction: 's3:DeleteObjectVersion', isPerKey: true }],
  ['GetObjectAcl', 's3:GetObjectAcl', 'object', { versionAction: 's3:GetObjectVersionAcl' }],
  ['PutObjectAcl', 's3:PutObjectAcl', 'object', { versionAction: 's3:PutObjectVersionAcl' }],
  ['GetObjectTagging', 's3:GetObjectTagging', 'object', { versionAction: 's3:GetObjectVersionTagging' }],
  ['PutObjectTagging', 's3:PutObjectTagging', 'object', { versionAction: 's3:PutObjectVersionTagging' }],
  ['DeleteObjectTagging', 's3:DeleteObjectTagging', 'object', { versionAction: 's3:DeleteObjectVersionTagging' }],
  ['GetBucketAcl', 's3:GetBucketAcl', 'bucket'],
  ['PutBucketAcl', 's3:PutBucketAcl', 'bucket'],
  ['GetBucketPolicy', 's3:GetBucketPolicy', 'bucket'],
  ['PutBucketPolicy', 's3:PutBucketPolicy', 'bucket'],
  ['DeleteBucketPolicy', 's3:DeleteBucketPolicy', 'bucket'],
  ['GetBucketPolicyStatus', 's3:GetBucketPolicyStatus', 'bucket'],
  ['GetBucketCors', 's3:GetBucketCORS', 'bucket'],
  ['PutBucketCors', 's3:PutBucketCORS', 'bucket'],
  ['DeleteBucketCors', 's3:PutBucketCORS', 'bucket'],
  ['GetBucketTagging', 's3:GetBucketTagging', 'bucket'],
  ['PutBucketTagging', 's3:PutBucketTagging', 'bucket'],
  ['DeleteBucketTagging', 's3:PutBucketTagging', 'bucket'],
  ['GetBucketVersioning', 's3:GetBucketVersioning', 'bucket'],
  ['PutBucketVersioning', 's3:PutBucketVersioning', 'bucket'],
  ['GetBucketLifecycleConfiguration', 's3:GetLifecycleConfiguration', 'bucket'],
  ['DeleteBucketLifecycle', 's3:PutLifecycleConfiguration', 'bucket'],
  ['PutBucketLifecycleConfiguration', 's3:PutLifecycleConfiguration', 'bucket'],
  ['GetBucketEncryption', 's3:GetEncryptionConfiguration', 'bucket'],
  ['DeleteBucketEncryption', 's3:PutEncryptionConfiguration', 'bucket'],
  ['GetBucketWebsite', 's3:GetBucketWebsite', 'bucket'],
  ['DeleteBucketWebsite', 's3:DeleteBucketWebsite', 'bucket'],
  ['GetPublicAccessBlock', 's3:GetBucketPublicAccessBlock', 'bucket'],
  ['DeletePublicAccessBlock', 's3:PutBucketPublicAccessBlock', 'bucket'],
  ['PutPublicAccessBlock', 's3:PutBucketPublicAccessBlock', 'bucket'],
  ['GetBucketOwnershipControls', 's3:GetBucketOwnershipControls', 'bucket'],
  ['PutBucketOwnershipControls', 's3:PutBucketOwnershipControls', 'bucket'],
  ['DeleteBucketOwnershipControls', 's3:PutBucketOwnershipControls', 'bucket'],
  ['GetBucketReplication', 's3:GetReplicationConfiguration', 'bucket'],
  ['DeleteBucketReplication', 's3:PutReplicationConfiguration', 'bucket'],
  ['GetObjectLockConfiguration', 's3:GetBucketObjectLockConfiguration', 'bucket'],
  ['GetBucketRequestPayment', 's3:GetBucketRequestPayment', 'bucket'],
  ['GetBucketAccelerateConfiguration', 's3:GetAccelerateConfiguration', 'bucket'],
  ['GetBucketLogging', 's3:GetBucketLogging', 'bucket'],
  ['GetBucketNotificationConfiguration', 's3:GetBucketNotification', 'bucket'],
  ['ListBucketAnalyticsConfigurations', 's3:GetAnalyticsConfiguration', 'bucket'],
  ['GetBucketAnalyticsConfiguration', 's3:GetAnalyticsConfiguration', 'bucket'],
  ['ListBucketMetricsConfigurations', 's3:GetMetricsConfiguration', 'bucket'],
  ['GetBucketMetricsConfiguration', 's3:GetMetricsConfiguration', 'bucket'],
  ['ListBucketInventoryConfigurations', 's3:GetInventoryConfiguration', 'bucket'],
  ['GetBucketInventoryConfiguration', 's3:GetInventoryConfiguration', 'bucket'],
  ['ListBucketIntelligentTieringConfigurations', 's3:GetIntelligentTieringConfiguration', 'bucket'],
  ['GetBucketIntelligentTieringConfiguration', 's3:GetIntelligentTieringConfiguration', 'bucket'],
]

t.test('each operation maps to its IAM action and resource kind', async t => {
  for (const [operation, action, resource, extra = {}] of expected) {
    t.same(actionFor(operation), { action, resource, ...extra }, `${operation} → ${action} on ${resource}`)
  }
})

t.test('the table has exactly the rows checked here', async t => {
  t.same(Object.keys(OPERATION_ACCESS).sort(), expected.map(([operation]) => operation).sort())
})

t.test('every action the table names is a known S3 action of the same resource kind', async t => {
  for (const [operation, access] of Object.entries(OPERATION_ACCESS)) {
    t.equal(S3_ACTIONS.get(access.action), access.resource, `${operation}: ${access.action}`)
    for (const extra of [access.versionAction, access.sourceAction, access.taggingAction]) {
      if (extra !== undefined) t.equal(S3_ACTIONS.get(extra), 'object', `${operation}: ${extra}`)
    }
    if (access.aclAction !== undefined) t.equal(S3_ACTIONS.get(access.aclAction), access.resource, `${operation}: ${access.aclAction}`)
  }
})

t.test('an unknown operation is a programming error', async t => {
  t.throws(() => actionFor('FrobnicateBucket'), /No policy action is defined for S3 operation FrobnicateBucket/)
  t.throws(() => actionFor('toString'), /No policy action/)
})

t.test('resourceArn builds bucket and object ARNs', async t => {
  t.equal(resourceArn('photos'), 'arn:aws:s3:::photos')
  t.equal(resourceArn('photos', '2024/cat.jpg'), 'arn:aws:s3:::photos/2024/cat.jpg')
  t.equal(resourceArn('photos', ''), 'arn:aws:s3:::photos/')
  t.equal(resourceArn('photos', 'a b/ü?*'), 'arn:aws:s3:::photos/a b/ü?*', 'keys are not encoded')
  t.equal(SERVICE_RESOURCE, '*')
})
