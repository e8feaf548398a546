// The optional N-API addon in native/ (built by `npm run build:native` from prepare): kernel range copies and
// batched directory stats. Loaded once, here; every user falls back to plain Node when it is missing.
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { debuglog } from 'node:util'
import { packageRoot } from '../config/package-root.js'

/** statEntries' answer: parallel arrays, entry i at index i (see native/stat_entries.c). */
export interface StatBatch {
  /** 0 missing or unreadable, 1 regular file, 2 directory, 3 anything else (symlink, FIFO, socket, device). */
  kinds: Uint8Array
  /** STAT_FIELDS per entry, in the order of the STAT_* offsets below. */
  stats: BigInt64Array
  /** Byte length of the entry's attribute value in `meta`, -1 when it has none; values lie back to back. */
  metaLens: Int32Array
  /** With aclXattrName: a regular file's access ACL length in `meta` (right after its metadata); -1 none, -2 not read. */
  aclLens?: Int32Array
  meta: Buffer
}

/** walkPath's answer (native/object_path.c): the components found, root first, with what the walk reads of them. */
export interface PathWalk {
  count: number
  /** errno of the first name that could not be lstat'ed (0: none, the walk stopped at a non-folder or the end). */
  stopErrno: number
  stats: BigInt64Array
  /** Byte length of each component's access ACL in `acls`; -1 none, -2 not read (the caller reads it if needed). */
  aclLens: Int32Array
  acls: Buffer
  /** Length of the last component's metadata attribute in `meta`; -1 none. */
  metaLen: number
  meta: Buffer
  /** With readMax: the read of the regular file the walk reached (readObject's answer, or the Error its open failed with). */
  read?: ObjectRead | NodeJS.ErrnoException
}

/** openFolders' answer (native/object_path.c): the folders opened, root first; the descriptors are the caller's. */
export interface OpenedFolders {
  count: number
  /** errno of the first name that could not be opened (0: all were). */
  stopErrno: number
  fds: Int32Array
  stats: BigInt64Array
  /** Per folder: length of its access ACL in `acls` (-1 none, -2 not read). */
  aclLens: Int32Array
  acls: Buffer
  /** Per folder below the root: length of everyXattr's value in `every` (-1 none, -2 not read). */
  everyLens: Int32Array
  every: Buffer
  /** The last folder's lastXattr: length in `last` (-1 none, -2 not read). */
  lastLen: number
  last: Buffer
}

/** readObject's answer: status 0 read (data), 1 not a regular file reached without symlinks, 2 too large to read inline. */
export interface ObjectRead {
  status: 0 | 1 | 2
  stats: BigInt64Array
  metaLen: number
  meta: Buffer
  data?: Buffer
}

/** An MD5 context owned by the addon (an N-API external; opaque here). */
export interface Md5Handle { readonly __md5Handle: unique symbol }

export const STAT_FIELDS = 7
export const STAT_SIZE = 0
export const STAT_MTIME_NS = 1
export const STAT_DEV = 2
export const STAT_INO = 3
export const STAT_UID = 4
export const STAT_GID = 5
export const STAT_MODE = 6

