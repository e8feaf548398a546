// Listing: walks bucket directories depth-first in S3 key order, with prefix, delimiter and markers.
import { closeSync, constants, openSync } from 'node:fs'
import { lstat, open, opendir } from 'node:fs/promises'
import { isUtf8 } from 'node:buffer'
import { sortedDir, type HeldFolder, type SortedDir } from './dir-cache.js'
import { basename, dirname, join } from 'node:path'
import { compareKeys } from './key-order.js'
import { MAX_KEY_BYTES, STAGING_DIR } from './paths.js'
import { objectInfo, type BucketRef } from './objects.js'
import { META_XATTR, parseStoredMeta, readStoredMeta, type StoredMeta } from './xattrs.js'
import { nativeJobs, type NativeAddon } from './native.js'
import { WalkStat } from './path-walk.js'
import type { ObjectInfo, ObjectKey } from './types.js'
import { ACL_ACCESS_XATTR, decodePosixAcl } from '../access/posix-acl.js'
import { checkAccess, type PosixCredentials } from '../access/posix-permission.js'
import * as xattr from './xattr.js'

export interface ListParams {
  prefix: string
  delimiter?: string
  /** Exclusive lower bound (marker, start-after, continuation token). */
  after?: string
  maxKeys: number
  /**
   * Permission hook: may the principal list this directory? Unreadable folders are skipped. When it answers with
   * the folder's identity (the inode its check judged), the folder read must be that inode: one renamed or
   * exchanged in since the check (an NFS user at work) is skipped, never read.
   */
  canEnter?: (dirPath: string) => Promise<boolean | FolderIdentity>
  /**
   * Who the listing is for. A file's ETag and checksums describe its content; for a file this principal may not
   * read, the listing shows what `stat` shows (the ETag a file written over NFS has) instead of the stored MD5,
   * as NFS refuses such a user the metadata attribute that holds it (a 4-digit PIN's MD5 is the PIN).
   */
  viewer?: ListViewer
}

export interface ListViewer { readonly who: PosixCredentials, readonly rootHasRights: boolean }

export interface FolderIdentity { readonly dev: bigint, readonly ino: bigint }

export interface ListPage {
  objects: ObjectInfo[]
  commonPrefixes: string[]
  isTruncated: boolean
  /** The last key or common prefix returned, for the next page's marker. */
  lastReturned?: string
}

type Entry = { kind: 'object', info: ObjectInfo } | { kind: 'dir', key: string, path: string }

/** Without the addon: lstat + getxattr per file, this many at a time so the thread pool works in parallel. */
const STAT_BATCH = 64
/** With the addon: one job stats this many names (a full page of 1,000 keys plus the one that says "truncated"). */
const NATIVE_STAT_BATCH = 1024
/** ...split into jobs of about this many, run at once. */
const NATIVE_CHUNK = 256

/** The stat fields objectInfo reads, from lstat or from the addon. */
type EntryStat = Parameters<typeof objectInfo>[1]
/**
 * What the walk learns about one name: its lstat and, for files and folders, its stored metadata; for files, when
 * a viewer needs it, the access ACL (null: none; undefined: not read, the kernel would not consult it; 'unknown':
 * it could not be read).
 */
interface Stated { st: EntryStat, isFile: boolean, isDirectory: boolean, stored: StoredMeta | undefined, acl?: Buffer | null | 'unknown' }

/** ACLs the stat jobs read: none when undefined; else those of files with stored metadata and group bits set, except skipUid's. */
interface AclWant { skipUid?: number }

/** What the viewer's read check needs: nothing for root with root's rights (it reads every file), else the ACLs of files it does not own. */
function aclWantFor (viewer: ListViewer | undefined): AclWant | undefined {
  if (viewer === undefined || (viewer.rootHasRights && viewer.who.uid === 0)) return undefined
  return { skipUid: viewer.who.uid }
}

