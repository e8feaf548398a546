// S3 object grants <-> a file's POSIX access ACL, plus the READ_ACP/WRITE_ACP grants POSIX has no bits for.
import type { Principal } from '../auth/principal.js'
import { S3Error } from '../errors/s3-error.js'
import { ACL_EXECUTE, ACL_READ, ACL_WRITE, aclFromMode, chmodAcl, sortPosixAcl, type AclEntry, type PosixAcl } from './posix-acl.js'
import type { GranteeRef, ResolvedGrant, S3Permission } from './s3-acl.js'
import type { BucketRecord } from '../state/types.js'
import { aclsDisabled, ignoresPublicGrants } from './object-ownership.js'

/** One stored ACP grant of trusted.s3bridge.acp; grantee is `user:<uid>`, `group:<gid>` or `AllUsers`. */
export interface AcpGrant { readonly grantee: string, readonly permission: 'READ_ACP' | 'WRITE_ACP' | 'FULL_CONTROL' }

/** Facts about the file the grants are for. */
export interface ObjectAclTarget {
  readonly ownerUid: number
  readonly fileGid: number
  readonly isDirectory: boolean
  /** The access ACL now (decoded xattr, or aclFromMode): its user::, group:: and other:: x bits are kept. */
  readonly previous: PosixAcl
  /** null: AuthenticatedUsers grants are 501 NotImplemented. */
  readonly authenticatedUsersGid: number | null
  /** The anonymous principal's ids: entries for them get no AuthenticatedUsers bits. */
  readonly anonymousUid: number
  readonly anonymousGid: number
}

export interface ObjectAclUpdate { readonly acl: AclEntry[], readonly acp: AcpGrant[] }

const RW = ACL_READ | ACL_WRITE

/** S3 permission -> rwx bits (3.2): files never gain x; directories get x with READ or WRITE. */
export function permissionBits (permission: S3Permission, isDirectory: boolean): number {
  const x = isDirectory ? ACL_EXECUTE : 0
  switch (permission) {
    case 'READ': return ACL_READ | x
    case 'WRITE': return ACL_WRITE | x
    case 'FULL_CONTROL': return RW | x
    default: return 0
  }
}

export function acpKey (ref: GranteeRef, authenticatedUsersGid: number | null): string {
  switch (ref.kind) {
    case 'user': return `user:${ref.uid}`
    case 'group': return `group:${ref.gid}`
    case 'allUsers': return 'AllUsers'
    case 'authenticatedUsers': return `group:${authenticatedUsersGid ?? 'none'}`
  }
}

function authenticatedUnsupported (): S3Error {
  return new S3Error('NotImplemented', {}, { message: 'AuthenticatedUsers grants need authenticatedUsersGid in the bridge configuration.' })
}

/**
 * The execute bit an entry grants in effect (an ACL keeps x as it was): group:: through the mask when there is one,
 * since a file made under a default ACL keeps group::rwx with the mask cutting it to rw- (posix_acl_create).
 */
function xOf (entries: PosixAcl, tag: 'USER_OBJ' | 'GROUP_OBJ' | 'OTHER'): number {
  const mask = tag === 'GROUP_OBJ' ? entries.find(e => e.tag === 'MASK') : undefined
  return (entries.find(e => e.tag === tag)?.perm ?? 0) & (mask?.perm ?? 7) & ACL_EXECUTE
}

function addBits (map: Map<number, number>, id: number, bits: number): void {
  map.set(id, (map.get(id) ?? 0) | bits)
}

/**
 * Grants -> the whole new access ACL (acl-model 3.2, 3.4). POSIX never unions matching entries, so every
 * entry also carries the AllUsers bits and, unless it is the anonymous uid/gid, the AuthenticatedUsers bits.
 * Grants to the file's owner go to user::, to the file's group to group::. A grantee with only
 * READ_ACP/WRITE_ACP gets no entry (an `---` entry would hide AllUsers from it). mask:: is the union of the
 * group class. The previous x bits of user::, group:: and other:: are kept (S3 has no EXECUTE).
 */
