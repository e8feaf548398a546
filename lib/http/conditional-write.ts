// Conditional writes (If-Match / If-None-Match on PutObject, CopyObject and CompleteMultipartUpload): which header
// values AWS accepts, and the check made before the body is stored and again just before the new version is
// published, so that of two racing conditional writes the first to finish wins.
import { S3Error } from '../errors/s3-error.js'
import { objectInfo, resolveObject, type BucketRef, type DeleteGuard, type WriteOptions } from '../storage/objects.js'
import type { PrefetchedWalk } from '../storage/path-walk.js'
import type { ObjectInfo, ObjectKey } from '../storage/types.js'
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
  return (current, isOtherFile) => {
    // An ETag is compared only on the file the read check allowed (see isEtagCondition).
    if (isOtherFile === true && isEtagCondition(ifMatch)) throw new S3Error('PreconditionFailed', { Condition: 'If-Match' })
    checkWriteConditions({ ifMatch }, current, key)
  }
}

/**
 * An ETag in If-Match (not `*`) compares content, so the caller had to be allowed to read the object: it is then
 * compared only on that very file. Another file at the key by the next check (renamed in over NFS between the
 * read check and the body's end) fails the condition whatever its ETag: compared, it was an oracle on a file the
 * caller may not read (review 18: one request with a list of 300 ETags found a 4-digit PIN).
 */
export function isEtagCondition (ifMatch: string | undefined): boolean {
  return ifMatch !== undefined && ifMatch.trim() !== '*'
}

/**
 * Checks the write conditions against the current object now, and arranges (through options.onCreated, which the
 * storage layer calls on the finished file just before it is renamed over the key) to check them again at the
 * end. At that second check an If-Match object that has been deleted meanwhile is 409 ConditionalRequestConflict,
 * as the S3 user guide's "Conditional write behavior" describes for a delete that succeeds during a conditional
 * write; an object created or replaced meanwhile is 412, as for any later writer.
 */
export async function guardConditionalWrite (bucket: BucketRef, key: ObjectKey, c: ConditionHeaders, options: WriteOptions, checked?: PrefetchedWalk): Promise<void> {
  if (c.ifMatch === undefined && c.ifNoneMatch === undefined) return
  // `checked`: the walk the read check judged (an ETag condition), so the first comparison is on that file.
  const first = await currentObject(bucket, key, checked)
  checkWriteConditions(c, first?.info, key)
  const pinned = isEtagCondition(c.ifMatch) ? first?.identity : undefined
  // Exactly one of several create-only writers racing for a new key wins, as on AWS: the last check below leaves
  // a window before the file takes its name, which only an atomic no-replace publish closes.
  if (c.ifNoneMatch !== undefined) options.noReplace = true
  const created = options.onCreated
  options.onCreated = async (path, parent, isDirectory, owner) => {
    await created?.(path, parent, isDirectory, owner)
    if (isDirectory) return
    const existing = await currentObject(bucket, key)
    if (c.ifMatch !== undefined && existing === undefined) {
      throw new S3Error('ConditionalRequestConflict', { Condition: 'If-Match', Key: key })
    }
    if (pinned !== undefined && existing !== undefined && (existing.identity.dev !== pinned.dev || existing.identity.ino !== pinned.ino)) {
      throw new S3Error('PreconditionFailed', { Condition: 'If-Match' })
    }
    checkWriteConditions(c, existing?.info, key)
  }
}

interface Current { info: ObjectInfo, identity: { dev: bigint, ino: bigint } }

async function currentObject (bucket: BucketRef, key: ObjectKey, prefetched?: PrefetchedWalk): Promise<Current | undefined> {
  return await resolveObject(bucket, key, prefetched).then(r => ({ info: objectInfo(key, r.st, r.stored), identity: { dev: BigInt(r.st.dev), ino: BigInt(r.st.ino) } }), (err: unknown) => {
    if (err instanceof S3Error && err.code === 'NoSuchKey') return undefined
    throw err
  })
}
