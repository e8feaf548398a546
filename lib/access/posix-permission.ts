// The Linux kernel's permission check (generic_permission, posix_acl_permission, sticky rule) as a pure function.
import { formatAclEntry, formatPerm, sortPosixAcl, type AclEntry, type PosixAcl } from './posix-acl.js'

/** What the kernel knows about an inode; `mode` is the full st_mode (file type included). */
export interface InodeFacts {
  readonly uid: number
  readonly gid: number
  readonly mode: number
  /** The decoded system.posix_acl_access, or undefined when the inode has none. */
  readonly acl?: PosixAcl | undefined
}

/** The credentials a request runs with; `gid` counts as a group whether or not `groups` lists it. */
export interface PosixCredentials {
  readonly uid: number
  readonly gid: number
  readonly groups: readonly number[]
}

export interface AccessWant {
  readonly read?: boolean
  readonly write?: boolean
  readonly execute?: boolean
}

export interface PermissionOptions {
  /** uid 0 carries CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER (like NFS no_root_squash). */
  readonly rootHasRights: boolean
}

export interface AccessDecision {
  readonly allowed: boolean
  /** Which entry, mode class or capability decided. */
  readonly reason: string
}

const MAY_READ = 4
const MAY_WRITE = 2
const MAY_EXEC = 1
const S_IFMT = 0o170000
const S_IFDIR = 0o040000
const S_ISVTX = 0o1000

export function isDirectoryMode(mode: number): boolean {
  return (mode & S_IFMT) === S_IFDIR
}

export function wantBits(want: AccessWant): number {
  return (want.read === true ? MAY_READ : 0) | (want.write === true ? MAY_WRITE : 0) | (want.execute === true ? MAY_EXEC : 0)
}

/** 'read+write (rw-)' style text for a request. */
export function describeWant(want: AccessWant): string {
  const bits = wantBits(want)
  const words: string[] = []
  if (bits & MAY_READ) words.push('read')
  if (bits & MAY_WRITE) words.push('write')
  if (bits & MAY_EXEC) words.push('search/execute')
  return `${words.join('+') || 'nothing'} (${formatPerm(bits)})`
}

function hasRootRights(who: PosixCredentials, opts: PermissionOptions): boolean {
  return opts.rootHasRights && who.uid === 0
}

function inGroup(who: PosixCredentials, gid: number): boolean {
  return who.gid === gid || who.groups.includes(gid)
}

function decide(allowed: boolean, reason: string): AccessDecision {
  return { allowed, reason }
}

/** posix_acl_permission(): walks the entries in kernel order; never unions grants. */
function aclPermission(inode: InodeFacts, acl: PosixAcl, who: PosixCredentials, want: number): AccessDecision {
  const entries = sortPosixAcl(acl)
  const mask = entries.find(e => e.tag === 'MASK')
  const masked = (entry: AclEntry, label: string): AccessDecision => {
    const effective = entry.perm & (mask?.perm ?? 7)
    const via = mask === undefined ? '' : ` masked by mask::${formatPerm(mask.perm)}`
    return decide((effective & want) === want, `${label} ${formatAclEntry(entry)}${via}`)
  }
  let matchedGroup: AclEntry | undefined
  for (const entry of entries) {
    switch (entry.tag) {
      case 'USER':
        if (entry.id === who.uid) return masked(entry, 'named user')
        break
      case 'GROUP_OBJ':
      case 'GROUP': {
        const gid = entry.tag === 'GROUP' ? entry.id : inode.gid
        if (!inGroup(who, gid)) break
        matchedGroup ??= entry
        if ((entry.perm & want) === want) return masked(entry, entry.tag === 'GROUP' ? 'named group' : 'owning group')
        break
      }
      case 'OTHER':
        if (matchedGroup !== undefined)
          return decide(false, `group member but no matching group entry grants ${formatPerm(want)} (first match ${formatAclEntry(matchedGroup)}); other:: not consulted`)
        return decide((entry.perm & want) === want, `ACL ${formatAclEntry(entry)}`)
      default:
        break
    }
  }
  return decide(false, 'ACL has no OTHER entry')
}