export interface NativeAddon {
  /** Copies a range inside the kernel (reflink, else copy_file_range), on a libuv worker thread. */
  copyRange: (fdIn: number, offIn: number, fdOut: number, offOut: number, length: number) => Promise<'clone' | 'copy'>
  /**
   * In one libuv worker job: lstat (fstatat, AT_SYMLINK_NOFOLLOW) of each name in dirPath, and for regular files
   * and directories the extended attribute xattrName (lgetxattr). `joinedNames` holds the names joined by '/'.
   */
  statEntries?: (dirPath: string, joinedNames: string, xattrName?: string, aclXattrName?: string, aclSkipUid?: number) => Promise<StatBatch>
  /**
   * A whole folder in one libuv job: its files and subfolders as S3 sort keys (name, or name + '/'), without
   * `skip`, sorted in byte order and packed: key i is keys[offsets[i] .. offsets[i + 1]). Rejects with an errno
   * error; ENOMEM past 4 GiB of names.
   */
  readDirSorted?: (dirPath: string, skip?: string) => Promise<{ keys: Buffer, offsets: Uint32Array, isDir: Uint8Array }>
  /** One job: stat of root, lstat of each component of rel, their access ACLs and the last one's metadata (or, with readMax, readObject of the file reached). */
  walkPath?: (root: string, rel: string, aclXattr: string | null, metaXattr: string | null, readMax?: number) => Promise<PathWalk>
  /** One job: GetObject's open + checks + metadata + whole content up to inlineMax bytes (see object_path.c). */
  readObject?: (path: string, metaXattr: string | null, inlineMax: number) => Promise<ObjectRead>
  /** One job: fchown, fsync (when asked), fsetxattr of the metadata, rename(tmp, target); the fd stays open. */
  publishFile?: (fd: number, tmp: string, target: string, uid: number, gid: number, metaXattr: string, metaValue: Buffer, fsync: boolean) => Promise<void>
  /** One job: open root, then each folder of rel with openat(O_DIRECTORY | O_NOFOLLOW), fstat and the asked attributes of each. */
  openFolders?: (root: string, rel: string, aclXattr: string | null, everyXattr: string | null, lastXattr: string | null) => Promise<OpenedFolders>
  /** Extended attributes (native/xattr.c), each call one libuv job; reject with an errno error (`code`). */
  getXattr?: (path: string, name: string) => Promise<Buffer>
  /** flags: setxattr(2)'s (1 XATTR_CREATE: EEXIST when the attribute is there). */
  setXattr?: (path: string, name: string, value: Buffer | string, flags?: number) => Promise<void>
  removeXattr?: (path: string, name: string) => Promise<void>
  /** malloc_trim(0) on a pool thread (native/memory.c): resolves whether memory went back to the kernel. */
  trimMemory?: () => Promise<boolean>
  /**
   * One job (native/folder_probe.c): per folder name of dirPath, 1 when a key lies beneath it (the marker
   * attribute, or a regular file with a UTF-8 name, at any depth, whose key fits in keyRoom = 1024 less the byte
   * length of dirPath's key; opened O_NOFOLLOW) or it cannot be told (also past a work limit), else 0.
   */
  holdsKeys?: (dirPath: string, joinedNames: string, metaXattr: string, keyRoom: number) => Promise<Uint8Array>
  /**
   * Upload writes that hash what they write (native/md5_write.c): md5Open gives a digest context (undefined when
   * this node exports no OpenSSL digest API); md5Write is one job writing every byte of `buffers` at the file
   * offset, then adding them to the MD5 (one job per handle at a time); md5Digest ends the handle.
   */
  md5Open?: () => Md5Handle | undefined
  md5Write?: (fd: number, buffers: Buffer[], handle: Md5Handle) => Promise<number>
  md5Digest?: (handle: Md5Handle) => string
  /** dup3(withFd, fd): number fd now refers to withFd's file, what it referred to is released (native/descriptors.c). */
  replaceDescriptor?: (fd: number, withFd: number) => void
  /** A private duplicate of a connection's descriptor (native/send_file.c); the caller closes it. */
  socketDescriptor?: (fd: number) => number
  /** One job: sendfile(2) of up to count bytes of fd from offset into the socket, until done, EAGAIN, end of file or error. */
  sendFile?: (sock: number, fd: number, offset: number, count: number) => Promise<{ sent: number, errno: number }>
  /** Resolves true once the socket can take bytes, false after timeoutMs (a uv_poll on the event loop). */
  waitWritable?: (sock: number, timeoutMs: number) => Promise<boolean>
  /** shutdown(2) of both directions of a connection (ends it for the client even while Node's descriptor is closed). */
  shutdownSocket?: (sock: number) => void
}

const debug = debuglog('s3bridge')
let addon: NativeAddon | null | undefined

/** The native addon, or null when it was not built (the build is optional: no compiler, no headers). */
export function nativeAddon (): NativeAddon | null {
  if (addon === undefined) {
    try {
      const root = packageRoot()
      addon = createRequire(join(root, 'package.json'))(join(root, 'native', 'build', 'Release', 'kernel_copy.node')) as NativeAddon
    } catch (err) {
      debug('native addon not loaded (%s); kernel copies will stream and listings use lstat + getxattr', (err as Error).message)
      addon = null
    }
  }
  return addon
}

/**
 * The addon for the listing and per-request jobs (statEntries, readDirSorted, walkPath, readObject, publishFile),
 * unless S3BRIDGE_NO_NATIVE_STAT=1: read at each call, so tests can run both paths in one process.
 */
export function nativeJobs (): NativeAddon | undefined {
  return process.env.S3BRIDGE_NO_NATIVE_STAT === '1' ? undefined : nativeAddon() ?? undefined
}
