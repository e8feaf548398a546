// Answers "may this principal read/write/create/delete/list this path?" by walking the bucket the way the kernel would.
import { lstat } from 'node:fs/promises'
import { join } from 'node:path'
import { getAttribute } from './xattr.js'
import type { PinnedDir } from './pinned-dir.js'

/**
 * What a write asks of a folder it holds open: 'search' to pass through it, 'mark' to set a folder marker's
 * attribute on the folder itself, else write+search to create in it (and, with `entry`, to replace or remove
 * that entry, which in a sticky folder also asks who owns it).
 */
export type FolderWant = 'search' | 'mark' | { entry: string } | undefined
import { prefetchedWalk, walkPath, type PrefetchedWalk, type WalkStat } from './path-walk.js'
import { ACL_ACCESS_XATTR, decodePosixAcl, formatPerm } from '../access/posix-acl.js'
import type { IgnorePublic } from '../access/authorize.js'
import { withoutPublicGrants } from '../access/public-access-block.js'
import {
  checkAccess, checkSticky, describeWant,
  type AccessWant, type InodeFacts, type PosixCredentials,
} from '../access/posix-permission.js'

export interface PosixAccessOptions {
  /** Trusted bucket directory; it is stat'ed (followed), everything below it is lstat'ed. */
  readonly bucketRoot: string
  readonly principal: PosixCredentials
  /** Whether uid 0 keeps root's capabilities (NFS no_root_squash); off means uid 0 is an ordinary user. */
  readonly rootHasRights: boolean
  /** A walk of one path already under way (read with the access ACLs): used instead of walking it again. */
  readonly prefetched?: PrefetchedWalk
  /**
   * The bucket ignores public ACLs (IgnorePublicAcls) for this request: the object itself (canRead, canWrite, and
   * canList's own folder, which a folder key names) is judged by its grants less the public ones
   * (withoutPublicGrants), and an anonymous caller, who is AllUsers, gets nothing from it. Folders on the way are
   * judged as the kernel would.
   */
  readonly ignorePublic?: IgnorePublic
}

export interface PosixAccessAnswer {
  readonly allowed: boolean
  /** Which path component and entry decided, e.g. 'dir a/b: no search (x) for uid 1001: other bits r--'. */
  readonly layer: string
  /** True when the denial is because the path (or one of its directories) does not exist. */
  readonly isMissing: boolean
  /** True when the path cannot be created because a folder is where the file would go, or a file where a folder would. */
  readonly isConflict?: boolean
  /** canList: the inode judged (from the walk's held descriptors with the addon), for the reader to hold to. */
  readonly target?: { readonly dev: bigint, readonly ino: bigint }
}

/**
 * Paths are relative to the bucket root, '/'-separated; '' (or '.') is the root itself. Methods reject
 * (with the fs error) only when the bucket root cannot be stat'ed or a lookup fails other than ENOENT.
 */
export interface PosixAccess {
  canRead(path: string): Promise<PosixAccessAnswer>
  /** Overwrite an existing file in place (open for writing). */
  canWrite(path: string): Promise<PosixAccessAnswer>
  /** Create the path, making missing directories; an existing file is replaced by rename(2). */
  canCreate(path: string): Promise<PosixAccessAnswer>
  /**
   * A folder marker (PUT "k/"): a new folder is created as any entry is; an existing folder becomes the object by
   * an attribute set on it, which the kernel allows with write on the folder itself (write+search asked here).
   */
  canMark(path: string): Promise<PosixAccessAnswer>
  canDelete(path: string): Promise<PosixAccessAnswer>
  /** DeleteObject of "k/": clearing a folder's marker changes the folder, so it takes what marking took. */
  canUnmark(path: string): Promise<PosixAccessAnswer>
  /** readdir and stat the children: search (x) and read (r), checked separately as the kernel does. */
  canList(dir: string): Promise<PosixAccessAnswer>
}

