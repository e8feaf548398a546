// Objects as files: resolve a key safely, read it, publish a new version atomically, delete it.
import { randomUUID } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { constants, readFileSync, type BigIntStats } from 'node:fs'
import { chmod, chown, link, lstat, mkdir, open, readlink, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable, type Transform } from 'node:stream'
import { keyConflictError, S3Error, s3ErrorFromErrno } from '../errors/s3-error.js'
import { checkStorableKey, forgetStagingIfStill, isDirectoryKey, keySegments, keyToPath, stagingDir } from './paths.js'
import { effectiveETag, fdPath, isStoredMetaCurrent, IMPLICIT_DIR_XATTR, markImplicitDir, META_XATTR, metaWriteError, mtimeNsOf, parseStoredMeta, readStoredMeta, removeStoredMeta, stampOf, writeStoredMeta, type StoredMeta } from './xattrs.js'
import type { ObjectInfo, ObjectKey, ObjectMeta, ObjectStream, PosixOwner, ServedObject } from './types.js'
import { writeHashed } from './hashed-write.js'
import { FileBody, type ReadGuard } from './file-body.js'
import type { MultipartStoredMeta } from './multipart.js'
import { nativeJobs, type NativeAddon, type ObjectRead } from './native.js'
import { prefetchedWalk, walkPath, WalkStat, type PrefetchedWalk } from './path-walk.js'
import { ACL_ACCESS_XATTR, ACL_DEFAULT_XATTR } from '../access/posix-acl.js'
import type { FolderWant } from './posix-access.js'
import { closeAll, isNotAFolder, openChain, openChild, openPrefix, type FolderReads, type PinnedDir } from './pinned-dir.js'

const S_ISGID = 0o2000

export interface BucketRef { name: string, root: string }

export interface WriteOptions {
  /** Who the files and folders a write makes belong to (the writer). */
  owner: PosixOwner
  /**
   * Who the object's own file belongs to when that is not `owner` (S3 Object Ownership: the bucket owner). The
   * folders made on the way stay `owner`'s, so a writer can still finish an upload under a folder it made.
   */
  fileOwner?: PosixOwner
  fileMode: number
  dirMode: number
  fsync: boolean
  /**
   * Called on each new file or folder before it takes its name in `parent` (held open), to apply inherited ACLs
   * (permission model) and the request's ACL headers. `owner` is who it belongs to once published: with the addon a
   * file is still the daemon's here (its chown is part of the publishing job), and a grant to the owner must
   * become the ACL's owner entry, not a named entry for a user the kernel never checks there.
   */
  onCreated?: (path: string, parent: PinnedDir, isDirectory: boolean, owner: { uid: number, gid: number }) => Promise<void>
  /**
   * The last permission check, on a folder held open just before an entry is created in it (and, with `entry`,
   * replaced or removed): throws when the request may not. See posix-access.ts checkFolderForWrite.
   */
  checkFolder?: FolderCheck
  /**
   * Create only (If-None-Match: *): the finished file takes the key's name only if nothing has it by then (a
   * hard link, atomic on local filesystems and over NFS alike), else PreconditionFailed; the checks before it
   * leave a window in which another writer could create the key.
   */
  noReplace?: boolean
}

/** With searchOnly, only search (x) is asked: a folder the path passes through, above the one written in. */
export type FolderCheck = (dir: PinnedDir, want?: FolderWant) => Promise<void>

export interface ResolvedObject { path: string, st: WalkStat, stored: StoredMeta | undefined }

function notFound (bucket: BucketRef, key: ObjectKey): S3Error {
  return new S3Error('NoSuchKey', { Key: key, Resource: `/${bucket.name}/${key}` })
}

/**
 * lstat every directory from the bucket root down to the key's parent: a symlink or non-directory
 * on the way means the key does not exist (we never follow links planted over NFS).
 */
/**
 * The key's file (or folder marker) and its stored metadata, from one walk of its path (one thread-pool job with
 * the addon, or the walk GetObject/HeadObject/DeleteObject started before their permission check). Every folder
 * on the way must be a real folder (the walk stops at a symlink or a file), the key itself a file, or a folder
 * someone made an object (PUT "k/").
 */
export async function resolveObject (bucket: BucketRef, key: ObjectKey, prefetched?: PrefetchedWalk): Promise<ResolvedObject> {
  const names = keySegments(key)
  const early = prefetchedWalk(prefetched, bucket.root, names)
  const w = await (early ?? walkPath(bucket.root, names, { metaXattr: META_XATTR })).catch(() => undefined)
  const st = w?.found.length === names.length + 1 ? w.found[names.length]!.stats : undefined
  if (st === undefined || (isDirectoryKey(key) ? !st.isDirectory() : !st.isFile())) throw notFound(bucket, key)
  const meta = w?.meta ?? metaOfRead(w?.read, st)
  const stored = meta === undefined ? undefined : parseStoredMeta(meta.toString('utf8'))
  if (isDirectoryKey(key) && !stored) throw notFound(bucket, key)
  return { path: keyToPath(bucket.root, key), st, stored }
}

/**
 * A GetObject walk (readMax) reads the metadata with the file, not as the last component's: that read's, when it
 * opened the very file the walk reached.
 */
function metaOfRead (read: ObjectRead | NodeJS.ErrnoException | undefined, walked: WalkStat): Buffer | undefined {
  if (read === undefined || read instanceof Error || read.status === 1 || read.metaLen < 0) return undefined
  const st = WalkStat.at(read.stats, 0)
  return st.dev === walked.dev && st.ino === walked.ino ? read.meta.subarray(0, read.metaLen) : undefined
}

/** The stat fields an object's info is made of (Node's bigint stats, or the addon's). */
export type ObjectStat = Pick<BigIntStats, 'isDirectory' | 'size' | 'mtimeNs' | 'dev' | 'ino'> & { uid: bigint | number, gid: bigint | number, mode: bigint | number }

