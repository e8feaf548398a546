// Bucket lifecycle: PutBucketLifecycleConfiguration, GetBucketLifecycleConfiguration, DeleteBucketLifecycle. The
// rules act through the daily job (lib/daemon/lifecycle-job.ts).
import { storedLifecycle } from '../../config/lifecycle-rules.js'
import { S3Error } from '../../errors/s3-error.js'
import { requireAccess } from '../authorize.js'
import { bucketRecord, updateBucket } from '../bucket-access.js'
import { parseLifecycleXml, renderLifecycleXml } from '../lifecycle.js'
import { requireIntegrityHeader } from '../s3-headers.js'
import type { S3Reply, S3Request, Services } from '../types.js'

/** 1,000 rules with long prefixes and a few tags each fit. */
const MAX_LIFECYCLE_XML_BYTES = 2 * 1024 * 1024

export async function putBucketLifecycleConfiguration (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'PutBucketLifecycleConfiguration', bucket: record })
  requireIntegrityHeader(req.headers) // API_PutBucketLifecycleConfiguration: Content-MD5 (or an SDK checksum) is required
  const config = await parseLifecycleXml(await req.readText(MAX_LIFECYCLE_XML_BYTES))
  await updateBucket(s, record.name, bucket => { bucket.lifecycle = config })
  return { status: 200 }
}

export async function getBucketLifecycleConfiguration (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'GetBucketLifecycleConfiguration', bucket: record })
  const config = storedLifecycle(record.lifecycle)
  if (!config) throw new S3Error('NoSuchLifecycleConfiguration', { BucketName: record.name })
  return { xml: renderLifecycleXml(config) }
}

export async function deleteBucketLifecycle (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'DeleteBucketLifecycle', bucket: record })
  await s.state.mutate(state => { delete state.buckets[record.name]?.lifecycle })
  return { status: 204 }
}