interface Component {
  readonly label: string
  readonly path: string
  readonly stats: WalkStat
  acl?: InodeFacts['acl'] | null
}

/** A walk that reached `found` (root first) and stopped before `missing` names, or was denied. */
type Walk = { readonly found: Component[], readonly missing: string[] } | { readonly denied: PosixAccessAnswer }

const allow = (layer: string): PosixAccessAnswer => ({ allowed: true, layer, isMissing: false })
const deny = (layer: string, isMissing = false): PosixAccessAnswer => ({ allowed: false, layer, isMissing })
const conflict = (layer: string): PosixAccessAnswer => ({ allowed: false, layer, isMissing: false, isConflict: true })
const kindOf = (c: Component): string => (c.stats.isDirectory() ? 'dir' : 'file')

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}

/**
 * The filesystem layer of an access query (AccessQuery.posix) for one principal: the HTTP path, `bridgectl explain`
 * and the lifecycle job all judge through it, with the walk a handler already started when there is one.
 */
export function posixLayerFor(principal: PosixCredentials & { readonly hasRootRights: boolean }, prefetched?: PrefetchedWalk): (bucketRoot: string, opts?: { ignorePublic?: IgnorePublic }) => PosixAccess {
  return (bucketRoot, opts) => posixAccess({ bucketRoot, principal, rootHasRights: principal.hasRootRights, prefetched, ignorePublic: opts?.ignorePublic })
}