/** The stored metadata the listing may show of a file: all of it to whoever may read the file, none to others. */
function shownMeta (s: Stated, viewer: ListViewer | undefined): StoredMeta | undefined {
  if (viewer === undefined || s.stored === undefined) return s.stored
  if (s.acl === 'unknown') return undefined
  const inode = { uid: Number(s.st.uid), gid: Number(s.st.gid), mode: Number(s.st.mode), acl: s.acl ? decodePosixAcl(s.acl) : undefined }
  return checkAccess(inode, viewer.who, { read: true }, { rootHasRights: viewer.rootHasRights }).allowed ? s.stored : undefined
}

/** How many more entries the page can take (one more than its room: the next entry makes it truncated). */
interface Budget { need: number }

type StatEntries = NonNullable<NativeAddon['statEntries']>

/** The addon's batched stat, unless it is missing or S3BRIDGE_NO_NATIVE_STAT=1 (read at each call). */
function nativeStat (): StatEntries | undefined {
  return nativeJobs()?.statEntries
}

/** lstat and stored metadata of names in dirPath, in order; undefined for a name that is gone or neither file nor folder. */
async function statNames (dirPath: string, names: string[], native: StatEntries | undefined, acls?: AclWant): Promise<Array<Stated | undefined>> {
  if (native === undefined) {
    return Promise.all(names.map(async name => {
      const path = join(dirPath, name)
      const st = await lstat(path, { bigint: true }).catch(() => undefined)
      if (st === undefined) return undefined
      const isFile = st.isFile()
      const isDirectory = st.isDirectory()
      if (!isFile && !isDirectory) return undefined
      const stored = await readStoredMeta(path)
      if (!isFile || acls === undefined) return { st, isFile, isDirectory, stored }
      const needsAcl = stored !== undefined && (Number(st.mode) & 0o070) !== 0 && (acls.skipUid === undefined || Number(st.uid) !== acls.skipUid)
      let acl: Buffer | null | 'unknown' | undefined = !needsAcl ? undefined : await xattr.getAttribute(path, ACL_ACCESS_XATTR).then(b => b, (err: NodeJS.ErrnoException) =>
        err.code === 'ENODATA' || err.code === 'ENOTSUP' || err.code === 'EOPNOTSUPP' ? null : 'unknown' as const)
      // Three look-ups by name, as in the addon's job: the name must still be the same, unchanged inode.
      if (stored !== undefined || acl instanceof Buffer) {
        const again = await lstat(path, { bigint: true }).catch(() => undefined)
        if (again === undefined || again.ino !== st.ino || again.dev !== st.dev || again.ctimeNs !== st.ctimeNs) acl = 'unknown'
      }
      return { st, isFile, isDirectory, stored, ...(acl === undefined ? {} : { acl }) }
    }))
  }
  const b = await native(dirPath, names.join('/'), META_XATTR, acls === undefined ? undefined : ACL_ACCESS_XATTR, acls?.skipUid)
  const out: Array<Stated | undefined> = new Array(names.length)
  let metaAt = 0
  for (let i = 0; i < names.length; i++) {
    const kind = b.kinds[i]!
    const len = b.metaLens[i]!
    let stored: StoredMeta | undefined
    if (len >= 0) {
      stored = parseStoredMeta(b.meta.toString('utf8', metaAt, metaAt + len))
      metaAt += len
    }
    // An addon built before aclLens existed answers without them: nothing it says about permissions is known.
    const aclLen = acls === undefined ? -2 : b.aclLens === undefined ? -3 : b.aclLens[i]!
    let acl: Buffer | null | 'unknown' | undefined
    if (aclLen >= 0) {
      acl = b.meta.subarray(metaAt, metaAt + aclLen)
      metaAt += aclLen
    } else if (aclLen === -1) {
      acl = null
    } else if (aclLen === -3) {
      acl = 'unknown'
    }
    if (kind !== 1 && kind !== 2) { out[i] = undefined; continue }
    const st = WalkStat.at(b.stats, i)
    out[i] = { st, isFile: kind === 1, isDirectory: kind === 2, stored, ...(acl === undefined ? {} : { acl }) }
  }
  return out
}