export function objectInfo (key: ObjectKey, st: ObjectStat, stored: StoredMeta | undefined): ObjectInfo {
  const isDirectoryMarker = st.isDirectory()
  // What describes the bytes (checksums, part count, user metadata such as s3cmd's md5 or rclone's mtime) holds
  // only while the stamp matches: a file rewritten over NFS keeps its xattr, a stale checksum makes SDKs that
  // validate downloads (botocore, the AWS CLI) fail, and stale x-amz-meta-* make sync tools skip the edit.
  const current = isDirectoryMarker || isStoredMetaCurrent(st, stored)
  return {
    key,
    size: isDirectoryMarker ? 0 : Number(st.size),
    etag: isDirectoryMarker ? (stored?.etag ?? 'd41d8cd98f00b204e9800998ecf8427e') : effectiveETag(st, stored),
    lastModified: new Date(Number(mtimeNsOf(st) / 1_000_000n)),
    isDirectoryMarker,
    meta: { user: (current ? stored?.user : undefined) ?? {}, contentType: stored?.contentType, contentEncoding: stored?.contentEncoding, contentDisposition: stored?.contentDisposition, contentLanguage: stored?.contentLanguage, cacheControl: stored?.cacheControl, expires: stored?.expires, checksums: current ? stored?.checksums : undefined, tags: stored?.tags, websiteRedirectLocation: stored?.websiteRedirectLocation },
    partCount: current ? stored?.partCount : undefined,
    partTable: current && stored?.partCount !== undefined ? { sizes: (stored as MultipartStoredMeta).parts, checksums: (stored as MultipartStoredMeta).partChecksums } : undefined,
    ownerUid: Number(st.uid),
    ownerGid: Number(st.gid),
    mode: Number(st.mode) & 0o7777,
  }
}

/** resolveObject's answer as ObjectInfo. */
export async function headObject (bucket: BucketRef, key: ObjectKey, prefetched?: PrefetchedWalk): Promise<ObjectInfo> {
  const r = await resolveObject(bucket, key, prefetched)
  return objectInfo(key, r.st, r.stored)
}

export type ByteRange = { start: number, end: number }
type RangeChoice = ByteRange | ((info: ObjectInfo) => ByteRange | undefined)

/** Objects (or ranges) up to this size are read with one read(2) and served from one buffer. */
export const INLINE_READ_MAX = 128 * 1024

/**
 * Opens the object for reading. The descriptor is checked to be a regular file inside the bucket; the
 * object's info comes from the descriptor itself, so a concurrent replace (S3 or NFS) yields the version we
 * actually read, never a 404 or a torn mix. `range` may be a function of that info (conditions and ranges
 * are decided on the version served); it may throw to refuse.
 */
/**
 * Opens an object to stream it. With `checked` (the walk its permission check used), the file opened must be the
 * inode that walk reached: a name renamed or exchanged over NFS since the check is refused, never served.
 */
export async function openObject (bucket: BucketRef, key: ObjectKey, range?: RangeChoice, checked?: PrefetchedWalk): Promise<ObjectStream> {
  const opened = await openChecked(bucket, key, range, await checkedFile(checked, bucket, key))
  if (opened.fh === undefined) return { info: opened.info, body: Readable.from([]) }
  return { info: opened.info, body: readStream(opened.fh, opened.st!, opened.info, opened.served), range: opened.served }
}

/**
 * GetObject's variant: like openObject, but a small object or range comes back as one buffer read with a
 * single read(2), which costs a fraction of a file stream (profile of 4 KiB GETs) and holds no descriptor.
 */
