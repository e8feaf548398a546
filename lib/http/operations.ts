// The route table: which S3 operation a request is, by method, target and sub-resource, in AWS's names.
import type { Handler } from './types.js'
import { createBucket, deleteBucket, getBucketLocation, getBucketVersioning, headBucket, listBuckets, putBucketVersioning } from './handlers/buckets.js'
import { deleteObject, getObject, headObject, putObject } from './handlers/objects.js'
import { copyObject } from './handlers/copy-object.js'
import { deleteObjects } from './handlers/delete-objects.js'
import { listObjectsV1, listObjectsV2, listObjectVersions } from './handlers/listing.js'
import { getBucketAcl, getObjectAcl, putBucketAcl, putObjectAcl } from './handlers/acl.js'
import { deleteBucketPolicy, getBucketPolicy, getBucketPolicyStatus, putBucketPolicy } from './handlers/bucket-policy.js'
import { STS_ACTIONS } from './handlers/sts.js'
import { IAM_ACTIONS } from './handlers/iam.js'
import { isFormEncoded, queryApi } from './query-api.js'
import { deleteBucketCors, getBucketCors, putBucketCors } from './handlers/cors.js'
import { deleteBucketLifecycle, getBucketLifecycleConfiguration, putBucketLifecycleConfiguration } from './handlers/lifecycle.js'
import { deletePublicAccessBlock, getPublicAccessBlock, putPublicAccessBlock } from './handlers/public-access-block.js'
import { deleteBucketOwnershipControls, getBucketOwnershipControls, putBucketOwnershipControls } from './handlers/ownership-controls.js'
import { postObject } from './handlers/post-object.js'
import { deleteBucketTagging, deleteObjectTagging, getBucketTagging, getObjectTagging, putBucketTagging, putObjectTagging } from './handlers/tagging.js'
import * as config from './handlers/bucket-config.js'
import { getObjectAttributes } from './handlers/object-attributes.js'
import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload, listMultipartUploads, listParts, uploadPart, uploadPartCopy } from './handlers/multipart.js'

export type Target = 'service' | 'bucket' | 'object'

export interface Operation {
  method: string
  target: Target
  /** Query parameter that must be present (a sub-resource such as "acl"), with an optional required value. */
  query?: string
  queryValue?: string
  /** Header that must be present (x-amz-copy-source selects CopyObject). */
  header?: string
  /** Any further condition on the request (the query API is a POST whose body is form-encoded). */
  predicate?: (query: URLSearchParams, headers: Record<string, unknown>) => boolean
  name: string
  handle: Handler
}