/** acl_permission_check(): the owner, ACL and mode-bit classes, without capabilities. */
function classCheck(inode: InodeFacts, who: PosixCredentials, want: number): AccessDecision {
  const mode = inode.mode
  if (who.uid === inode.uid)
    return decide((want & ~(mode >> 6) & 7) === 0, `owner (user::${formatPerm(mode >> 6)})`)
  if (inode.acl !== undefined && (mode & 0o070) !== 0) return aclPermission(inode, inode.acl, who, want)
  const aclNote = inode.acl !== undefined ? 'ACL skipped because mask/group bits are ---; ' : ''
  const isGroupClass = (want & (mode ^ (mode >> 3)) & 7) !== 0 && inGroup(who, inode.gid)
  if (isGroupClass) return decide((want & ~(mode >> 3) & 7) === 0, `${aclNote}owning group (group bits ${formatPerm(mode >> 3)})`)
  const bits = inGroup(who, inode.gid) ? 'owning group/other bits' : 'other bits'
  return decide((want & ~mode & 7) === 0, `${aclNote}${bits} ${formatPerm(mode)}`)
}

/** generic_permission(): may `who` access `inode` for `want`? */
export function checkAccess(inode: InodeFacts, who: PosixCredentials, want: AccessWant, opts: PermissionOptions): AccessDecision {
  const bits = wantBits(want)
  const result = classCheck(inode, who, bits)
  if (result.allowed || !hasRootRights(who, opts)) return result
  if (isDirectoryMode(inode.mode)) {
    if ((bits & MAY_WRITE) === 0) return decide(true, 'uid 0 with CAP_DAC_READ_SEARCH')
    return decide(true, 'uid 0 with CAP_DAC_OVERRIDE')
  }
  if (bits === MAY_READ) return decide(true, 'uid 0 with CAP_DAC_READ_SEARCH')
  if ((bits & MAY_EXEC) === 0 || (inode.mode & 0o111) !== 0) return decide(true, 'uid 0 with CAP_DAC_OVERRIDE')
  return decide(false, `uid 0, but CAP_DAC_OVERRIDE grants execute only when some x bit is set; ${result.reason}`)
}

/** __check_sticky(): in a sticky directory only the file's owner, the directory's owner or CAP_FOWNER may unlink or rename. */
export function checkSticky(dir: InodeFacts, child: InodeFacts, who: PosixCredentials, opts: PermissionOptions): AccessDecision {
  if ((dir.mode & S_ISVTX) === 0) return decide(true, 'directory is not sticky')
  if (who.uid === child.uid) return decide(true, 'sticky directory; caller owns the entry')
  if (who.uid === dir.uid) return decide(true, 'sticky directory; caller owns the directory')
  if (hasRootRights(who, opts)) return decide(true, 'sticky directory; uid 0 with CAP_FOWNER')
  return decide(false, `sticky directory; caller owns neither the entry (uid ${child.uid}) nor the directory (uid ${dir.uid})`)
}

/** may_create(): write+search on the directory that receives the new entry. */
export function canCreateIn(dir: InodeFacts, who: PosixCredentials, opts: PermissionOptions): AccessDecision {
  return checkAccess(dir, who, { write: true, execute: true }, opts)
}

/** may_delete(): write+search on the directory, then the sticky rule. */
export function canDeleteFrom(dir: InodeFacts, child: InodeFacts, who: PosixCredentials, opts: PermissionOptions): AccessDecision {
  const access = checkAccess(dir, who, { write: true, execute: true }, opts)
  if (!access.allowed) return access
  const sticky = checkSticky(dir, child, who, opts)
  return sticky.allowed ? decide(true, `${access.reason}; ${sticky.reason}`) : sticky
}