export async function openObjectToServe (bucket: BucketRef, key: ObjectKey, range?: RangeChoice, prefetched?: PrefetchedWalk): Promise<ServedObject> {
  const small = await readSmallObject(bucket, key, prefetched, range)
  if (small !== undefined) return small
  const opened = await openChecked(bucket, key, range, await checkedFile(prefetched, bucket, key))
  const { fh, info, served, st } = opened
  if (fh === undefined) return { info, body: Buffer.alloc(0) }
  const bytes = served ? served.end - served.start + 1 : info.size
  if (bytes > INLINE_READ_MAX) return { info, body: readStream(fh, st!, info, served), range: served }
  try {
    const buffer = Buffer.allocUnsafe(bytes)
    let got = 0
    while (got < bytes) {
      const { bytesRead } = await fh.read(buffer, got, bytes - got, (served?.start ?? 0) + got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    // Truncated by someone else between fstat and read: the headers promise bytes that no longer exist.
    if (got < bytes) throw new S3Error('InternalError', { Key: key }, { message: 'The object changed while it was read; please retry.' })
    return { info, body: buffer, range: served }
  } finally {
    await fh.close()
  }
}

/** The addon's one-job publish of a staged upload, unless it is missing or S3BRIDGE_NO_NATIVE_STAT=1. */
function nativePublish (): NativeAddon['publishFile'] {
  return nativeJobs()?.publishFile
}

/**
 * GetObject's (and HeadObject's and DeleteObject's, with read: false) walk of the key's path, started before the permission check so
 * that one addon job reads what the check needs, the metadata and the file itself (undefined without the addon, or
 * for a folder key).
 */
export function prefetchForRead (bucket: BucketRef, key: ObjectKey, opts: { read: boolean } = { read: true }): PrefetchedWalk | undefined {
  if (isDirectoryKey(key) || nativeJobs()?.walkPath === undefined) return undefined
  const names = keySegments(key)
  const walk = walkPath(bucket.root, names, { aclXattr: ACL_ACCESS_XATTR, metaXattr: META_XATTR, readMax: opts.read ? INLINE_READ_MAX : undefined })
  walk.catch(() => undefined) // awaited by the permission check, unless a policy refuses first
  return { root: bucket.root, rel: names.join('/'), walk }
}

/**
 * The addon's one-job GetObject read (open, the same checks as openChecked, metadata, and the whole content of a
 * file up to INLINE_READ_MAX): undefined when the addon is missing, the key is a folder, or the file is larger
 * (then openChecked streams it).
 */
async function readSmallObject (bucket: BucketRef, key: ObjectKey, prefetched: PrefetchedWalk | undefined, range?: RangeChoice): Promise<ServedObject | undefined> {
  const native = nativeJobs()?.readObject
  if (native === undefined || isDirectoryKey(key)) return undefined
  const path = keyToPath(bucket.root, key)
  let r: ObjectRead
  try {
    // The read the permission walk already did in its job, when it reached this file; else one job now.
    const early = (await prefetchedWalk(prefetched, bucket.root, keySegments(key))?.catch(() => undefined))?.read
    if (early instanceof Error) throw early
    r = early ?? await native(path, META_XATTR, INLINE_READ_MAX)
  } catch (err) {
    if (MISSING_ON_OPEN.has((err as NodeJS.ErrnoException).code ?? '')) throw notFound(bucket, key)
    throw s3ErrorFromErrno(err, { Key: key }) ?? err
  }
  if (r.status === 1) throw notFound(bucket, key)
  if (r.status === 2 || r.data === undefined) return undefined
  const st = WalkStat.at(r.stats, 0)
  const info = objectInfo(key, st, r.metaLen >= 0 ? parseStoredMeta(r.meta.toString('utf8', 0, r.metaLen)) : undefined)
  const served = typeof range === 'function' ? range(info) : range
  // Truncated by someone else between fstat and read: the headers would promise bytes that no longer exist.
  if (r.data.length < info.size) throw new S3Error('InternalError', { Key: key }, { message: 'The object changed while it was read; please retry.' })
  return { info, body: served ? r.data.subarray(served.start, served.end + 1) : r.data, range: served }
}

function readStream (fh: FileHandle, opened: BigIntStats, info: ObjectInfo, served: ByteRange | undefined): Readable {
  const start = served?.start ?? 0
  const bytes = served ? served.end - served.start + 1 : info.size
  // The descriptor is closed once, whichever comes first: the stream's end, its failure, or a body destroyed
  // before it was read (a failed copy condition), which never starts the generator below.
  let isClosed = false
  const close = (): void => {
    if (isClosed) return
    isClosed = true
    fh.close().catch(() => undefined) // waits for a read still in flight
  }
  if (bytes <= 0) {
    close()
    return Readable.from([])
  }
  // Size the read buffer to what is served: a 256 KiB buffer per small GET is mostly garbage to collect.
  const bufferSize = Math.min(1024 * 1024, Math.max(16 * 1024, bytes))
  // Never past the bytes announced: a file an NFS user appends to meanwhile must not spill beyond Content-Length
  // (the excess would be read as the next response on the connection).
  const guard = readGuard(fh, opened, info, start, bytes)
  const body = new FileBody(fh, start, bytes, bufferSize, chunks => unchangedWhileRead(guard, chunks, bytes, close), guard)
  body.once('close', close)
  return body
}

/**
 * The file's bytes, checked to be what was announced before the last of them goes out (so a client never holds a
 * complete body that mixes two versions under the ETag and length the headers gave). Against the stat taken when
 * the file was opened (the one the headers come from):
 * - before the first byte: rewritten since without growing fails at once, nothing sent;
 * - after the last read, before the last chunk goes out: unchanged, served; truncated (fewer bytes than
 *   promised) or rewritten without growing (mtime moved, size not larger: `dd conv=notrunc`), the stream fails,
 *   and the HTTP layer cuts the connection, so the client retries; grown, or only its ctime moved (an append, a
 *   chmod, tagging, but also `cp` of a longer version or `rsync --inplace`), the served range is read again and
 *   its CRC-32 compared with that of the bytes that went out (summed as the chunks pass): different, cut.
 * What this cannot tell: bytes changed ahead of the reader go out as the file then holds them, so a longer
 * version written over the file before or faster than it is downloaded arrives as the new version's first bytes
 * under the old headers, like an append would (reviews 31b N1, 31c F1; docs/design.md). Refusing any growth
 * before the first byte would close part of that only, and made a log appended to every few milliseconds
 * undownloadable under load (the open-to-first-byte gap reached 250 ms with 16 GETs: review 31b).
 * A body the kernel sends (file-body.ts) never passes through the daemon: see `kernelBegin`/`kernelCheck`.
 */
function readGuard (fh: FileHandle, opened: BigIntStats, info: ObjectInfo, start: number, bytes: number): ReadGuard {
  const rewritten = (): Error => new Error(`${info.key}: rewritten in place while it was read`)
  const truncated = (got: number): Error => new Error(`${info.key}: truncated while it was read (${got} of ${bytes} bytes)`)
  const same = (a: BigIntStats): boolean => a.mtimeNs === opened.mtimeNs && a.ctimeNs === opened.ctimeNs && a.size === opened.size
  let crc = 0
  const rangeCrc = async (): Promise<number> => {
    const buf = Buffer.allocUnsafe(Math.min(bytes, 1024 * 1024))
    let sum = 0
    for (let at = 0; at < bytes;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, bytes - at), start + at)
      if (bytesRead === 0) throw truncated(at)
      sum = crc32(buf.subarray(0, bytesRead), sum)
      at += bytesRead
    }
    return sum
  }
  return {
    fh,
    // With its birth time where the filesystem keeps one: a number freed and reused names another file.
    identity: `${opened.dev}:${opened.ino}:${opened.birthtimeNs}`,
    async begin () {
      crc = 0
      const now = await fh.stat({ bigint: true })
      if (Number(now.size) < info.size) throw truncated(Math.max(0, Math.min(bytes, Number(now.size) - (info.size - bytes))))
      // Rewritten since the open without growing: refused before a byte goes out. Grown (an append, or a longer
      // version: they look alike) goes on, and `end` compares what went out with the file.
      if (now.mtimeNs !== opened.mtimeNs && now.size <= opened.size) throw rewritten()
    },
    observe (chunk) {
      crc = crc32(chunk, crc)
    },
    truncated,
    async end () {
      const now = await fh.stat({ bigint: true })
      if (same(now)) return
      if (now.mtimeNs !== opened.mtimeNs && now.size <= opened.size) throw rewritten()
      if (await rangeCrc() !== crc) throw rewritten()
    },
    async kernelBegin () {
      return same(await fh.stat({ bigint: true }))
    },
    async kernelCheck () {
      // The bytes sent cannot be compared (they never passed through here): any change cuts the body, and the file
      // is streamed for a while (file-body.ts), so the client's retry is compared and an appended log downloads.
      // But a file renamed over or deleted meanwhile (an S3 PUT or an NFS save over the key) only lost a link: its
      // ctime moved, its bytes did not; that download of the old version is whole.
      const now = await fh.stat({ bigint: true })
      if (same(now) || (now.nlink < opened.nlink && now.mtimeNs === opened.mtimeNs && now.size === opened.size)) return
      throw Object.assign(rewritten(), { unverifiable: true })
    },
  }
}

