// Bucket CORS configuration: PutBucketCors, GetBucketCors, DeleteBucketCors.
import { S3Error } from '../../errors/s3-error.js'
import { requireAccess } from '../authorize.js'
import { bucketRecord, updateBucket } from '../bucket-access.js'
import { parseCorsXml, renderCorsXml, storedCors } from '../cors.js'
import { requireIntegrityHeader } from '../s3-headers.js'
import type { S3Reply, S3Request, Services } from '../types.js'

/** 100 rules of long origin lists fit easily; anything larger is not a CORS document. */
const MAX_CORS_XML_BYTES = 64 * 1024

export async function putBucketCors (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'PutBucketCors', bucket: record })
  requireIntegrityHeader(req.headers) // API_PutBucketCors: Content-MD5 (or an SDK checksum) is required
  const config = await parseCorsXml(await req.readText(MAX_CORS_XML_BYTES))
  await updateBucket(s, record.name, bucket => { bucket.cors = config })
  return { status: 200 }
}

export async function getBucketCors (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'GetBucketCors', bucket: record })
  const config = storedCors(record.cors)
  if (!config) throw new S3Error('NoSuchCORSConfiguration', { BucketName: record.name })
  return { xml: renderCorsXml(config) }
}

export async function deleteBucketCors (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'DeleteBucketCors', bucket: record })
  await s.state.mutate(state => {
    const b = state.buckets[record.name]
    if (b) delete b.cors
  })
  return { status: 204 }
}
