// Bucket configurations the bridge does not keep (encryption, website, replication, ...): reads answer
// what AWS answers for a bucket that never had one, deletes succeed (there is nothing to remove), and PUTs stay
// 501 NotImplemented (no route). Clients such as terraform, rclone and s3fs read these when they look at a bucket.
import { S3Error } from '../../errors/s3-error.js'
import type { S3ErrorCode } from '../../errors/s3-errors.js'
import { requireAccess } from '../authorize.js'
import { bucketRecord } from '../bucket-access.js'
import type { Handler, S3Reply, S3Request, Services } from '../types.js'
import { renderXml } from '../xml/render.js'

/** GET of a configuration that does not exist: AWS's 404 for it. */
function notConfigured (code: S3ErrorCode): Handler {
  return async (req: S3Request, s: Services): Promise<S3Reply> => {
    const record = bucketRecord(req, s)
    await requireAccess(req, s, { operation: req.operation, bucket: record })
    throw new S3Error(code, { BucketName: record.name })
  }
}

/** GET of a configuration whose absence AWS reports as a document with its defaults. */
function defaultDocument (xml: () => string): Handler {
  return async (req: S3Request, s: Services): Promise<S3Reply> => {
    const record = bucketRecord(req, s)
    await requireAccess(req, s, { operation: req.operation, bucket: record })
    return { xml: xml() }
  }
}

/** DELETE of a configuration: nothing is stored, so there is nothing to remove; AWS answers 204 either way. */
const deleteNothing: Handler = async (req: S3Request, s: Services): Promise<S3Reply> => {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: req.operation, bucket: record })
  return { status: 204 }
}

export const getBucketEncryption = notConfigured('ServerSideEncryptionConfigurationNotFoundError')
export const getBucketWebsite = notConfigured('NoSuchWebsiteConfiguration')
export const getObjectLockConfiguration = notConfigured('ObjectLockConfigurationNotFoundError')
export const getBucketReplication = notConfigured('ReplicationConfigurationNotFoundError')

export const getBucketRequestPayment = defaultDocument(() => renderXml('RequestPaymentConfiguration', { Payer: 'BucketOwner' }))
export const getBucketAccelerateConfiguration = defaultDocument(() => renderXml('AccelerateConfiguration', {}))
/** Logging has its own (older) namespace in AWS's answers. */
export const getBucketLogging = defaultDocument(() => renderXml('BucketLoggingStatus', {}, 'http://doc.s3.amazonaws.com/2006-03-01'))
export const getBucketNotificationConfiguration = defaultDocument(() => renderXml('NotificationConfiguration', {}))

/**
 * The List*Configurations reads (analytics, metrics, inventory, S3 Intelligent-Tiering): an empty, untruncated
 * list, as AWS answers for a bucket that has none (API reference, ListBucketAnalyticsConfigurations and the
 * others); with an id, the Get* of that one configuration, which does not exist.
 */
function emptyList (root: string): Handler {
  const list = defaultDocument(() => renderXml(root, { IsTruncated: false }))
  const one = notConfigured('NoSuchConfiguration')
  return async (req, s) => await (req.query.has('id') ? one : list)(req, s)
}
export const listBucketAnalyticsConfigurations = emptyList('ListBucketAnalyticsConfigurationResult')
export const listBucketMetricsConfigurations = emptyList('ListMetricsConfigurationsResult')
export const listBucketInventoryConfigurations = emptyList('ListInventoryConfigurationsResult')
export const listBucketIntelligentTieringConfigurations = emptyList('ListBucketIntelligentTieringConfigurationsOutput')

export const deleteBucketEncryption = deleteNothing
export const deleteBucketWebsite = deleteNothing
export const deleteBucketReplication = deleteNothing