/** Specific rows first: the first row that matches wins. */
export const OPERATIONS: Operation[] = [
  { method: 'GET', target: 'service', name: 'ListBuckets', handle: listBuckets },
  // STS (and later IAM) over the AWS query protocol: POST / with Action=... in a form body.
  { method: 'POST', target: 'service', predicate: (_q, h) => isFormEncoded(h), name: 'QueryApi', handle: queryApi({ ...STS_ACTIONS, ...IAM_ACTIONS }) },

  // policies
  { method: 'GET', target: 'bucket', query: 'policyStatus', name: 'GetBucketPolicyStatus', handle: getBucketPolicyStatus },
  { method: 'GET', target: 'bucket', query: 'policy', name: 'GetBucketPolicy', handle: getBucketPolicy },
  { method: 'PUT', target: 'bucket', query: 'policy', name: 'PutBucketPolicy', handle: putBucketPolicy },
  { method: 'DELETE', target: 'bucket', query: 'policy', name: 'DeleteBucketPolicy', handle: deleteBucketPolicy },

  // ACLs
  { method: 'GET', target: 'bucket', query: 'acl', name: 'GetBucketAcl', handle: getBucketAcl },
  { method: 'PUT', target: 'bucket', query: 'acl', name: 'PutBucketAcl', handle: putBucketAcl },

  { method: 'GET', target: 'bucket', query: 'location', name: 'GetBucketLocation', handle: getBucketLocation },
  { method: 'GET', target: 'bucket', query: 'versioning', name: 'GetBucketVersioning', handle: getBucketVersioning },
  { method: 'PUT', target: 'bucket', query: 'versioning', name: 'PutBucketVersioning', handle: putBucketVersioning },
  { method: 'GET', target: 'bucket', query: 'versions', name: 'ListObjectVersions', handle: listObjectVersions },
  { method: 'GET', target: 'bucket', query: 'list-type', queryValue: '2', name: 'ListObjectsV2', handle: listObjectsV2 },
  { method: 'POST', target: 'bucket', query: 'delete', name: 'DeleteObjects', handle: deleteObjects },
  { method: 'GET', target: 'bucket', name: 'ListObjects', handle: listObjectsV1 },
  { method: 'PUT', target: 'bucket', name: 'CreateBucket', handle: createBucket },
  { method: 'HEAD', target: 'bucket', name: 'HeadBucket', handle: headBucket },
  { method: 'DELETE', target: 'bucket', name: 'DeleteBucket', handle: deleteBucket },

  // multipart
  { method: 'GET', target: 'bucket', query: 'uploads', name: 'ListMultipartUploads', handle: listMultipartUploads },
  { method: 'POST', target: 'object', query: 'uploads', name: 'CreateMultipartUpload', handle: createMultipartUpload },
  { method: 'PUT', target: 'object', query: 'uploadId', header: 'x-amz-copy-source', name: 'UploadPartCopy', handle: uploadPartCopy },
  { method: 'PUT', target: 'object', query: 'uploadId', name: 'UploadPart', handle: uploadPart },
  { method: 'POST', target: 'object', query: 'uploadId', name: 'CompleteMultipartUpload', handle: completeMultipartUpload },
  { method: 'DELETE', target: 'object', query: 'uploadId', name: 'AbortMultipartUpload', handle: abortMultipartUpload },
  { method: 'GET', target: 'object', query: 'uploadId', name: 'ListParts', handle: listParts },

  // ACLs
  { method: 'GET', target: 'object', query: 'acl', name: 'GetObjectAcl', handle: getObjectAcl },
  { method: 'PUT', target: 'object', query: 'acl', name: 'PutObjectAcl', handle: putObjectAcl },

  // CORS and POST
  { method: 'GET', target: 'bucket', query: 'cors', name: 'GetBucketCors', handle: getBucketCors },
  { method: 'PUT', target: 'bucket', query: 'cors', name: 'PutBucketCors', handle: putBucketCors },
  { method: 'DELETE', target: 'bucket', query: 'cors', name: 'DeleteBucketCors', handle: deleteBucketCors },
  { method: 'GET', target: 'bucket', query: 'lifecycle', name: 'GetBucketLifecycleConfiguration', handle: getBucketLifecycleConfiguration },
  { method: 'PUT', target: 'bucket', query: 'lifecycle', name: 'PutBucketLifecycleConfiguration', handle: putBucketLifecycleConfiguration },
  { method: 'DELETE', target: 'bucket', query: 'lifecycle', name: 'DeleteBucketLifecycle', handle: deleteBucketLifecycle },
  { method: 'GET', target: 'bucket', query: 'publicAccessBlock', name: 'GetPublicAccessBlock', handle: getPublicAccessBlock },
  { method: 'PUT', target: 'bucket', query: 'publicAccessBlock', name: 'PutPublicAccessBlock', handle: putPublicAccessBlock },
  { method: 'DELETE', target: 'bucket', query: 'publicAccessBlock', name: 'DeletePublicAccessBlock', handle: deletePublicAccessBlock },
  { method: 'POST', target: 'bucket', name: 'PostObject', handle: postObject },

  // tagging
  { method: 'GET', target: 'bucket', query: 'tagging', name: 'GetBucketTagging', handle: getBucketTagging },
  { method: 'PUT', target: 'bucket', query: 'tagging', name: 'PutBucketTagging', handle: putBucketTagging },
  { method: 'DELETE', target: 'bucket', query: 'tagging', name: 'DeleteBucketTagging', handle: deleteBucketTagging },
  { method: 'GET', target: 'object', query: 'tagging', name: 'GetObjectTagging', handle: getObjectTagging },
  { method: 'GET', target: 'object', query: 'attributes', name: 'GetObjectAttributes', handle: getObjectAttributes },
  { method: 'PUT', target: 'object', query: 'tagging', name: 'PutObjectTagging', handle: putObjectTagging },
  { method: 'DELETE', target: 'object', query: 'tagging', name: 'DeleteObjectTagging', handle: deleteObjectTagging },

  // configurations the bridge does not keep: AWS's answers for a bucket without one (PUTs stay NotImplemented)
  { method: 'GET', target: 'bucket', query: 'encryption', name: 'GetBucketEncryption', handle: config.getBucketEncryption },
  { method: 'DELETE', target: 'bucket', query: 'encryption', name: 'DeleteBucketEncryption', handle: config.deleteBucketEncryption },
  { method: 'GET', target: 'bucket', query: 'website', name: 'GetBucketWebsite', handle: config.getBucketWebsite },
  { method: 'DELETE', target: 'bucket', query: 'website', name: 'DeleteBucketWebsite', handle: config.deleteBucketWebsite },
  { method: 'GET', target: 'bucket', query: 'ownershipControls', name: 'GetBucketOwnershipControls', handle: getBucketOwnershipControls },
  { method: 'PUT', target: 'bucket', query: 'ownershipControls', name: 'PutBucketOwnershipControls', handle: putBucketOwnershipControls },
  { method: 'DELETE', target: 'bucket', query: 'ownershipControls', name: 'DeleteBucketOwnershipControls', handle: deleteBucketOwnershipControls },
  { method: 'GET', target: 'bucket', query: 'replication', name: 'GetBucketReplication', handle: config.getBucketReplication },
  { method: 'DELETE', target: 'bucket', query: 'replication', name: 'DeleteBucketReplication', handle: config.deleteBucketReplication },
  { method: 'GET', target: 'bucket', query: 'object-lock', name: 'GetObjectLockConfiguration', handle: config.getObjectLockConfiguration },
  { method: 'GET', target: 'bucket', query: 'requestPayment', name: 'GetBucketRequestPayment', handle: config.getBucketRequestPayment },
  { method: 'GET', target: 'bucket', query: 'accelerate', name: 'GetBucketAccelerateConfiguration', handle: config.getBucketAccelerateConfiguration },
  { method: 'GET', target: 'bucket', query: 'logging', name: 'GetBucketLogging', handle: config.getBucketLogging },
  { method: 'GET', target: 'bucket', query: 'notification', name: 'GetBucketNotificationConfiguration', handle: config.getBucketNotificationConfiguration },
  ...([
    ['analytics', 'Analytics', config.listBucketAnalyticsConfigurations],
    ['metrics', 'Metrics', config.listBucketMetricsConfigurations],
    ['inventory', 'Inventory', config.listBucketInventoryConfigurations],
    ['intelligent-tiering', 'IntelligentTiering', config.listBucketIntelligentTieringConfigurations],
  ] as const).flatMap(([query, kind, handle]): Operation[] => [
    { method: 'GET', target: 'bucket', query, predicate: q => q.has('id'), name: `GetBucket${kind}Configuration`, handle },
    { method: 'GET', target: 'bucket', query, name: `ListBucket${kind}Configurations`, handle },
  ]),

  { method: 'PUT', target: 'object', header: 'x-amz-copy-source', name: 'CopyObject', handle: copyObject },
  { method: 'PUT', target: 'object', name: 'PutObject', handle: putObject },
  { method: 'GET', target: 'object', name: 'GetObject', handle: getObject },
  { method: 'HEAD', target: 'object', name: 'HeadObject', handle: headObject },
  { method: 'DELETE', target: 'object', name: 'DeleteObject', handle: deleteObject },
]

