// S3Error: a thrown S3 failure carrying its catalogue code, status and extra XML fields.
import { S3_ERRORS, type S3ErrorCode } from './s3-errors.js'

export type S3ErrorFields = Record<string, string | number | undefined>

export class S3Error extends Error {
  readonly code: S3ErrorCode
  readonly status: number
  readonly fields: S3ErrorFields
  /** Headers the reply must carry (for example Allow on 405). */
  readonly headers: Record<string, string>

  constructor(code: S3ErrorCode, fields: S3ErrorFields = {}, options: { message?: string, headers?: Record<string, string>, cause?: unknown } = {}) {
    super(options.message ?? S3_ERRORS[code].message, { cause: options.cause })
    this.name = code
    this.code = code
    this.status = S3_ERRORS[code].status
    this.fields = fields
    this.headers = options.headers ?? {}
  }
}

export function isS3Error(err: unknown): err is S3Error {
  return err instanceof S3Error
}

/** A key the filesystem cannot hold beside what is there: "a" over a folder "a", or "f/x" under a file "f". */
export function keyConflictError(fields: S3ErrorFields = {}, cause?: unknown): S3Error {
  return new S3Error('InvalidRequest', fields, { message: 'The key conflicts with an existing directory or file.', cause })
}

/** Maps a filesystem errno to the S3 error a client should see; undefined when none fits. */
export function s3ErrorFromErrno(err: unknown, fields: S3ErrorFields = {}): S3Error | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  // Metadata and tags live in one extended attribute, and a filesystem holds only so much of them per file (ext4:
  // 4 KiB for all of a file's attributes together): metaWriteError (storage/xattrs.ts) tells that from a full disk.
  if (code === 'E2BIG' && /setxattr$/.test((err as NodeJS.ErrnoException).syscall ?? '')) {
    return new S3Error('MetadataTooLarge', fields, { cause: err, message: "The object's metadata and tags do not fit in the extended attributes this filesystem keeps per file (ext4: 4 KiB for all of them); use fewer or shorter tags or metadata." })
  }
  switch (code) {
    case 'EACCES': case 'EPERM': case 'EROFS': return new S3Error('AccessDenied', fields, { cause: err })
    case 'ENOENT': case 'ENOTDIR': return new S3Error('NoSuchKey', fields, { cause: err })
    case 'ENOSPC': case 'EDQUOT': return new S3Error('InsufficientStorage', fields, { cause: err })
    case 'ENAMETOOLONG': return new S3Error('KeyTooLongError', fields, { cause: err })
    case 'EISDIR': case 'EEXIST': case 'ENOTEMPTY': return keyConflictError(fields, err)
    // A key under a folder that is another filesystem mounted inside the bucket: the staged file cannot be
    // renamed there (docs/design.md, "Mounts inside a bucket"): a clear refusal rather than a 500.
    case 'EXDEV': return new S3Error('NotImplemented', fields, { cause: err, message: 'This folder is on another filesystem mounted inside the bucket, where the bridge cannot publish objects atomically; writes there are not supported.' })
    default: return undefined
  }
}
