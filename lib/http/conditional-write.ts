// Conditional writes (If-Match / If-None-Match on PutObject, CopyObject and CompleteMultipartUpload): which header
// values AWS accepts, and the check made before the body is stored and again just before the new version is
// published, so that of two racing conditional writes the first to finish wins.
import { S3Error } from '../errors/s3-error.js'
import { headObject, type BucketRef, type DeleteGuard, type WriteOptions } from '../storage/objects.js'
import type { ObjectKey } from '../storage/types.js'
import { checkWriteConditions, type ConditionHeaders } from './s3-headers.js'

const NOT_IMPLEMENTED = 'A header you provided implies functionality that is not implemented'
const BAD_IF_NONE_MATCH = 'We don\'t accept the provided value of If-None-Match header for this API'

/**
 * AWS accepts only `If-None-Match: *` and one of the two headers at a time; anything else is 501 NotImplemented,
 * with the header named (aws-sdk-ruby#3144 shows AWS's answer to an ETag in If-None-Match; LocalStack's
 * AWS-recorded snapshots show the combined case and, for CompleteMultipartUpload, `If-Match: *`).
 */
export function checkWriteConditionHeaders (c: ConditionHeaders, operation: 'PutObject' | 'CopyObject' | 'CompleteMultipartUpload'): void {
  if (c.ifMatch !== undefined && c.ifNoneMatch !== undefined) {
    throw new S3Error('NotImplemented', { Header: 'If-Match,If-None-Match', additionalMessage: 'Multiple conditional request headers present in the request' }, { message: NOT_IMPLEMENTED })
  }
  if (c.ifNoneMatch !== undefined && c.ifNoneMatch.trim() !== '*') {
    throw new S3Error('NotImplemented', { Header: 'If-None-Match', additionalMessage: BAD_IF_NONE_MATCH }, { message: NOT_IMPLEMENTED })
  }
  if (operation === 'CompleteMultipartUpload' && c.ifMatch?.trim() === '*') {
    throw new S3Error('NotImplemented', { Header: 'If-None-Match', additionalMessage: BAD_IF_NONE_MATCH }, { message: NOT_IMPLEMENTED })
  }
}

/**
 * A conditional delete (DeleteObject's If-Match header, or an <ETag> in DeleteObjects): the S3 user guide's
 * "How to perform conditional deletes": `*` asks that the object exist, an ETag that it be unchanged; a missing
 * object is 404 NoSuchKey, another ETag 412 PreconditionFailed, as for a conditional write. Undefined without one.
 */
export function deleteGuard (ifMatch: string | undefined, key: ObjectKey): DeleteGuard | undefined {
  if (ifMatch === undefined) return undefined
  return current => checkWriteConditions({ ifMatch }, current, key)
}

/**
 * Checks the write conditions against the current object now, and arranges (through options.onCreated, which the
 * storage layer calls on the finished file just before it is renamed over the key) to check them again at the
 * end. At that second check an If-Match object that has been deleted meanwhile is 409 ConditionalRequestConflict,
 * as the S3 user guide's "Conditional write behavior" describes for a delete that succeeds during a conditional
 * write; an object created or replaced meanwhile is 412, as for any later writer.
 */
export async function guardConditionalWrite (bucket: BucketRef, key: ObjectKey, c: ConditionHeaders, options: WriteOptions): Promise<void> {
  if (c.ifMatch === undefined && c.ifNoneMatch === undefined) return
  checkWriteConditions(c, await currentObject(bucket, key), key)
  const created = options.onCreated
  options.onCreated = async (path, parent, isDirectory, owner) => {
    await created?.(path, parent, isDirectory, owner)
    if (isDirectory) return
    const existing = await currentObject(bucket, key)
    if (c.ifMatch !== undefined && existing === undefined) {
      throw new S3Error('ConditionalRequestConflict', { Condition: 'If-Match', Key: key })
    }
    checkWriteConditions(c, existing, key)
  }
}

async function currentObject (bucket: BucketRef, key: ObjectKey): Promise<Awaited<ReturnType<typeof headObject>> | undefined> {
  return await headObject(bucket, key).catch((err: unknown) => {
    if (err instanceof S3Error && err.code === 'NoSuchKey') return undefined
    throw err
  })
}
