// Key rotation as OneFS does it: a new current secret; the previous one valid for a window; a second rotation drops the older one.
import { newSecret } from './keys.js'
import type { AccessKeyRecord, State } from '../state/types.js'

export function rotateKey (k: AccessKeyRecord, now: Date, oldKeyExpiryMinutes: number): void {
  if (oldKeyExpiryMinutes > 0) {
    k.oldSecret = k.secret
    k.oldCreatedAt = k.createdAt
    k.oldExpiresAt = new Date(now.getTime() + oldKeyExpiryMinutes * 60_000).toISOString()
  } else {
    delete k.oldSecret
    delete k.oldCreatedAt
    delete k.oldExpiresAt
  }
  k.secret = newSecret()
  k.createdAt = now.toISOString()
}

/** Drops expired keys and expired old secrets; returns how many records changed. */
export function purgeExpired (state: State, now: Date): number {
  let changed = 0
  const t = now.getTime()
  for (const u of Object.values(state.users)) {
    const before = u.keys.length
    u.keys = u.keys.filter(k => !(k.expiresAt && Date.parse(k.expiresAt) <= t))
    changed += before - u.keys.length
    for (const k of u.keys) {
      if (k.oldExpiresAt && Date.parse(k.oldExpiresAt) <= t) {
        delete k.oldSecret
        delete k.oldCreatedAt
        delete k.oldExpiresAt
        changed++
      }
    }
  }
  return changed
}