async function * unchangedWhileRead (guard: ReadGuard, file: AsyncIterable<Buffer>, bytes: number, close: () => void): AsyncGenerator<Buffer> {
  try {
    await guard.begin()
    let got = 0
    let held: Buffer | undefined
    for await (const chunk of file) {
      guard.observe(chunk) // the CRC of what goes out, for the end's check
      got += chunk.length
      if (held !== undefined) yield held
      held = chunk
    }
    if (got < bytes) throw guard.truncated(got)
    await guard.end()
    if (held !== undefined) yield held
  } finally {
    close()
  }
}

const MISSING_ON_OPEN = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EISDIR', 'ENAMETOOLONG'])

/**
 * Opens the key's file without resolving it first: O_NOFOLLOW refuses a symlink at the end, and the
 * descriptor's own path (/proc/self/fd) must be exactly the key's path, so no folder on the way was a
 * symlink either (planted over NFS). Info and metadata come from the descriptor: four calls in all.
 */
/**
 * The file under a key is not the one its permission check walked to: replaced over NFS in between. GetObject
 * checks again; elsewhere it is a 500 the client retries.
 */
export class ObjectReplaced extends S3Error {
  constructor (key: ObjectKey) {
    super('InternalError', { Key: key }, { message: 'The object changed while it was read; please retry.' })
  }
}

/** The file a prefetched walk (the one the permission check used) reached, as { dev, ino }. */
export async function checkedFile (checked: PrefetchedWalk | undefined, bucket: BucketRef, key: ObjectKey): Promise<{ dev: bigint, ino: bigint } | undefined> {
  if (checked === undefined || isDirectoryKey(key)) return undefined
  const names = keySegments(key)
  const w = await prefetchedWalk(checked, bucket.root, names)?.catch(() => undefined)
  const st = w?.found.length === names.length + 1 ? w.found[names.length]!.stats : undefined
  // The check allowed a file it found; without one there is nothing to serve.
  if (st === undefined) throw notFound(bucket, key)
  return { dev: st.dev, ino: st.ino }
}

async function openChecked (bucket: BucketRef, key: ObjectKey, range?: RangeChoice, expected?: { dev: bigint, ino: bigint }): Promise<{ info: ObjectInfo, fh?: FileHandle, served?: ByteRange, st?: BigIntStats }> {
  if (isDirectoryKey(key)) {
    const r = await resolveObject(bucket, key)
    const info = objectInfo(key, r.st, r.stored)
    if (typeof range === 'function') range(info)
    return { info }
  }
  const path = keyToPath(bucket.root, key)
  let fh: FileHandle
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    if (MISSING_ON_OPEN.has((err as NodeJS.ErrnoException).code ?? '')) throw notFound(bucket, key)
    throw s3ErrorFromErrno(err, { Key: key }) ?? err
  }
  try {
    const st = await fh.stat({ bigint: true })
    if (!st.isFile()) throw notFound(bucket, key)
    // Replaced since the permission check (an NFS rename or exchange): that check was not for this file.
    if (expected !== undefined && (st.dev !== expected.dev || st.ino !== expected.ino)) throw new ObjectReplaced(key)
    // A version replaced (renamed over) since we opened it reads as "PATH (deleted)": still the one we serve.
    const where = await readlink(fdPath(fh.fd))
    if (where !== path && where !== `${path} (deleted)`) throw notFound(bucket, key)
    const info = objectInfo(key, st, await readStoredMeta(fdPath(fh.fd)))
    const served = typeof range === 'function' ? range(info) : range
    return { info, fh, served, st }
  } catch (err) {
    await fh.close()
    throw err
  }
}

/**
 * Each bucket root's temp folder known to exist, by the path it was made through; checked again when a create in
 * it fails, and made again when the root's staging folder is another descriptor (opened afresh after a remount).
 */
const stagingReady = new Map<string, string>()

export async function ensureStaging (root: string): Promise<string> {
  const dir = join(stagingDir(root), 'tmp')
  if (stagingReady.get(root) === dir) return dir
  // Not recursive: stagingDir made the folder above, and under a folder removed since (the descriptor outlives its
  // name) Node's recursive mkdir never settles (ENOENT for tmp, EEXIST for the folder, again and again). Plain
  // mkdir says ENOENT, and the callers open the folder afresh.
  await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err })
  stagingReady.set(root, dir)
  return dir
}