export function posixAccess(options: PosixAccessOptions): PosixAccess {
  const who = options.principal
  const opts = { rootHasRights: options.rootHasRights }
  const forUid = `for uid ${who.uid}`

  // One getxattr per component at most, and none when the kernel would not consult the ACL.
  async function facts(c: Component): Promise<InodeFacts> {
    const { uid, gid, mode } = c.stats
    if (c.acl === undefined && who.uid !== uid && (mode & 0o070) !== 0) c.acl = await readAcl(c.path)
    return { uid, gid, mode, acl: c.acl ?? undefined }
  }

  /** facts() with the ACL read whenever the file has one (the public bits are taken out of its entries). */
  async function factsWithAcl(c: Component): Promise<InodeFacts> {
    const { uid, gid, mode } = c.stats
    if (c.acl === undefined && (mode & 0o070) !== 0) c.acl = await readAcl(c.path)
    return { uid, gid, mode, acl: c.acl ?? undefined }
  }

  async function check(c: Component, want: AccessWant, verb: string): Promise<PosixAccessAnswer | undefined> {
    const decision = checkAccess(await facts(c), who, want, opts)
    if (!decision.allowed) return deny(`${kindOf(c)} ${c.label}: no ${verb} ${forUid}: ${decision.reason}`)
    return undefined
  }

  /** The object itself: as the kernel sees it, or, under IgnorePublicAcls, by its grants less the public ones. */
  async function judgeObject(c: Component, want: AccessWant): Promise<{ allowed: boolean, reason: string }> {
    const ignore = options.ignorePublic
    if (ignore === undefined) return checkAccess(await facts(c), who, want, opts)
    if (ignore.isAnonymous) return { allowed: false, reason: 'public access is ignored (IgnorePublicAcls or BucketOwnerEnforced), and an anonymous caller has no other' }
    const inode = await factsWithAcl(c)
    const decision = checkAccess(withoutPublicGrants(inode, ignore.ids), who, want, opts)
    const other = inode.acl?.find(e => e.tag === 'OTHER')?.perm ?? (inode.mode & 0o007)
    return { allowed: decision.allowed, reason: `${decision.reason} (IgnorePublicAcls or BucketOwnerEnforced: other::${formatPerm(other)}, AuthenticatedUsers, and what they give the owning group do not count)` }
  }

  async function judged(c: Component, want: AccessWant, verb: string): Promise<PosixAccessAnswer | undefined> {
    const decision = await judgeObject(c, want)
    return decision.allowed ? undefined : deny(`${kindOf(c)} ${c.label}: no ${verb} ${forUid}: ${decision.reason}`)
  }

  async function walk(path: string): Promise<Walk> {
    const names = path.split('/').filter(n => n !== '' && n !== '.')
    if (names.some(n => n === '..' || n.includes('\0'))) return { denied: deny(`path ${path}: '..' or NUL in a component`) }
    // Everything the checks below may need, read at once (one thread-pool job with the addon); then the checks
    // run in the kernel's order, so the answer is the one a walk that stops at the first refusal would give.
    const read = await (prefetchedWalk(options.prefetched, options.bucketRoot, names) ??
      walkPath(options.bucketRoot, names, { aclXattr: ACL_ACCESS_XATTR }))
    const components: Component[] = read.found.map((c, i) => ({
      label: i === 0 ? '. (bucket root)' : names.slice(0, i).join('/'),
      path: c.path,
      stats: c.stats,
      acl: c.acl === undefined ? undefined : c.acl === null ? null : decodeAcl(c.acl),
    }))
    const root = components[0] as Component
    if (!root.stats.isDirectory()) return { denied: deny('bucket root is not a directory') }
    for (let i = 0; i < names.length; i++) {
      const dir = components[i] as Component
      // A file where a directory should be: ENOTDIR, which S3 reports like a missing key.
      if (!dir.stats.isDirectory()) return { found: components.slice(0, i + 1), missing: names.slice(i) }
      const noSearch = await check(dir, { execute: true }, 'search (x)')
      if (noSearch) return { denied: noSearch }
      const child = components[i + 1]
      if (child === undefined) {
        // ENAMETOOLONG: a name longer than any file's (NAME_MAX) cannot be there either. S3 keys may hold such a
        // segment; a read finds nothing, a delete succeeds, and a write is refused by checkStorableKey.
        const code = errnoOf(read.stopError)
        if (code === 'ENOENT' || code === 'ENAMETOOLONG') return { found: components.slice(0, i + 1), missing: names.slice(i) }
        throw read.stopError ?? new Error(`posix walk: ${names.slice(0, i + 1).join('/')} was not read`)
      }
      if (child.stats.isSymbolicLink()) {
        // The key's own name: no object is there (callers that would act on the name refuse it); a link on the
        // way to it is never followed.
        if (i === names.length - 1) return { found: components, missing: [] }
        return { denied: deny(`${child.label}: is a symbolic link, which is never followed`) }
      }
    }
    return { found: components, missing: [] }
  }

  async function existing(path: string, what: 'file' | 'any'): Promise<{ parent: Component, target: Component } | PosixAccessAnswer> {
    const result = await walk(path)
    if ('denied' in result) return result.denied
    const target = result.found[result.found.length - 1] as Component
    if (result.missing.length > 0) return deny(`${path}: does not exist`, true)
    if (target.stats.isSymbolicLink() && what === 'any') return deny(`${target.label}: is a symbolic link, which is never followed`)
    // A folder (or a link, a FIFO) under the key's name: there is no object by that name.
    if (what === 'file' && !target.stats.isFile()) return deny(`${target.label}: not a regular file`, true)
    const parent = result.found[result.found.length - 2] ?? target
    return { parent, target }
  }

  async function fileAccess(path: string, want: AccessWant): Promise<PosixAccessAnswer> {
    const nodes = await existing(path, 'file')
    if ('allowed' in nodes) return nodes
    const decision = await judgeObject(nodes.target, want)
    const text = `file ${nodes.target.label}: ${describeWant(want)} ${decision.allowed ? 'allowed' : 'denied'} ${forUid}: ${decision.reason}`
    return decision.allowed ? allow(text) : deny(text)
  }

  async function removal(parent: Component, target: Component, verb: string): Promise<PosixAccessAnswer> {
    const noWrite = await check(parent, { write: true, execute: true }, `write+search (-wx) to ${verb} ${target.label}`)
    if (noWrite) return noWrite
    const sticky = checkSticky(await facts(parent), target.stats, who, opts)
    const text = `dir ${parent.label}: ${verb} ${target.label} ${sticky.allowed ? 'allowed' : 'denied'} ${forUid}: ${sticky.reason}`
    return sticky.allowed ? allow(text) : deny(text)
  }

  return {
    canRead: path => fileAccess(path, { read: true }),
    canWrite: path => fileAccess(path, { write: true }),

    async canDelete(path) {
      const nodes = await existing(path, 'any')
      if ('allowed' in nodes) return nodes
      if (nodes.parent === nodes.target) return deny('the bucket root cannot be deleted')
      return removal(nodes.parent, nodes.target, 'delete')
    },

    async canUnmark(path) {
      const nodes = await existing(path, 'any')
      if ('allowed' in nodes) return nodes // missing (the delete answers 204) or not searchable
      // A file under the folder key's name: there is no object "k/" (a delete of it answers 204, as any missing key).
      if (!nodes.target.stats.isDirectory()) return deny(`${nodes.target.label}: not a folder`, true)
      return this.canMark(path)
    },

    async canMark(path) {
      const result = await walk(path)
      if ('denied' in result) return result.denied
      if (result.missing.length > 0) return await this.canCreate(path)
      const deepest = result.found[result.found.length - 1] as Component
      if (deepest.stats.isSymbolicLink()) return deny(`${deepest.label}: is a symbolic link, which is never followed`)
      if (result.found.length < 2) return deny(`${deepest.label}: is the bucket root`)
      if (!deepest.stats.isDirectory()) return conflict(`${deepest.label}: is a file, not a folder`)
      const noWrite = await check(deepest, { write: true, execute: true }, `write+search (-wx) to mark ${deepest.label} as a folder object`)
      if (noWrite) return noWrite
      // The kernel lets only a sticky folder's owner (or root) set its user.* attributes (xattr_permission).
      if ((deepest.stats.mode & 0o1000) !== 0 && who.uid !== deepest.stats.uid && !(options.rootHasRights && who.uid === 0)) {
        return deny(`${deepest.label}: sticky, and owned by uid ${deepest.stats.uid}: only its owner may mark it`)
      }
      return allow(`dir ${deepest.label}: marking the folder allowed ${forUid}`)
    },

    async canCreate(path) {
      const result = await walk(path)
      if ('denied' in result) return result.denied
      const deepest = result.found[result.found.length - 1] as Component
      if (deepest.stats.isSymbolicLink()) return deny(`${deepest.label}: is a symbolic link, which is never followed`)
      if (result.missing.length === 0) {
        const parent = result.found[result.found.length - 2]
        if (parent === undefined) return deny(`${deepest.label}: is the bucket root`)
        if (deepest.stats.isDirectory()) {
          // A conflict only for a caller who could otherwise have written there.
          const noWrite = await check(parent, { write: true, execute: true }, `write+search (-wx) to replace ${deepest.label}`)
          return noWrite ?? conflict(`${deepest.label}: is a directory`)
        }
        return removal(parent, deepest, 'replace')
      }
      if (!deepest.stats.isDirectory()) return conflict(`${deepest.label}: not a directory`)
      const noWrite = await check(deepest, { write: true, execute: true }, 'write+search (-wx) to create entries')
      if (noWrite) return noWrite
      const made = result.missing.length > 1 ? ` (new dirs ${result.missing.slice(0, -1).join('/')} belong to the caller)` : ''
      return allow(`dir ${deepest.label}: create ${result.missing[0] ?? ''} allowed ${forUid}${made}`)
    },

    async canList(dir) {
      const nodes = await existing(dir, 'any')
      if ('allowed' in nodes) return nodes
      const target = nodes.target
      if (!target.stats.isDirectory()) return deny(`${target.label}: not a directory`)
      const denied = options.ignorePublic === undefined
        ? await check(target, { execute: true }, 'search (x)') ?? await check(target, { read: true }, 'read (r)')
        : await judged(target, { execute: true }, 'search (x)') ?? await judged(target, { read: true }, 'read (r)')
      return denied ?? { ...allow(`dir ${target.label}: read and search allowed ${forUid}`), target: { dev: target.stats.dev, ino: target.stats.ino } }
    },
  }
}