/**
 * Read-ahead for paging big folders: when a page may end inside a large cached folder, the names the next page
 * starts with are stat'ed right behind this page's own jobs, so the pool threads work while this page is rendered
 * and the client parses it, and the next page finds them done. A read-ahead is used only by a walk of the same
 * folder listing (the stamp: inode, mtime and ctime, so any create, delete or rename in the folder voids it), for
 * the same names, within READ_AHEAD_MS; what it read can be that much older than the request (a file rewritten in
 * place over NFS meanwhile), as for any listing of a folder that changes while it is paged.
 */
const READ_AHEAD_MS = 2000
const READ_AHEAD_SLOTS = 4
/** Pages smaller than this are cheap enough to stat on demand. */
const READ_AHEAD_MIN = 200
interface ReadAhead { dirPath: string, stamp: string, names: string[], acls: string, at: number, stated: Promise<Array<Stated | undefined>> }

/** A read-ahead serves only a walk that wants the same ACLs (those of another viewer's files are not there). */
function aclKey (acls: AclWant | undefined): string {
  return acls === undefined ? '-' : String(acls.skipUid ?? '*')
}
const readAheads: ReadAhead[] = []

function startReadAhead (dirPath: string, held: string, stamp: string, names: string[], native: StatEntries, acls: AclWant | undefined): void {
  // A descriptor of its own for the same folder (reopened through the walk's, which closes with the page): the
  // stats must come from the folder the walk was allowed to read, never from whatever dirPath names later.
  let fd: number
  try {
    fd = openSync(held, constants.O_RDONLY | constants.O_DIRECTORY)
  } catch {
    return
  }
  const own = `/proc/self/fd/${fd}`
  const chunks: Array<Promise<Array<Stated | undefined>>> = []
  for (let c = 0; c < names.length; c += NATIVE_CHUNK) chunks.push(statNames(own, names.slice(c, c + NATIVE_CHUNK), native, acls))
  const stated = Promise.all(chunks).then(parts => parts.flat())
  // Closed once every job is done (settled either way), so no job can stat through a reused descriptor number.
  void Promise.allSettled(chunks).then(() => closeSync(fd))
  stated.catch(() => undefined) // a failed read-ahead is only a miss
  readAheads.push({ dirPath, stamp, names, acls: aclKey(acls), at: Date.now(), stated })
  if (readAheads.length > READ_AHEAD_SLOTS) readAheads.shift()
}

/** The read-ahead's answer for these names (a prefix of what it read), taken out of the cache; else undefined. */
function takeReadAhead (dirPath: string, held: string, stamp: string, names: readonly string[], native: StatEntries, acls: AclWant | undefined): Promise<Array<Stated | undefined>> | undefined {
  const now = Date.now()
  const key = aclKey(acls)
  const i = readAheads.findIndex(r => r.dirPath === dirPath && r.stamp === stamp && r.acls === key && now - r.at < READ_AHEAD_MS &&
    r.names.length >= names.length && names.every((n, j) => r.names[j] === n))
  if (i < 0) return undefined
  const [r] = readAheads.splice(i, 1) as [ReadAhead]
  return r.stated.then(s => s.slice(0, names.length), () => statNames(held, [...names], native, acls))
}

/** Where to start in a sorted folder: skip entries below the prefix and the lower bound, by binary search. */
function startIndex (dir: SortedDir, dirKey: string, p: ListParams): number {
  const isDir = dir.isDir
  let start = 0
  if (p.prefix.length > dirKey.length && p.prefix.startsWith(dirKey)) {
    const rest = p.prefix.slice(dirKey.length)
    start = dir.lowerBound(rest)
    // A folder whose key is a prefix of the wanted prefix ("a/" for "a/b") sorts just before it.
    if (start > 0 && isDir[start - 1] === 1 && rest.startsWith(dir.key(start - 1))) start--
  }
  if (p.after !== undefined && p.after.startsWith(dirKey) && p.after.length > dirKey.length) {
    const rest = p.after.slice(dirKey.length)
    let i = dir.lowerBound(rest)
    if (i > 0 && isDir[i - 1] === 1 && rest.startsWith(dir.key(i - 1))) i--
    start = Math.max(start, i)
  }
  return start
}

/**
 * Deep NFS paths can make keys past S3's 1,024 bytes, which every request would refuse (KeyTooLongError): they are
 * not listed, as names that are not UTF-8 are not, so sync and delete jobs do not fail on them.
 */
