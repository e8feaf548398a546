// POSIX group names to gids through NSS, cached briefly (bucket ACEs may name groups).
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const posix = require('posix') as { getgrnam (name: string): { gid: number } }
const TTL_MS = 60_000
const cache = new Map<string, { gid: number | undefined, at: number }>()

/** Forgets every cached group name (SIGHUP). */
export function forgetGroupNames (): void {
  cache.clear()
}

export function gidOfGroup (name: string, now = Date.now()): number | undefined {
  const hit = cache.get(name)
  if (hit && now - hit.at < TTL_MS) return hit.gid
  let gid: number | undefined
  try { gid = posix.getgrnam(name).gid } catch { gid = undefined }
  if (cache.size > 10_000) cache.clear()
  cache.set(name, { gid, at: now })
  return gid
}