/** An ACL value the codec refuses is left unread: facts() reads it again and readAcl reports the error, as before. */
function decodeAcl(raw: Buffer): InodeFacts['acl'] | undefined {
  try {
    return decodePosixAcl(raw)
  } catch {
    return undefined // read again (and fail loudly) by facts() if the check needs it
  }
}

/**
 * The last word on a write, said of the folder the write will really use (held open, pinned-dir.ts): may the
 * principal create and remove entries in it (write+search), and, when `entry` names an existing entry to replace
 * or remove, does the sticky rule let it? A folder an NFS user swapped in since the permission walk is judged on
 * its own, so renaming folders around cannot lend the caller another folder's rights.
 */
export async function checkFolderForWrite(principal: PosixCredentials, rootHasRights: boolean, dir: Pick<PinnedDir, 'path' | 'stat' | 'xattr'>, want?: FolderWant): Promise<PosixAccessAnswer> {
  const opts = { rootHasRights }
  const { uid, gid, mode } = await dir.stat()
  const folder: InodeFacts = { uid: Number(uid), gid: Number(gid), mode: Number(mode) }
  const raw = principal.uid !== folder.uid && (folder.mode & 0o070) !== 0 ? await dir.xattr(ACL_ACCESS_XATTR) : null
  const acl = raw === null ? null : decodePosixAcl(raw)
  const facts: InodeFacts = acl ? { ...folder, acl } : folder
  if (want === 'search') {
    // A folder passed through on the way: search (x) is all the kernel would ask of it.
    const search = checkAccess(facts, principal, { execute: true }, opts)
    return search.allowed ? allow(`dir: search allowed for uid ${principal.uid}`) : deny(`dir: no search (x) for uid ${principal.uid}: ${search.reason}`)
  }
  const write = checkAccess(facts, principal, { write: true, execute: true }, opts)
  if (!write.allowed) return deny(`dir: no write+search (-wx) for uid ${principal.uid}: ${write.reason}`)
  const sticky = (folder.mode & 0o1000) !== 0
  if (want === 'mark') {
    // The kernel lets only a sticky folder's owner (or root) set its user.* attributes (xattr_permission).
    if (sticky && principal.uid !== folder.uid && !(rootHasRights && principal.uid === 0)) return deny(`dir: sticky, and owned by uid ${folder.uid}: only its owner may mark it`)
    return allow(`dir: marking allowed for uid ${principal.uid}`)
  }
  const entry = typeof want === 'object' ? want.entry : undefined
  // Only a sticky folder asks who owns the entry (saves an lstat on every other write).
  if (entry !== undefined && sticky) {
    const target = await lstat(join(dir.path, entry)).catch(() => undefined)
    if (target) {
      const sticky = checkSticky(facts, { uid: target.uid, gid: target.gid, mode: target.mode }, principal, opts)
      if (!sticky.allowed) return deny(`dir: replace or remove ${entry} denied for uid ${principal.uid}: ${sticky.reason}`)
    }
  }
  return allow(`dir: write+search allowed for uid ${principal.uid}`)
}

async function readAcl(path: string): Promise<InodeFacts['acl'] | null> {
  try {
    return decodePosixAcl(await getAttribute(path, ACL_ACCESS_XATTR))
  } catch (err) {
    const code = errnoOf(err)
    if (code === 'ENODATA' || code === 'EOPNOTSUPP' || code === 'ENOTSUP') return null
    throw err
  }
}
