// Object tags live in the object's metadata xattr (user.s3bridge.meta, field "tags"), so they travel with the
// file, are replaced with it by a new PUT, and reach GET/HEAD (x-amz-tagging-count) without another read.
import { constants, type BigIntStats } from 'node:fs'
import { open, readlink } from 'node:fs/promises'
import { existingTagKeys, takesExistingTags } from '../access/object-tag-keys.js'
import { S3Error, s3ErrorFromErrno } from '../errors/s3-error.js'
import { ObjectReplaced, objectInfo, resolveObject, type BucketRef } from './objects.js'
import { isDirectoryKey } from './paths.js'
import type { ObjectInfo, ObjectKey, ObjectTag } from './types.js'
import type { PrefetchedWalk } from './path-walk.js'
import { effectiveETag, fdPath, readStoredMeta, stampOf, writeStoredMeta, type StoredMeta } from './xattrs.js'

/** The object's tags ([] when it has none); NoSuchKey when there is no such object. */
/** With `checked` (the walk the read check used), the tags of that very file, whatever the name holds by now. */
export async function getObjectTags (bucket: BucketRef, key: ObjectKey, checked?: PrefetchedWalk): Promise<ObjectTag[]> {
  const r = await resolveObject(bucket, key, checked)
  return r.stored?.tags ?? []
}

/**
 * s3:ExistingObjectTag/<key> for an operation that takes it (none for any other): the object's tags, or none when
 * there is no such object (or it cannot be read; the request then fails on its own check). Read by the daemon, never
 * shown to the caller. One definition for the daemon's check and `bridgectl explain`.
 */
export async function existingTagConditions (bucket: BucketRef, key: ObjectKey, operation: string, checked?: PrefetchedWalk): Promise<Record<string, string>> {
  if (!takesExistingTags(operation)) return {}
  return existingTagKeys(await getObjectTags(bucket, key, checked).catch(() => []))
}

/**
 * Rewrites the object's metadata record in place: same inode, mode, owner, ACL and bytes. The file is pinned by
 * a descriptor (no symlink followed, the descriptor must be the key's path), and the record is read and written
 * through it. `change` gets the stored record (undefined for a file written over NFS) and the file's stat.
 * With `expected` (the file the permission check walked to), another inode under the key is refused.
 */
export async function updateObjectMeta (bucket: BucketRef, key: ObjectKey, change: (stored: StoredMeta | undefined, st: BigIntStats) => StoredMeta, expected?: { dev: bigint, ino: bigint }): Promise<ObjectInfo> {
  const r = await resolveObject(bucket, key)
  const notFound = (): S3Error => new S3Error('NoSuchKey', { Key: key })
  let fh
  try {
    fh = await open(r.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | (isDirectoryKey(key) ? constants.O_DIRECTORY : 0))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') throw notFound()
    throw s3ErrorFromErrno(err, { Key: key }) ?? err
  }
  try {
    if (await readlink(fdPath(fh.fd)) !== r.path) throw notFound()
    const st = await fh.stat({ bigint: true })
    if (expected !== undefined && (st.dev !== expected.dev || st.ino !== expected.ino)) throw new ObjectReplaced(key)
    const path = fdPath(fh.fd)
    const next = change(await readStoredMeta(path), st)
    await writeStoredMeta(path, next)
    return objectInfo(key, st, next)
  } catch (err) {
    throw s3ErrorFromErrno(err, { Key: key }) ?? err
  } finally {
    await fh.close().catch(() => undefined)
  }
}

/**
 * Replaces the object's tag set ([] removes it), in place (updateObjectMeta). A file written over NFS, which has
 * no metadata yet, gets a record whose ETag is the one it already shows.
 */
export async function setObjectTags (bucket: BucketRef, key: ObjectKey, tags: readonly ObjectTag[], expected?: { dev: bigint, ino: bigint }): Promise<void> {
  await updateObjectMeta(bucket, key, (stored, st) => {
    const next: StoredMeta = stored ? { ...stored } : { user: {}, etag: effectiveETag(st, undefined), ...stampOf(st) }
    if (tags.length > 0) next.tags = [...tags]
    else delete next.tags
    return next
  }, expected)
}
