// The three calls of a bucket configuration the bridge keeps in the bucket's state record (CORS, lifecycle, the
// public access block, ownership controls): PUT parses and stores it, GET renders it or answers AWS's 404, DELETE removes it.
import { S3Error } from '../../errors/s3-error.js'
import type { S3ErrorCode } from '../../errors/s3-errors.js'
import type { BucketRecord } from '../../state/types.js'
import { requireAccess } from '../authorize.js'
import { bucketRecord, updateBucket } from '../bucket-access.js'
import { requireIntegrityHeader } from '../s3-headers.js'
import type { Handler, S3Reply, S3Request, Services } from '../types.js'

export interface StoredConfig<T> {
  /** The state record's field. */
  field: 'cors' | 'lifecycle' | 'publicAccessBlock' | 'ownershipControls'
  operations: { put: string, get: string, delete: string }
  /** AWS's 404 for a bucket without one. */
  missing: S3ErrorCode
  maxBodyBytes: number
  parse: (text: string) => Promise<T>
  /** What the state holds, narrowed; undefined: none. */
  stored: (value: unknown) => T | undefined
  render: (config: T) => string
  /** Refuses a configuration the bucket cannot take as it is (checked again inside the state update). */
  check?: (config: T, bucket: BucketRecord) => void
}

export function storedConfigHandlers<T> (c: StoredConfig<T>): { put: Handler, get: Handler, delete: Handler } {
  const put = async (req: S3Request, s: Services): Promise<S3Reply> => {
    const record = bucketRecord(req, s)
    await requireAccess(req, s, { operation: c.operations.put, bucket: record })
    // The SDKs mark these checksum-required (AWS: Content-MD5 is required); a body is then verified against it.
    requireIntegrityHeader(req.headers)
    const config = await c.parse(await req.readText(c.maxBodyBytes))
    c.check?.(config, record)
    await updateBucket(s, req, record, bucket => {
      c.check?.(config, bucket)
      ;(bucket as unknown as Record<string, unknown>)[c.field] = config
    }, async r => {
      await requireAccess(req, s, { operation: c.operations.put, bucket: r })
      c.check?.(config, r)
    })
    return { status: 200 }
  }
  const get = async (req: S3Request, s: Services): Promise<S3Reply> => {
    const record = bucketRecord(req, s)
    await requireAccess(req, s, { operation: c.operations.get, bucket: record })
    const config = c.stored(record[c.field])
    if (config === undefined) throw new S3Error(c.missing, { BucketName: record.name })
    return { xml: c.render(config) }
  }
  const remove = async (req: S3Request, s: Services): Promise<S3Reply> => {
    const record = bucketRecord(req, s)
    await requireAccess(req, s, { operation: c.operations.delete, bucket: record })
    await updateBucket(s, req, record, (bucket: BucketRecord) => { delete bucket[c.field] }, r => requireAccess(req, s, { operation: c.operations.delete, bucket: r }))
    return { status: 204 }
  }
  return { put, get, delete: remove }
}