/**
 * fn with the bucket's staging folder; when a path in it is missing (the folder was removed: the bucket deleted
 * and made again by another daemon, or an admin's rm), once more with the folder opened afresh.
 */
export async function inStaging<T> (root: string, fn: () => Promise<T>): Promise<T> {
  const used = stagingDir(root)
  try {
    return await fn()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    if (stagingReady.get(root)?.startsWith(used + '/') === true) stagingReady.delete(root)
    forgetStagingIfStill(root, used)
    return await fn()
  }
}

/** The process umask, read once (process.umask() without an argument is deprecated); undefined if unknown. */
const UMASK: number | undefined = (() => {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))
    return m?.[1] === undefined ? undefined : parseInt(m[1], 8)
  } catch {
    return undefined
  }
})()

/**
 * Opens a new temp file in staging, re-creating the staging folder if someone removed it. The file is
 * created with the final mode when the umask lets it through (saving a chmod per PUT), else 0600 until
 * its owner is set; `mode` is what it got.
 */
async function openTemp (root: string, fileMode = 0o600): Promise<{ tmp: string, fh: FileHandle, mode: number }> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
  const mode = UMASK !== undefined && (fileMode & ~UMASK & 0o777) === fileMode && (fileMode & ~0o777) === 0 ? fileMode : 0o600
  return await inStaging(root, async () => {
    const tmp = join(await ensureStaging(root), randomUUID())
    return { tmp, fh: await open(tmp, flags, mode), mode }
  })
}

/**
 * The key's parent folder, held open (pinned-dir.ts), creating missing folders as the writer and honouring
 * setgid parents. Each folder is opened from the one above without following links, so whatever an NFS user
 * renames or links meanwhile, the entry is made in a folder of this bucket. A symlink or file on the way is
 * InvalidRequest. The caller closes the result after its last use of `path`.
 */
/** What a write asks of the folders it opens: access ACLs (the folder checks), the parent's default ACL (inheritance). */
const WRITE_READS: FolderReads = { acl: ACL_ACCESS_XATTR, last: ACL_DEFAULT_XATTR }
/** What a delete asks: access ACLs, and the bridge's mark on folders it made (pruning). */
const DELETE_READS: FolderReads = { acl: ACL_ACCESS_XATTR, every: IMPLICIT_DIR_XATTR }

export async function ensureParents (bucket: BucketRef, key: ObjectKey, opts: WriteOptions, requestKey: string = key): Promise<PinnedDir> {
  const segments = keySegments(key)
  const inTheWay = (i: number, cause: unknown): S3Error => new S3Error('InvalidRequest', { Key: requestKey }, {
    message: `Cannot store the key: "${segments.slice(0, i + 1).join('/')}" is a file (or link), not a folder.`, cause,
  })
  const folders = segments.slice(0, -1)
  // The folders that exist, opened and read in one go; the checks below then cost no further hand-offs.
  const { chain, stop } = await openPrefix(bucket.root, folders, WRITE_READS)
  let dir = chain[chain.length - 1] as PinnedDir
  try {
    // Each folder below the root is judged as it is passed through (one renamed into the path since the
    // permission walk must not lend its contents); the root was checked by the walk and cannot be swapped.
    for (let i = 1; i < chain.length; i++) await opts.checkFolder?.(chain[i] as PinnedDir, 'search')
    await closeAll(chain.slice(0, -1))
    if (stop !== undefined) {
      const i = chain.length - 1
      if (isNotAFolder(stop)) throw inTheWay(i, stop)
      if (stop.code !== 'ENOENT') throw stop
    }
    // What is missing is made one folder at a time, each opened as it is made.
    for (let i = chain.length - 1; i < folders.length; i++) {
      const seg = folders[i] as string
      if (i > chain.length - 1) await opts.checkFolder?.(dir, 'search')
      let child = i > chain.length - 1
        ? await openChild(dir, seg).catch((err: unknown) => {
          if (isNotAFolder(err)) throw inTheWay(i, err)
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
          throw err
        })
        : undefined
      if (!child) {
        await opts.checkFolder?.(dir)
        await makeFolderOnce(bucket, dir, seg, opts).catch((err: unknown) => { throw s3ErrorFromErrno(err, { Key: requestKey }) ?? err })
        child = await openChild(dir, seg).catch((err: unknown) => { throw isNotAFolder(err) ? inTheWay(i, err) : err })
      }
      await dir.close()
      dir = child
    }
    return dir
  } catch (err) {
    await closeAll(chain)
    await dir.close()
    throw err
  }
}

/** Folders being made by this process, by real path: concurrent requests for the same folder wait for one maker. */
const making = new Map<string, Promise<void>>()

/**
 * One maker per folder: a second rename of a staged folder would replace the first while it is still empty,
 * and a request resolving a path through the replaced folder gets ENOENT.
 */
async function makeFolderOnce (bucket: BucketRef, parent: PinnedDir, name: string, opts: WriteOptions): Promise<void> {
  const key = join(parent.realPath, name)
  let pending = making.get(key)
  if (!pending) {
    pending = makeFolder(bucket, parent, name, opts).finally(() => making.delete(key))
    making.set(key, pending)
  }
  await pending
}

/**
 * Makes one folder for a key, complete (owner, setgid group, default ACL, implicit mark) before it appears:
 * it is built in staging and renamed into place, so a concurrent request never sees it half made (owned
 * by root). Losing a race to another request's identical folder is fine.
 */
