// Owner IDs as S3 shows them: the NSS user name of a uid, or "uid:<n>" when it has none.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const posix = require('posix') as { getpwnam (uid: number | string): { name: string } }
const names = new Map<number, { name: string, at: number }>()
const TTL_MS = 60_000

export function ownerName (uid: number, now = Date.now()): string {
  const hit = names.get(uid)
  if (hit && now - hit.at < TTL_MS) return hit.name
  let name = `uid:${uid}`
  try { name = posix.getpwnam(uid).name } catch { /* no NSS entry */ }
  if (names.size > 10_000) names.clear()
  names.set(uid, { name, at: now })
  return name
}

/** Owner shown for a uid: the bridge user holding it (as GetObjectAcl shows), else the NSS name. */
export function ownerNameIn (users: Record<string, { name: string, uid: number }>, uid: number): string {
  for (const u of Object.values(users)) if (u.uid === uid) return u.name
  return ownerName(uid)
}
