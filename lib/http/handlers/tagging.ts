// Tagging: GetObjectTagging, PutObjectTagging, DeleteObjectTagging (tags in the object's metadata xattr) and
// GetBucketTagging, PutBucketTagging, DeleteBucketTagging (tags in the bucket record).
import { S3Error } from '../../errors/s3-error.js'
import { getObjectTags, setObjectTags } from '../../storage/object-tags.js'
import { checkedFile, prefetchForRead } from '../../storage/objects.js'
import type { ObjectTag } from '../../storage/types.js'
import { policiesJudgeRequestTags, relPath, requireAccess, type AccessNeeds } from '../authorize.js'
import { bucketRecord, bucketRef, updateBucket } from '../bucket-access.js'
import { MAX_BUCKET_TAGS, MAX_OBJECT_TAGS, renderTagging, tagsFromXml } from '../tagging.js'
import type { S3Reply, S3Request, Services } from '../types.js'
import { readNeeds, requestKey } from './objects.js'

const MAX_TAGGING_BODY_BYTES = 64 * 1024

/** Only the null version exists here; any other versionId names nothing. */
function checkVersion (req: S3Request): void {
  const version = req.query.get('versionId')
  if (version !== null && version !== 'null') throw new S3Error('NoSuchVersion', { VersionId: version })
}

/** Changing an object's tags rewrites its metadata: write on the file, as for its content. */
function writeNeeds (req: S3Request, s: Services): AccessNeeds & { key: ReturnType<typeof requestKey> } {
  const record = bucketRecord(req, s)
  const key = requestKey(req)
  return { operation: req.operation, bucket: record, key, fs: [{ check: 'write', path: relPath(key), bucketRoot: record.path }] }
}

export async function getObjectTagging (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const key = requestKey(req)
  checkVersion(req)
  // The tags of the file the check walked to (an NFS rename meanwhile must not hand over another file's tags).
  const checked = prefetchForRead(bucketRef(record), key, { read: false })
  await requireAccess(req, s, { ...readNeeds('GetObjectTagging', record, key), prefetched: checked }, { missingIsNoSuchKey: true })
  return { xml: renderTagging(await getObjectTags(bucketRef(record), key, checked)) }
}

/**
 * Put/DeleteObjectTagging: write on the file, checked on the walk that is then the only file tagged: an NFS user
 * could rename another file under the key between the check and the write (security sweep 10), and
 * setObjectTags refuses an inode other than the one checked. The new tags are read first when a policy judges
 * them (s3:RequestObjectTag/<key>, s3:RequestObjectTagKeys).
 */
async function changeTags (req: S3Request, s: Services, tagsOf: () => Promise<ObjectTag[]>): Promise<void> {
  const needs = writeNeeds(req, s)
  checkVersion(req)
  // Only a policy that judges the new tags needs them before the check; otherwise the caller is judged first and a
  // refused one is answered before its body is asked for (no 100 Continue, as lib/http/continue.ts promises). A
  // policy naming s3:RequestObjectTag stored between this look and the check sees this one request without tags.
  const early = policiesJudgeRequestTags(req, s, needs.bucket!) ? await tagsOf() : undefined
  const bucket = bucketRef(needs.bucket!)
  const checked = prefetchForRead(bucket, needs.key, { read: false })
  await requireAccess(req, s, { ...needs, prefetched: checked, requestTags: early }, { missingIsNoSuchKey: true })
  const tags = early ?? await tagsOf()
  await setObjectTags(bucket, needs.key, tags, await checkedFile(checked, bucket, needs.key))
}

export async function putObjectTagging (req: S3Request, s: Services): Promise<S3Reply> {
  await changeTags(req, s, async () => tagsFromXml(await req.readText(MAX_TAGGING_BODY_BYTES), MAX_OBJECT_TAGS))
  return { status: 200 }
}

export async function deleteObjectTagging (req: S3Request, s: Services): Promise<S3Reply> {
  await changeTags(req, s, async () => [])
  return { status: 204 }
}

export async function getBucketTagging (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'GetBucketTagging', bucket: record })
  const tags = record.tags
  if (tags === undefined || tags.length === 0) throw new S3Error('NoSuchTagSet', { BucketName: record.name })
  return { xml: renderTagging(tags) }
}

export async function putBucketTagging (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'PutBucketTagging', bucket: record })
  const tags = await tagsFromXml(await req.readText(MAX_TAGGING_BODY_BYTES), MAX_BUCKET_TAGS)
  await updateBucket(s, req, record, bucket => {
    if (tags.length > 0) bucket.tags = tags
    else delete bucket.tags
  }, r => requireAccess(req, s, { operation: 'PutBucketTagging', bucket: r }))
  return { status: 204 }
}

export async function deleteBucketTagging (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'DeleteBucketTagging', bucket: record })
  await updateBucket(s, req, record, bucket => { delete bucket.tags }, r => requireAccess(req, s, { operation: 'DeleteBucketTagging', bucket: r }))
  return { status: 204 }
}