async function makeFolder (bucket: BucketRef, parent: PinnedDir, name: string, opts: WriteOptions): Promise<void> {
  // A maker that finished just before this one registered has made it: renaming another folder over it would
  // replace it while it is empty (rename(2) allows that), under requests already holding it open.
  if (await lstat(join(parent.path, name)).then(() => true, () => false)) return
  const staged = await inStaging(bucket.root, async () => {
    const path = join(await ensureStaging(bucket.root), `dir-${randomUUID()}`)
    await mkdir(path, { mode: opts.dirMode })
    return path
  })
  const parentSt = await parent.stat()
  const setgid = (parentSt.mode & S_ISGID) !== 0
  try {
    // The mode exactly (mkdir's is cut by the umask), setgid as mkdir(2) in a setgid folder would set it. chmod
    // before chown: root is in the staged folder's group now, so S_ISGID stays without CAP_FSETID (which the
    // systemd unit does not grant), and a chown keeps a directory's S_ISGID.
    await chmod(staged, opts.dirMode | (setgid ? S_ISGID : 0))
    await chown(staged, opts.owner.uid, setgid ? Number(parentSt.gid) : opts.owner.gid)
    await markImplicitDir(staged)
    await opts.onCreated?.(staged, parent, true, { uid: opts.owner.uid, gid: setgid ? Number(parentSt.gid) : opts.owner.gid })
    await rename(staged, join(parent.path, name))
  } catch (err) {
    await rmdir(staged).catch(() => undefined)
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return // another request made it first
    throw err
  }
}

export interface PutResult { info: ObjectInfo, md5Hex: string }

export interface PutExtra {
  etag?: string
  partCount?: number
  /** Checksums known only once the body has ended (sent as a trailer): stored with the others. */
  lateChecksums?: () => Record<string, string> | undefined
  /** A copy: aligned blocks of zeros become holes (fileSink's holes mode). */
  holes?: boolean
  /** Stages the bytes pass through on their way to the file (a copy's x-amz-checksum-algorithm hasher). */
  through?: Transform[]
}

/**
 * Gives a finished temp file the key's name: rename(2) over whatever is there, or with opts.noReplace only where
 * nothing is: link(2) fails with EEXIST when the name exists (the classic NFS lock-file method; rename(2) has no
 * such mode over NFS), then the temp name goes. On a filesystem without hard links such a write is 501.
 */
export async function publishTemp (tmp: string, target: string, opts: Pick<WriteOptions, 'noReplace'>): Promise<void> {
  if (opts.noReplace !== true) return await rename(tmp, target)
  try {
    await link(tmp, target)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new S3Error('PreconditionFailed', { Condition: 'If-None-Match' })
    // No hard links here (vfat, some CIFS mounts): refused rather than published without the guarantee asked for.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EMLINK') {
      throw new S3Error('NotImplemented', {}, { message: 'Conditional writes (If-None-Match) need hard links, which this bucket\'s filesystem does not offer.' })
    }
    throw Object.assign(err as Error, { syscall: 'rename' }) // as the rename's would be: EISDIR, ENOENT retried
  }
  await unlink(tmp).catch(() => undefined) // the file is published under its name; a leftover temp name is swept
}

/**
 * Streams the body into a hidden temp file, sets owner, mode and metadata, then renames it over the
 * key: NFS readers see the old file or the new one, never a partial one. Any failure removes the temp file.
 */
