// Names for ACL grantees: bridge users from the state store first, then NSS users and groups.
import { createRequire } from 'node:module'
import { gidOfGroup } from '../auth/groups.js'
import { lookupAccount } from '../auth/identity.js'
import type { GranteeDirectory } from '../access/s3-acl.js'
import { ownerName } from './owner-names.js'
import type { Services } from './types.js'

const require = createRequire(import.meta.url)
const posix = require('posix') as { getgrnam (group: number): { name: string, gid: number } }

function groupOfGid (gid: number): { name: string, gid: number } | undefined {
  try {
    return posix.getgrnam(gid)
  } catch {
    return undefined
  }
}

/**
 * A CanonicalUser ID is a bridge user name (its configured uid), else an NSS user name, else `uid:<n>`.
 * Shown IDs prefer the bridge user holding the uid, so what GetObjectAcl shows can be sent back.
 */
export function granteeDirectory (s: Services): GranteeDirectory {
  const users = (): readonly { name: string, uid: number }[] => Object.values(s.state.snapshot().users)
  return {
    uidOfName: name => s.state.snapshot().users[name]?.uid ?? lookupAccount(name)?.uid,
    gidOfName: name => (/^\d+$/.test(name) ? undefined : gidOfGroup(name)),
    userName: uid => users().find(u => u.uid === uid)?.name ?? ownerName(uid),
    groupName: gid => groupOfGid(gid)?.name,
    bridgeUserOfUid: uid => users().find(u => u.uid === uid)?.name,
    isBridgeUser: name => s.state.snapshot().users[name] !== undefined,
  }
}