function isTooLong (key: string): boolean {
  return key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key) > MAX_KEY_BYTES
}

/** Can any key under folder key D satisfy the prefix and the lower bound? */
function folderMayMatch (d: string, prefix: string, after: string | undefined): boolean {
  if (!(d.startsWith(prefix) || prefix.startsWith(d))) return false
  if (after === undefined || compareKeys(d, after) > 0 || after.startsWith(d)) return true
  return false
}

/**
 * The folder at dirPath, held open: its names and their stats are read through the descriptor, so a folder renamed
 * or exchanged into dirPath after the permission check cannot have its names listed under the checked one's
 * rights. Undefined when it is gone, is not a folder, or is not the inode `expected` names.
 */
async function openFolder (dirPath: string, expected: FolderIdentity | undefined, isRoot: boolean): Promise<(HeldFolder & { close: () => Promise<void> }) | undefined> {
  // The bucket root is trusted and followed, as everywhere else (a recorded path may end in a symlink).
  const flags = constants.O_RDONLY | constants.O_DIRECTORY | (isRoot ? 0 : constants.O_NOFOLLOW)
  const fh = await open(dirPath, flags).catch(() => undefined)
  if (fh === undefined) return undefined
  const st = await fh.stat({ bigint: true }).catch(() => undefined)
  if (st === undefined || (expected !== undefined && (st.dev !== expected.dev || st.ino !== expected.ino))) {
    await fh.close()
    return undefined
  }
  return { st, path: `/proc/self/fd/${fh.fd}`, close: () => fh.close() }
}

/** Folders probed at once when a delimiter listing meets one: the pool's threads open and read them together. */
const PROBE_AHEAD = 16
/** ...and with the addon, folders probed at once, in jobs of NATIVE_PROBE_JOB. */
const NATIVE_PROBE_BATCH = 256
const NATIVE_PROBE_JOB = 64

/**
 * Whether folders of one held folder hold any key (holdsKeys): index i's probe starts the next PROBE_AHEAD
 * folders' too, since a delimiter listing meets them one after another.
 */
class FolderProbes {
  private readonly started = new Map<number, Promise<boolean>>()
  private next = 0
  /** Bytes a key may have below the held folder: 1024 less its own key's. */
  private readonly keyRoom: number
  constructor (private readonly held: string, dirKey: string, private readonly folderAt: (i: number) => string | undefined, private readonly length: number, private readonly budget: Budget) {
    this.keyRoom = MAX_KEY_BYTES - Buffer.byteLength(dirKey)
  }

  holdsKeys (i: number, name: string): Promise<boolean> {
    if (i >= this.next) {
      this.started.clear()
      const batch: Array<[number, string]> = []
      const native = nativeJobs()?.holdsKeys
      // No further ahead than the page can still use (a max-keys=1 page probes 16, not 256), at least PROBE_AHEAD.
      const most = Math.min(native ? NATIVE_PROBE_BATCH : PROBE_AHEAD, Math.max(PROBE_AHEAD, this.budget.need))
      for (let j = i; j < this.length && batch.length < most; j++) {
        const folder = this.folderAt(j)
        if (folder === undefined) continue
        batch.push([j, folder])
        this.next = j + 1
      }
      if (native !== undefined && batch.length > 0) {
        // With the addon: a few jobs for the batch, run at once on the pool's threads.
        for (let c = 0; c < batch.length; c += NATIVE_PROBE_JOB) {
          const part = batch.slice(c, c + NATIVE_PROBE_JOB)
          const answers = native(this.held, part.map(([, f]) => f).join('/'), META_XATTR, this.keyRoom)
          part.forEach(([j], k) => this.started.set(j, answers.then(a => a[k] !== 0, () => true)))
        }
      } else {
        // Probes read ahead may never be awaited: a failure (EIO) must not become an unhandled rejection.
        for (const [j, folder] of batch) this.started.set(j, this.probe(folder))
      }
    }
    return this.started.get(i) ?? this.probe(name)
  }

  private probe (folder: string): Promise<boolean> {
    return holdsKeys(this.held, folder, this.keyRoom - Buffer.byteLength(folder) - 1).catch(() => true)
  }
}