export function grantsToPosixAcl (grants: readonly ResolvedGrant[], target: ObjectAclTarget): ObjectAclUpdate {
  const authGid = target.authenticatedUsersGid
  let ownerBits = 0
  let allBits = 0
  let authBits = 0
  const users = new Map<number, number>()
  const groups = new Map<number, number>()
  const acp: AcpGrant[] = []
  for (const { grantee, permission } of grants) {
    if (grantee.kind === 'authenticatedUsers' && authGid === null) throw authenticatedUnsupported()
    const bits = permissionBits(permission, target.isDirectory)
    const isOwner = grantee.kind === 'user' && grantee.uid === target.ownerUid
    if (!isOwner && permission !== 'READ' && permission !== 'WRITE') {
      const key = acpKey(grantee, authGid)
      if (!acp.some(a => a.grantee === key && a.permission === permission)) acp.push({ grantee: key, permission })
    }
    if (bits === 0) continue
    if (isOwner) ownerBits |= bits
    else if (grantee.kind === 'user') addBits(users, grantee.uid, bits)
    else if (grantee.kind === 'group') addBits(groups, grantee.gid, bits)
    else if (grantee.kind === 'allUsers') allBits |= bits
    else { authBits |= bits; addBits(groups, authGid as number, bits) }
  }
  const folded = (isAnonymous: boolean): number => allBits | (isAnonymous ? 0 : authBits)
  const prev = target.previous
  const acl: AclEntry[] = [
    { tag: 'USER_OBJ', perm: ownerBits | folded(target.ownerUid === target.anonymousUid) | xOf(prev, 'USER_OBJ') },
    { tag: 'GROUP_OBJ', perm: (groups.get(target.fileGid) ?? 0) | folded(target.fileGid === target.anonymousGid) | xOf(prev, 'GROUP_OBJ') },
    { tag: 'OTHER', perm: allBits | xOf(prev, 'OTHER') },
  ]
  for (const [uid, bits] of users) acl.push({ tag: 'USER', id: uid, perm: bits | folded(uid === target.anonymousUid) })
  for (const [gid, bits] of groups) {
    if (gid !== target.fileGid) acl.push({ tag: 'GROUP', id: gid, perm: bits | folded(gid === target.anonymousGid) })
  }
  if (users.size > 0 || acl.some(e => e.tag === 'GROUP')) {
    const mask = acl.filter(e => e.tag === 'USER' || e.tag === 'GROUP' || e.tag === 'GROUP_OBJ').reduce((m, e) => m | e.perm, 0)
    acl.push({ tag: 'MASK', perm: mask })
  }
  return { acl, acp }
}

/** What GetObjectAcl needs to know about the file. */
export interface ObjectAclView {
  readonly ownerUid: number
  readonly fileGid: number
  /** st_mode; it wins over a stale xattr for user::, mask:: and other::. */
  readonly mode: number
  readonly acl: PosixAcl | undefined
  readonly acp: readonly AcpGrant[]
  readonly authenticatedUsersGid: number | null
  readonly anonymousUid: number
  readonly anonymousGid: number
}

const ORDER: readonly S3Permission[] = ['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP']

function permissionsOf (bits: number, acp: ReadonlySet<S3Permission>, canCollapse: boolean): S3Permission[] {
  const perms = new Set<S3Permission>(acp)
  if (bits & ACL_READ) perms.add('READ')
  if (bits & ACL_WRITE) perms.add('WRITE')
  if (canCollapse && perms.has('READ_ACP') && perms.has('WRITE_ACP')) return ['FULL_CONTROL']
  return ORDER.filter(p => perms.has(p))
}

function refOfKey (key: string): GranteeRef | undefined {
  const m = /^(user|group):(\d+)$/.exec(key)
  if (m) return m[1] === 'user' ? { kind: 'user', uid: Number(m[2]) } : { kind: 'group', gid: Number(m[2]) }
  return key === 'AllUsers' ? { kind: 'allUsers' } : undefined
}

/**
 * The file's ACL as S3 grants (acl-model 3.5). Effective bits: user:: as is; named users and groups ANDed
 * with mask::; other:: is AllUsers. The owner comes first with READ_ACP+WRITE_ACP implicit, so FULL_CONTROL
 * when user:: has rw. Other entries show their effective bits minus what AllUsers (and, for non-anonymous
 * entries, AuthenticatedUsers) already grant, undoing the folding that grantsToPosixAcl does; they show
 * FULL_CONTROL when they have rw and a stored FULL_CONTROL (or both ACP grants). Entries left with nothing
 * are omitted. Stored ACP grantees without an ACL entry are shown after the entries.
 */
