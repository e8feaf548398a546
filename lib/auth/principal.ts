// Principal: who a request acts as, with the POSIX identity the filesystem checks use.

export interface PosixIdentity {
  uid: number
  gid: number
  /** Supplementary groups (may include gid). */
  groups: number[]
}

export interface Principal extends PosixIdentity {
  kind: 'user' | 'anonymous'
  /** Bridge user name; 'anonymous' for unsigned requests. */
  name: string
  role: 'admin' | 'user'
  accessKeyId?: string
  /** Whether this principal gets root's filesystem rights (uid 0 and the admin allowed it). */
  hasRootRights: boolean
}

export function anonymousPrincipal (uid: number, gid: number): Principal {
  return { kind: 'anonymous', name: 'anonymous', role: 'user', uid, gid, groups: [], hasRootRights: false }
}

export interface RootSquash { allowRootUsers: boolean, anonymousUid: number, anonymousGid: number, authenticatedUsersGid?: number | null }

/**
 * A bridge user's principal. Without allowRootUsers, uid 0 and gid 0 (primary or supplementary) are mapped to the
 * anonymous uid/gid, as NFS root_squash maps them to anonuid/anongid: a user mapped to root must not own every
 * root-owned file and folder of the NAS (dropping only root's capabilities would leave it the owner of all of them).
 * With authenticatedUsersGid, that group is among the user's groups (AuthenticatedUsers grants are that group's).
 */
export function userPrincipal (user: { name: string, role: 'admin' | 'user', uid: number, gid: number }, groups: readonly number[], squash: RootSquash, accessKeyId?: string): Principal {
  const rootRights = user.uid === 0 && squash.allowRootUsers
  const gidOf = (g: number): number => g === 0 && !squash.allowRootUsers ? squash.anonymousGid : g
  return {
    kind: 'user',
    name: user.name,
    role: user.role,
    uid: user.uid === 0 && !rootRights ? squash.anonymousUid : user.uid,
    gid: gidOf(user.gid),
    // Every signed user is an AuthenticatedUser: the group that grantee maps to is one of its groups.
    groups: [...new Set([...groups, ...(squash.authenticatedUsersGid == null ? [] : [squash.authenticatedUsersGid])].map(gidOf))],
    ...(accessKeyId === undefined ? {} : { accessKeyId }),
    hasRootRights: rootRights,
  }
}