export async function putObject (bucket: BucketRef, key: ObjectKey, body: Readable, meta: ObjectMeta, opts: WriteOptions, extra: PutExtra = {}): Promise<PutResult> {
  checkStorableKey(key)
  if (isDirectoryKey(key)) return putDirectoryMarker(bucket, key, body, meta, opts)
  const { tmp, fh, mode } = await openTemp(bucket.root, opts.fileMode)
  let published = false
  let madeParents = false
  let failure: unknown
  let parent: PinnedDir | undefined
  try {
    const { md5Hex } = await writeHashed(body, fh, { holes: extra.holes, through: extra.through })
    madeParents = true
    parent = await ensureParents(bucket, key, opts)
    const name = keySegments(key).at(-1) as string
    await opts.checkFolder?.(parent, { entry: name })
    const parentSt = await parent.stat()
    const setgid = (parentSt.mode & S_ISGID) !== 0
    const fileOwner = opts.fileOwner ?? opts.owner
    const uid = fileOwner.uid
    const gid = setgid ? Number(parentSt.gid) : fileOwner.gid
    // With the addon, owner, fsync, metadata and rename are one job at the end (a chown changes neither size
    // nor mtime, so the stamp read below still holds).
    const publish = opts.noReplace === true ? undefined : nativePublish()
    if (publish === undefined) await fh.chown(uid, gid)
    if (mode !== opts.fileMode) await fh.chmod(opts.fileMode) // before inheriting an ACL: chmod rewrites its mask
    await opts.onCreated?.(fdPath(fh.fd), parent, false, { uid, gid })
    if (opts.fsync && publish === undefined) await fh.sync()
    const st = await fh.stat({ bigint: true })
    const late = extra.lateChecksums?.()
    const checksums = late === undefined ? meta.checksums : { ...meta.checksums, ...late }
    const stored: StoredMeta = { ...meta, checksums, etag: extra.etag ?? md5Hex, partCount: extra.partCount, ...stampOf(st) }
    try {
      if (publish !== undefined) {
        await publish(fh.fd, tmp, join(parent.path, name), uid, gid, META_XATTR, Buffer.from(JSON.stringify(stored)), opts.fsync)
      } else {
        await writeStoredMeta(fdPath(fh.fd), stored)
        await refuseSpecialFile(join(parent.path, name))
        await publishTemp(tmp, join(parent.path, name), opts)
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      if (e.syscall === 'fsetxattr') throw await metaWriteError(err, fdPath(fh.fd))
      if (e.syscall !== 'rename') throw err
      // A folder of that name (rename(2) will not put a file over a directory), or a FIFO, socket, device or
      // symlink made over NFS (EEXIST from the publish job or refuseSpecialFile: never replaced).
      if (e.code === 'EISDIR' || e.code === 'EEXIST') throw keyConflictError({ Key: key }, err)
      // Another daemon on the same filesystem replaced a folder on the way while it was empty: make it again.
      if (e.code !== 'ENOENT') throw err
      await parent.close()
      parent = await ensureParents(bucket, key, opts)
      await opts.checkFolder?.(parent, { entry: name })
      await publishTemp(tmp, join(parent.path, name), opts).catch((again: NodeJS.ErrnoException) => {
        // Still missing: the staged file itself is gone (its staging folder was removed meanwhile). The object is not
        // stored; the client should send it again, which a 503 says (NoSuchKey would be nonsense for a PUT).
        if (again.code !== 'ENOENT') throw again
        throw new S3Error('ServiceUnavailable', { Key: key }, { message: 'The upload could not be stored: its staged data was removed before it was published. Send it again.', cause: again })
      })
    }
    published = true
    return { info: objectInfo(key, st, stored), md5Hex }
  } catch (err) {
    failure = err
    throw s3ErrorFromErrno(err, { Key: key }) ?? err
  } finally {
    await fh.close().catch(() => undefined)
    if (!published) await unlink(tmp).catch(() => undefined)
    await parent?.close()
    // Only when the filesystem is full: pruning after other failures could take a folder another write is
    // about to use (it recovers, but a concurrent marker or Complete would not).
    if (!published && madeParents && isOutOfSpace(failure)) await pruneAfterFailedWrite(bucket, key, opts.checkFolder)
  }
}

/**
 * A FIFO, socket, device or symlink that an NFS user made at the key's name is not an object and is not replaced
 * by one (the addon's publish job checks the same): EEXIST as from rename, which never fails so for a file.
 */
async function refuseSpecialFile (target: string): Promise<void> {
  const there = await lstat(target).catch(() => undefined)
  if (there !== undefined && !there.isFile() && !there.isDirectory()) {
    throw Object.assign(new Error(`EEXIST: ${target} is a special file`), { code: 'EEXIST', syscall: 'rename', path: target })
  }
}

async function putDirectoryMarker (bucket: BucketRef, key: ObjectKey, body: Readable, meta: ObjectMeta, opts: WriteOptions): Promise<PutResult> {
  let bytes = 0
  for await (const chunk of body) bytes += (chunk as Buffer).length
  if (bytes > 0) throw new S3Error('InvalidRequest', { Key: key }, { message: 'A key ending in "/" is a folder on this bridge and cannot hold data.' })
  const md5Hex = 'd41d8cd98f00b204e9800998ecf8427e'
  let folder: PinnedDir | undefined
  let madeParents = false
  let marked = false
  let failure: unknown
  try {
    // The marker is the last folder of "<key>x": ensureParents creates it like any parent, and holds it open.
    madeParents = true
    folder = await ensureParents(bucket, `${key}x` as ObjectKey, opts, key)
    // The folder the metadata lands on, judged as held (one renamed into its place since the walk has its own rights).
    await opts.checkFolder?.(folder, 'mark')
    const st = await folder.stat()
    const path = folder.path
    const stored: StoredMeta = { ...meta, etag: md5Hex, ...stampOf(st) }
    // A folder the bridge made keeps its implicit mark: while the marker is there, pruneImplicitParents leaves it
    // (it has stored metadata); once the marker is deleted, it goes when it empties, as any folder the bridge
    // made. A folder made over NFS never had the mark and is never removed by S3 deletes.
    // Create only (If-None-Match: *): the mark is set only where none is (XATTR_CREATE), so one racer wins.
    await writeStoredMeta(path, stored, { createOnly: opts.noReplace === true })
    marked = true
    return { info: objectInfo(key, st, stored), md5Hex }
  } catch (err) {
    failure = err
    throw s3ErrorFromErrno(err, { Key: key }) ?? err
  } finally {
    await folder?.close()
    if (madeParents && !marked && isOutOfSpace(failure)) await pruneAfterFailedWrite(bucket, `${key}x` as ObjectKey, opts.checkFolder)
  }
}

/**
 * A filesystem error, or the S3 error made from one, that says there was no room: the filesystem is out of space
 * or inodes, or the file's attributes cannot hold the metadata (metaWriteError's E2BIG).
 */
function isOutOfSpace (err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'InsufficientStorage' || code === 'E2BIG' || code === 'MetadataTooLarge'
}

/**
 * After a write that failed once its folders were made (no inodes or space left, refused at the end), the empty
 * folders the bridge made for it are removed again, as a delete would prune them: left, they showed as prefixes.
 */
async function pruneAfterFailedWrite (bucket: BucketRef, key: ObjectKey, checkFolder: FolderCheck | undefined): Promise<void> {
  const folders = keySegments(key).slice(0, -1)
  if (folders.length === 0) return
  const opened = await openPrefix(bucket.root, folders).catch(() => undefined)
  if (opened === undefined) return
  try {
    await pruneImplicitParents(opened.chain, folders.slice(0, opened.chain.length - 1), checkFolder)
  } catch { /* best effort: a later delete prunes them */ } finally {
    await closeAll(opened.chain)
  }
}

/** A conditional delete's test of the current object (undefined: none): throws to keep it. */
/**
 * A conditional delete's test of the current object (undefined: none): throws to keep it. `isOtherFile`: at the
 * last check, the key holds another file than the one first resolved (the one the caller's checks judged).
 */
export type DeleteGuard = (current: ObjectInfo | undefined, isOtherFile?: boolean) => void

/**
 * Deletes a key; a missing key is not an error (S3 answers 204 either way). The entry is removed from its parent
 * folder held open (pinned-dir.ts), never through a path an NFS user could have re-linked since the check; the
 * folders above stay open too, for pruning the ones the bridge made that the delete empties.
 */
export async function deleteObject (bucket: BucketRef, key: ObjectKey, prefetched?: PrefetchedWalk, checkFolder?: FolderCheck, guard?: DeleteGuard): Promise<void> {
  let current: ResolvedObject | undefined
  try {
    current = await resolveObject(bucket, key, prefetched)
  } catch (err) {
    if (!(err instanceof S3Error && err.code === 'NoSuchKey')) throw err
  }
  guard?.(current === undefined ? undefined : objectInfo(key, current.st, current.stored))
  if (current === undefined) return
  const segments = keySegments(key)
  const name = segments.at(-1) as string
  let chain: PinnedDir[]
  try {
    chain = await openChain(bucket.root, segments.slice(0, -1), DELETE_READS)
  } catch (err) {
    if (isNotAFolder(err) || (err as NodeJS.ErrnoException).code === 'ENOENT') return // gone, or no longer a key of ours
    throw s3ErrorFromErrno(err, { Key: key }) ?? err
  }
  try {
    const parent = chain[chain.length - 1] as PinnedDir
    for (const folder of chain.slice(1, -1)) await checkFolder?.(folder, 'search')
    // A file leaves its folder; a folder key only loses its marker (deleteFolderMarker judges that on the folder).
    if (!isDirectoryKey(key)) await checkFolder?.(parent, { entry: name })
    else await checkFolder?.(parent, 'search')
    const entry = join(parent.path, name)
    // A conditional delete is judged again on the entry in the held folder, just before it goes: a newer version
    // put since the first check must not be deleted by a condition only the old one met.
    if (guard !== undefined) {
      const now = await entryInfo(key, entry)
      const isOtherFile = now !== undefined && current !== undefined && (BigInt(now.st.dev) !== BigInt(current.st.dev) || BigInt(now.st.ino) !== BigInt(current.st.ino))
      guard(now?.info, isOtherFile)
    }
    try {
      if (isDirectoryKey(key)) {
        await deleteFolderMarker(parent, name, entry, checkFolder)
      } else {
        await unlink(entry).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'EISDIR') throw keyConflictError({ Key: key }, err) // a folder took the file's place meanwhile
          if (err.code !== 'ENOENT') throw err
        })
      }
    } catch (err) {
      throw s3ErrorFromErrno(err, { Key: key }) ?? err
    }
    await pruneImplicitParents(chain, segments.slice(0, -1), checkFolder)
  } finally {
    await closeAll(chain)
  }
}