export function posixAclToGrants (view: ObjectAclView): ResolvedGrant[] {
  const entries = sortPosixAcl(view.acl === undefined ? aclFromMode(view.mode) : chmodAcl(view.acl, view.mode))
  const mask = entries.find(e => e.tag === 'MASK')?.perm ?? 7
  const allBits = (entries.find(e => e.tag === 'OTHER')?.perm ?? 0) & RW
  const authGid = view.authenticatedUsersGid
  const stored = new Map<string, Set<S3Permission>>()
  for (const g of view.acp) {
    const set = stored.get(g.grantee) ?? new Set<S3Permission>()
    if (g.permission === 'FULL_CONTROL') { set.add('READ_ACP'); set.add('WRITE_ACP') } else set.add(g.permission)
    stored.set(g.grantee, set)
  }
  const rows: { ref: GranteeRef, key: string, bits: number }[] = []
  for (const e of entries) {
    if (e.tag === 'USER' && e.id !== view.ownerUid) rows.push({ ref: { kind: 'user', uid: e.id }, key: `user:${e.id}`, bits: e.perm & mask & RW })
    if (e.tag === 'GROUP_OBJ') rows.push({ ref: { kind: 'group', gid: view.fileGid }, key: `group:${view.fileGid}`, bits: e.perm & mask & RW })
    if (e.tag === 'GROUP' && e.id !== view.fileGid) rows.push({ ref: { kind: 'group', gid: e.id }, key: `group:${e.id}`, bits: e.perm & mask & RW })
  }
  const authBits = authGid === null ? 0 : ((rows.find(r => r.key === `group:${authGid}`)?.bits ?? 0) & ~allBits)
  const out: ResolvedGrant[] = []
  const push = (ref: GranteeRef, perms: S3Permission[]): void => { for (const permission of perms) out.push({ grantee: ref, permission }) }

  const ownerBits = (entries.find(e => e.tag === 'USER_OBJ')?.perm ?? 0) & RW
  push({ kind: 'user', uid: view.ownerUid }, permissionsOf(ownerBits, new Set(['READ_ACP', 'WRITE_ACP']), ownerBits === RW))
  const shown = new Set<string>([`user:${view.ownerUid}`])
  for (const row of rows) {
    const isAnonymous = row.ref.kind === 'user' ? row.ref.uid === view.anonymousUid : row.ref.kind === 'group' && row.ref.gid === view.anonymousGid
    const isAuthRow = row.key === `group:${authGid}`
    const implied = allBits | (isAnonymous || isAuthRow ? 0 : authBits)
    const acp = stored.get(row.key) ?? new Set()
    const perms = permissionsOf(row.bits & ~implied, acp, row.bits === RW)
    shown.add(row.key)
    push(row.ref, perms)
  }
  for (const [key, acp] of stored) {
    const ref = refOfKey(key)
    if (ref === undefined || shown.has(key) || key === 'AllUsers') continue
    push(ref, permissionsOf(0, acp, false))
  }
  push({ kind: 'allUsers' }, permissionsOf(allBits, stored.get('AllUsers') ?? new Set(), allBits === RW))
  return out
}

/** Who may read (READ_ACP) or change (WRITE_ACP) an object's ACL: owner, uid 0 with root rights, or a stored grant. */
/**
 * GetObjectAcl's READ_ACP and PutObjectAcl's WRITE_ACP on an object's file in this bucket, as the daemon and
 * `bridgectl explain` judge them: the file's owner, root with root rights, or a stored ACP grant; public grants do
 * not count where the bucket ignores them; under BucketOwnerEnforced the bucket owner may, whoever owns the file
 * (it owns every object as far as S3 ACLs go, as on AWS).
 */
export function objectAcpAllowed (p: Principal, need: 'READ_ACP' | 'WRITE_ACP', file: { uid: number, acp: readonly AcpGrant[] }, record: BucketRecord, ids: { authenticatedUsersGid: number | null, anonymousGid: number }): boolean {
  if (aclsDisabled(record) && p.kind === 'user' && p.name === record.owner) return true
  const ignorePublic = ignoresPublicGrants(record) ? { anonymousGid: ids.anonymousGid } : undefined
  return hasAcpPermission(p, need, { ownerUid: file.uid, acp: file.acp, authenticatedUsersGid: ids.authenticatedUsersGid, ignorePublic })
}

export function hasAcpPermission (p: Principal, need: 'READ_ACP' | 'WRITE_ACP', on: { ownerUid: number, acp: readonly AcpGrant[], authenticatedUsersGid: number | null, ignorePublic?: { anonymousGid: number } }): boolean {
  // IgnorePublicAcls: an anonymous caller (AllUsers) gets nothing, and grants to AllUsers, AuthenticatedUsers or the
  // anonymous group count for nothing.
  const ignore = on.ignorePublic
  if (ignore !== undefined && p.kind === 'anonymous') return false
  if (p.uid === on.ownerUid) return true
  if (p.uid === 0 && p.hasRootRights) return true
  const isPublic = (gid: number): boolean => ignore !== undefined && (gid === on.authenticatedUsersGid || gid === ignore.anonymousGid)
  const isMember = (gid: number): boolean => !isPublic(gid) && (p.gid === gid || p.groups.includes(gid) || (gid === on.authenticatedUsersGid && p.kind === 'user'))
  return on.acp.some(g => (g.permission === need || g.permission === 'FULL_CONTROL') && (
    (g.grantee === 'AllUsers' && ignore === undefined) ||
    g.grantee === `user:${p.uid}` ||
    (g.grantee.startsWith('group:') && isMember(Number(g.grantee.slice(6))))))
}

/** Parses the stored JSON; anything unreadable counts as no grants (only root can write trusted.*). */
export function parseAcpGrants (text: string): AcpGrant[] {
  try {
    const value = JSON.parse(text) as unknown
    if (!Array.isArray(value)) return []
    return value.filter((g): g is AcpGrant => typeof g === 'object' && g !== null &&
      typeof (g as AcpGrant).grantee === 'string' && ['READ_ACP', 'WRITE_ACP', 'FULL_CONTROL'].includes((g as AcpGrant).permission))
      .map(g => ({ grantee: g.grantee, permission: g.permission }))
  } catch {
    return []
  }
}
