// Bucket policy handlers: PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy, GetBucketPolicyStatus.
import { Readable } from 'node:stream'
import { bucketPolicyDoc } from '../../access/policy-cache.js'
import { MAX_BUCKET_POLICY_BYTES, parsePolicy } from '../../access/policy-document.js'
import { isPolicyPublic } from '../../access/policy.js'
import { isBlocked } from '../../access/public-access-block.js'
import { S3Error } from '../../errors/s3-error.js'
import type { BucketRecord } from '../../state/types.js'
import { requireAccess } from '../authorize.js'
import { bucketRecord, updateBucket } from '../bucket-access.js'
import type { S3Reply, S3Request, Services } from '../types.js'
import { renderXml } from '../xml/render.js'

/** Bodies past the 20 KB limit are still read (up to this) so the client gets MalformedPolicy, not a reset. */
const MAX_READ_BYTES = 1024 * 1024

function policyOf (record: BucketRecord): string {
  if (record.policy === undefined) throw new S3Error('NoSuchBucketPolicy', { BucketName: record.name })
  return record.policy
}

export async function putBucketPolicy (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'PutBucketPolicy', bucket: record })
  const text = await req.readText(MAX_READ_BYTES, 'MalformedPolicy')
  const doc = parsePolicy(text, { kind: 'bucket', bucketName: record.name, maxBytes: MAX_BUCKET_POLICY_BYTES, checkConditionKeys: true })
  // BlockPublicPolicy: a policy that would make the bucket public is refused (403, as AWS); one already set stays.
  const refusePublic = (r: BucketRecord): void => {
    if (isBlocked(r.publicAccessBlock, 'blockPublicPolicy') && isPolicyPublic(doc)) {
      throw new S3Error('AccessDenied', { Resource: `/${r.name}` }, { message: 'Access Denied: the bucket blocks public policies (BlockPublicPolicy of its public access block), and this policy allows access to everyone.' })
    }
  }
  refusePublic(record)
  await updateBucket(s, req, record, bucket => { bucket.policy = text }, async r => {
    await requireAccess(req, s, { operation: 'PutBucketPolicy', bucket: r })
    refusePublic(r)
  })
  return { status: 204 }
}

export async function getBucketPolicy (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'GetBucketPolicy', bucket: record })
  const body = Buffer.from(policyOf(record), 'utf8')
  return { headers: { 'Content-Type': 'application/json' }, body: Readable.from([body]), length: body.length }
}

export async function deleteBucketPolicy (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'DeleteBucketPolicy', bucket: record })
  await updateBucket(s, req, record, bucket => { delete bucket.policy }, r => requireAccess(req, s, { operation: 'DeleteBucketPolicy', bucket: r }))
  return { status: 204 }
}

export async function getBucketPolicyStatus (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'GetBucketPolicyStatus', bucket: record })
  const isPublic = isPolicyPublic(bucketPolicyDoc(policyOf(record), record.name))
  return { xml: renderXml('PolicyStatus', { IsPublic: isPublic }) }
}
