// POSIX identities from NSS (so LDAP/SSSD accounts work): users by name, and supplementary groups, cached briefly.
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { promisify } from 'node:util'

const require = createRequire(import.meta.url)
const posix = require('posix') as { getpwnam (name: string | number): { name: string, uid: number, gid: number } }
const run = promisify(execFile)

export function lookupAccount (name: string): { uid: number, gid: number } | undefined {
  try {
    const pw = posix.getpwnam(name)
    return { uid: pw.uid, gid: pw.gid }
  } catch {
    return undefined
  }
}

const GROUP_CACHE_MS = 60_000
const cache = new Map<string, { groups: Promise<number[]>, at: number }>()

/**
 * Supplementary groups of a uid as NSS reports them (`id -G`, which uses getgrouplist), always including
 * the primary gid. A uid unknown to NSS has only its primary gid. Concurrent requests share one look-up
 * (the cached promise), so an expired entry under load spawns one `id`, not one per request.
 */
export async function supplementaryGroups (uid: number, gid: number, now = Date.now()): Promise<number[]> {
  const cacheKey = `${uid}:${gid}`
  const hit = cache.get(cacheKey)
  if (hit && now - hit.at < GROUP_CACHE_MS) return hit.groups
  const groups = lookupGroups(uid, gid)
  cache.set(cacheKey, { groups, at: now })
  return groups
}

/** Forgets every cached group list (SIGHUP: an admin who removed someone from a group wants it to apply now). */
export function forgetGroups (): void {
  cache.clear()
}

async function lookupGroups (uid: number, gid: number): Promise<number[]> {
  try {
    const { stdout } = await run('id', ['-G', String(uid)], { timeout: 5000 })
    return [...new Set([gid, ...stdout.trim().split(/\s+/).map(Number).filter(Number.isInteger)])]
  } catch {
    return [gid] // not in NSS
  }
}