/**
 * Whether a key lies beneath the folder `name` of the held folder: it is a folder marker, or holds a regular file
 * with a UTF-8 name, or such a folder (depth first, stopping at the first found). Every folder is opened with
 * O_NOFOLLOW from the descriptor of the one above, so a symlink planted over NFS is never followed. A folder that
 * cannot be read counts as holding keys: it was listed before this check existed, and the caller may be allowed
 * what the daemon cannot tell. `room`: bytes a key may have below the folder (a file whose key would be longer is
 * no key). The addon's holdsKeys (native/folder_probe.c) answers the same, in batches.
 */
/** What one probe may do before it answers "holds keys" without knowing (as native/folder_probe.c). */
const PROBE_MAX_FOLDERS = 1000
const PROBE_MAX_ENTRIES = 100_000

export async function holdsKeys (heldParent: string, name: string, room = MAX_KEY_BYTES, budget = { folders: 0, entries: 0 }): Promise<boolean> {
  if (++budget.folders > PROBE_MAX_FOLDERS) return true
  if (room < 0) return false
  let fh
  try {
    fh = await open(join(heldParent, name), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
  } catch (err) {
    // Gone, or no folder any more (a file or a symlink swapped in): nothing beneath it. Anything else: unknown.
    return !['ENOENT', 'ENOTDIR', 'ELOOP'].includes((err as NodeJS.ErrnoException).code ?? '')
  }
  try {
    const held = `/proc/self/fd/${fh.fd}`
    if (await readStoredMeta(held) !== undefined) return true
    // Names as bytes (Node's types only name string encodings): one that is not UTF-8 is no key.
    const dir = await opendir(held, { encoding: 'buffer' as BufferEncoding, bufferSize: 64 }).catch(() => undefined)
    if (dir === undefined) return true
    const folders: string[] = []
    try {
      for await (const d of dir) {
        if (++budget.entries > PROBE_MAX_ENTRIES) return true
        const raw = d.name as unknown as Buffer
        if (!isUtf8(raw)) continue
        if (d.isFile()) {
          if (raw.length <= room) return true
          continue // its key would be longer than 1024 bytes: the listing skips it
        }
        if (d.isDirectory()) folders.push(raw.toString('utf8'))
      }
    } finally {
      await dir.close().catch(() => undefined)
    }
    for (const f of folders) if (await holdsKeys(held, f, room - Buffer.byteLength(f) - 1, budget)) return true
    return false
  } finally {
    await fh.close().catch(() => undefined)
  }
}

async function * walk (bucket: BucketRef, dirPath: string, dirKey: string, p: ListParams, collapse: boolean, budget: Budget, expected?: FolderIdentity): AsyncGenerator<Entry> {
  const folder = await openFolder(dirPath, expected, dirKey === '')
  if (folder === undefined) return
  try {
    yield * walkHeld(bucket, dirPath, folder, dirKey, p, collapse, budget)
  } finally {
    await folder.close()
  }
}

async function * walkHeld (bucket: BucketRef, dirPath: string, folder: HeldFolder, dirKey: string, p: ListParams, collapse: boolean, budget: Budget): AsyncGenerator<Entry> {
  const dir = await sortedDir(dirPath, dirKey === '' ? STAGING_DIR : undefined, folder)
  const held = folder.path
  const isDir = dir.isDir
  const entries = { length: dir.length }
  const entryAt = (i: number): { name: string, sortKey: string, isDir: boolean } => {
    const sortKey = dir.key(i)
    const folder = isDir[i] === 1
    return { name: folder ? sortKey.slice(0, -1) : sortKey, sortKey, isDir: folder }
  }
  let floor = 1
  const probes = new FolderProbes(held, dirKey, i => isDir[i] === 1 && dir.isUtf8(i) ? dir.key(i).slice(0, -1) : undefined, entries.length, budget)
  for (let i = startIndex(dir, dirKey, p); i < entries.length; i++) {
    const e = entryAt(i)
    const key = dirKey + e.sortKey
    // A name that is not UTF-8 (made over NFS) is no key: decoded, it would name another file or folder, or none.
    if (isTooLong(key) || !dir.isUtf8(i)) continue
    if (!key.startsWith(p.prefix) && !p.prefix.startsWith(key)) {
      if (compareKeys(key, p.prefix) > 0) break // sorted: nothing later can match the prefix
      continue
    }
    if (e.isDir) {
      if (!folderMayMatch(key, p.prefix, p.after)) continue
      const path = join(dirPath, e.name)
      if (collapse && key.startsWith(p.prefix) && key.length > p.prefix.length) {
        // Delimiter '/': the folder is one common prefix, listed only when a key lies beneath it, as on AWS (an
        // empty folder made over NFS was listed, then HEAD and a listing of it found nothing: s3fs showed
        // `??????????`, and its rm -r of a tree made over NFS failed with ENOTEMPTY).
        // A folder the caller may not enter is listed whatever it holds: the probe runs with the daemon's rights,
        // and what it found there must not show through.
        if (await probes.holdsKeys(i, e.name) || (p.canEnter !== undefined && await p.canEnter(path) === false)) yield { kind: 'dir', key, path }
        continue
      }
      const entered = p.canEnter === undefined ? true : await p.canEnter(path)
      if (entered === false) continue
      const identity = entered === true ? undefined : entered
      const [d] = await statNames(held, [e.name], nativeStat())
      if (!d?.isDirectory) continue
      // The marker's metadata only from the folder the check judged (an exchange since shows another's).
      if (identity !== undefined && (BigInt(d.st.dev) !== identity.dev || BigInt(d.st.ino) !== identity.ino)) continue
      if (d.stored && key.startsWith(p.prefix) && (p.after === undefined || compareKeys(key, p.after) > 0)) {
        yield { kind: 'object', info: objectInfo(key as ObjectKey, d.st, d.stored) }
      }
      yield * walk(bucket, path, key, p, collapse, budget, identity)
      continue
    }
    if (!key.startsWith(p.prefix) || (p.after !== undefined && compareKeys(key, p.after) <= 0)) continue
    // Stat a run of files together: one addon job (or one parallel round of the thread pool) for the run, sized
    // to what the page still needs, or larger when the last runs were mostly dropped (missing files, or keys
    // collapsed into one common prefix).
    const native = nativeStat()
    const cap = native ? NATIVE_STAT_BATCH : STAT_BATCH
    const size = Math.min(cap, Math.max(budget.need, floor))
    const run = [e]
    while (run.length < size && i + 1 < entries.length && isDir[i + 1] === 0) {
      const next = entryAt(i + 1)
      const nextKey = dirKey + next.sortKey
      if (!nextKey.startsWith(p.prefix)) break
      i++
      if (!isTooLong(nextKey) && dir.isUtf8(i)) run.push(next)
    }
    // A big run goes out as a few jobs at once: the pool threads stat on both cores while this thread turns the
    // first answers into objects.
    const acls = aclWantFor(p.viewer)
    const ahead = native && dir.stamp !== undefined ? takeReadAhead(dirPath, held, dir.stamp, run.map(f => f.name), native, acls) : undefined
    const chunk = ahead !== undefined ? run.length : native && run.length > NATIVE_CHUNK ? Math.ceil(run.length / Math.ceil(run.length / NATIVE_CHUNK)) : run.length
    const jobs: Array<Promise<Array<Stated | undefined>>> = ahead !== undefined ? [ahead] : []
    for (let c = 0; ahead === undefined && c < run.length; c += chunk) {
      const job = statNames(held, run.slice(c, c + chunk).map(f => f.name), native, acls)
      job.catch(() => undefined) // awaited below, unless the page fills first
      jobs.push(job)
    }
    // A run as long as the page's room ends the page when its names are files; the next page then starts at the
    // run's last name (the one that made this page truncated), with the same room.
    if (native && dir.stamp !== undefined && run.length >= READ_AHEAD_MIN && run.length === budget.need) {
      const next: string[] = []
      for (let k = i; k < entries.length && next.length < run.length && isDir[k] === 0; k++) {
        const n = entryAt(k)
        if (!(dirKey + n.sortKey).startsWith(p.prefix)) break
        if (!isTooLong(dirKey + n.sortKey) && dir.isUtf8(k)) next.push(n.name)
      }
      if (next.length > 1) startReadAhead(dirPath, held, dir.stamp, next, native, acls)
    }
    const needBefore = budget.need
    for (let c = 0; c < jobs.length; c++) {
      const stated = await jobs[c]!
      for (let j = 0; j < stated.length; j++) {
        const s = stated[j]
        if (s?.isFile) yield { kind: 'object', info: objectInfo((dirKey + run[c * chunk + j]!.sortKey) as ObjectKey, s.st, shownMeta(s, p.viewer)) }
      }
    }
    floor = (needBefore - budget.need) * 2 < run.length ? Math.min(cap, run.length * 2) : 1
  }
}

/**
 * A prefix that names a folder ("x/") starts the walk inside it, but the folder's own marker object, key "x/",
 * begins with the prefix too and sorts before everything in the folder: it comes first.
 */
async function * withMarker (folderKey: string, dirPath: string, p: ListParams, identity: FolderIdentity | undefined, rest: AsyncGenerator<Entry>): AsyncGenerator<Entry> {
  if (folderKey !== '' && folderKey === p.prefix && (p.after === undefined || compareKeys(folderKey, p.after) > 0)) {
    const [d] = await statNames(dirname(dirPath), [basename(dirPath)], nativeStat())
    const isChecked = identity === undefined || (d !== undefined && BigInt(d.st.dev) === identity.dev && BigInt(d.st.ino) === identity.ino)
    if (d?.isDirectory && d.stored && isChecked) yield { kind: 'object', info: objectInfo(folderKey as ObjectKey, d.st, d.stored) }
  }
  yield * rest
}

/** Folder that holds every key with this prefix: the prefix up to its last '/'. */
function startFolder (prefix: string): string {
  const cut = prefix.lastIndexOf('/')
  return cut < 0 ? '' : prefix.slice(0, cut + 1)
}

export async function listObjects (bucket: BucketRef, p: ListParams): Promise<ListPage> {
  const page: ListPage = { objects: [], commonPrefixes: [], isTruncated: false }
  const folderKey = startFolder(p.prefix)
  // Keys never start with '/' nor hold empty segments: such a prefix matches nothing (and must not be
  // collapsed into a real folder by the path split below).
  if (folderKey.startsWith('/') || folderKey.includes('//')) return page
  let dirPath = bucket.root
  for (const seg of folderKey.split('/').filter(Boolean)) {
    dirPath = join(dirPath, seg)
    const st = await lstat(dirPath).catch(() => undefined)
    if (!st?.isDirectory() || seg === STAGING_DIR) return page
  }
  const entered = folderKey === '' || p.canEnter === undefined ? true : await p.canEnter(dirPath)
  if (entered === false) return page
  const identity = entered === true ? undefined : entered
  const collapse = p.delimiter === '/'
  let lastPrefix: string | undefined
  let count = 0
  const budget: Budget = { need: p.maxKeys + 1 }
  for await (const entry of withMarker(folderKey, dirPath, p, identity, walk(bucket, dirPath, folderKey, p, collapse, budget, identity))) {
    const key = entry.kind === 'object' ? entry.info.key : entry.key
    let commonPrefix: string | undefined
    if (p.delimiter) {
      const cut = key.indexOf(p.delimiter, p.prefix.length)
      if (cut >= 0) commonPrefix = key.slice(0, cut + p.delimiter.length)
    }
    if (commonPrefix !== undefined && commonPrefix === lastPrefix) continue
    if (commonPrefix !== undefined && p.after !== undefined && compareKeys(commonPrefix, p.after) <= 0) continue
    if (count >= p.maxKeys) {
      page.isTruncated = true
      break
    }
    if (commonPrefix !== undefined) {
      page.commonPrefixes.push(commonPrefix)
      lastPrefix = commonPrefix
      page.lastReturned = commonPrefix
    } else if (entry.kind === 'object') {
      page.objects.push(entry.info)
      page.lastReturned = key
    } else {
      continue
    }
    count++
    budget.need = p.maxKeys - count + 1
  }
  return page
}