/**
 * DeleteObject of "name/": the marker's metadata is cleared on the folder itself, held open without following
 * links (a symlink planted at the name meanwhile fails to open rather than lead the xattr call elsewhere). A folder
 * the bridge made goes once empty, as pruning would take it; one an NFS user made stays, marker or not (S3 deletes
 * never remove what NFS users made: an empty one used to go).
 */
async function deleteFolderMarker (parent: PinnedDir, name: string, entry: string, checkFolder: FolderCheck | undefined): Promise<void> {
  const folder = await openChild(parent, name).catch(() => undefined)
  if (folder === undefined) return // gone, or not a folder: no such key
  try {
    const isImplicit = await folder.xattr(IMPLICIT_DIR_XATTR) !== null
    const removeIfEmpty = async (): Promise<boolean> => rmdir(entry).then(() => true, (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return true
      if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST') return false
      throw err
    })
    // Removing the folder takes what removing any entry takes (write+search on the parent, the sticky rule).
    const mayRemove = isImplicit && (checkFolder === undefined || await checkFolder(parent, { entry: name }).then(() => true, () => false))
    if (mayRemove && await removeIfEmpty()) return
    if (await folder.xattr(META_XATTR) === null) return
    // Unmarking changes the folder itself: the rights marking it took (write on it, sticky owner).
    await checkFolder?.(folder, 'mark')
    await removeStoredMeta(folder.path)
    // Deletes of the keys inside, running at the same time (aws s3 rm --recursive), may have found it still marked
    // and left it.
    if (mayRemove) await removeIfEmpty().catch(() => false)
  } finally {
    await folder.close()
  }
}

/** The object at `entry` (a path through a held folder) as a conditional delete sees it; undefined when there is none. */
async function entryInfo (key: ObjectKey, entry: string): Promise<{ info: ObjectInfo, st: ObjectStat } | undefined> {
  const st = await lstat(entry, { bigint: true }).catch(() => undefined)
  if (st === undefined || (isDirectoryKey(key) ? !st.isDirectory() : !st.isFile())) return undefined
  const stored = await readStoredMeta(entry)
  if (isDirectoryKey(key) && stored === undefined) return undefined
  return { info: objectInfo(key, st, stored), st }
}

/**
 * Removes now-empty folders the bridge made implicitly, deepest first, up to (not including) the bucket root:
 * chain[i] holds folders[0..i) open, so each folder is looked at and removed through its parent's descriptor.
 */
async function pruneImplicitParents (chain: readonly PinnedDir[], folders: readonly string[], checkFolder?: FolderCheck): Promise<void> {
  for (let depth = folders.length; depth > 0; depth--) {
    const held = (chain[depth] as PinnedDir).path // the folder itself: its marks are read through its own descriptor
    try {
      if (await (chain[depth] as PinnedDir).xattr(IMPLICIT_DIR_XATTR) === null || await readStoredMeta(held)) return
      // The mark is a user.* xattr anyone who may write the folder can set: only a folder the caller could
      // remove itself (write+search on its parent, the sticky rule) is removed for it.
      await checkFolder?.(chain[depth - 1] as PinnedDir, { entry: folders[depth - 1] as string })
      await rmdir(join((chain[depth - 1] as PinnedDir).path, folders[depth - 1] as string))
    } catch {
      return
    }
  }
}
