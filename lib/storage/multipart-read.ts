// Reading one part of a published object (GetObject/HeadObject ?partNumber=N), from the part sizes Complete stored.
import { S3Error } from '../errors/s3-error.js'
import { partByteRange, partCountOf, partsFit, type MultipartStoredMeta } from './multipart.js'
import { resolveObject, type BucketRef } from './objects.js'
import { isStoredMetaCurrent } from './xattrs.js'
import type { ObjectKey } from './types.js'

export interface PartSelection {
  /** Inclusive byte range of the part; undefined means the whole object (part 1 of an empty single-part object). */
  range?: { start: number, end: number }
  /** Parts of a multipart object; undefined for a single-part object. */
  partCount?: number
}

function notSatisfiable (partNumber: number): S3Error {
  return new S3Error('InvalidPartNumber', { PartNumberRequested: partNumber }, { message: 'The requested partnumber is not satisfiable' })
}

/**
 * Where part N of the object lies. Objects written by PutObject, or rewritten over NFS since their
 * multipart upload, have a single part: the whole file.
 */
export async function selectObjectPart (bucket: BucketRef, key: ObjectKey, partNumber: number): Promise<PartSelection> {
  const r = await resolveObject(bucket, key)
  const stored = r.stored as MultipartStoredMeta | undefined
  if (!isStoredMetaCurrent(r.st, stored) || stored?.partCount === undefined) {
    if (partNumber !== 1) throw notSatisfiable(partNumber)
    // Still a ranged read, as AWS answers it: 206 with Content-Range over the whole object (versitygw#2074
    // records AWS's reply), and no parts count. An empty object has no byte range to name.
    const size = Number(r.st.size)
    return size > 0 ? { range: { start: 0, end: size - 1 } } : {}
  }
  // Part sizes are dropped when they do not fit in an xattr; such an object can only be read whole. The xattr is a
  // user.* one that whoever may write the file can rewrite: a table that does not add up to the file is not used
  // (it made Content-Range promise bytes past the end, and clients hung).
  if (!stored.parts || !partsFit(stored.parts, Number(r.st.size))) throw new S3Error('NotImplemented', {}, { message: 'The part sizes of this object were not recorded; read it without partNumber.' })
  const range = partByteRange(stored.parts, partNumber)
  if (!range) throw notSatisfiable(partNumber)
  return { range, partCount: partCountOf(stored.parts) }
}