/**
 * Sub-resources S3 defines. A request naming one that no row handles must not fall through to a plain
 * GET/PUT (GET ?acl is not ListObjects): it is answered NotImplemented.
 */
export const SUBRESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'delete', 'encryption', 'intelligent-tiering',
  'inventory', 'legal-hold', 'lifecycle', 'location', 'logging', 'metrics', 'notification', 'object-lock',
  'ownershipControls', 'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment',
  'restore', 'retention', 'select', 'tagging', 'torrent', 'uploadId', 'uploads', 'versioning', 'versions',
  'website', 'partNumber',
])

export function matchOperation (method: string, target: Target, query: URLSearchParams, headers: Record<string, unknown>): Operation | undefined {
  for (const op of OPERATIONS) {
    if (op.method !== method || op.target !== target) continue
    if (op.query !== undefined && (!query.has(op.query) || (op.queryValue !== undefined && query.get(op.query) !== op.queryValue))) continue
    if (op.header !== undefined && headers[op.header] === undefined) continue
    if (op.predicate !== undefined && !op.predicate(query, headers)) continue
    if (op.query === undefined && [...query.keys()].some(k => SUBRESOURCES.has(k) && !(k === 'partNumber' && (method === 'GET' || method === 'HEAD') && isPartNumberHandled(op)))) continue
    return op
  }
  return undefined
}

/** GetObject/HeadObject read one part of a multipart object with ?partNumber=N. */
function isPartNumberHandled (op: Operation): boolean {
  return op.name === 'GetObject' || op.name === 'HeadObject'
}
