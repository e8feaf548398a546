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
