// First start on the embedded default: a demo user, key and bucket, so a new admin has something to try.
import { existsSync } from 'node:fs'
import { chown, mkdir, realpath, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { newAccessKey } from '../auth/keys.js'
import { ConfigError, type Config } from '../config/schema.js'
import type { StateStore } from '../state/store.js'
import { mountPointOf, swappableParent } from '../storage/bucket-roots.js'

export interface DemoCredentials { accessKeyId: string, secret?: string, bucket: string }

/** Written to the state directory once the demo was made: it is never made again, whatever happens to it later. */
export const DEMO_MARKER = 'demo-bootstrapped'

/**
 * Makes the demo user, key and bucket on a first start only: an empty state (no users, no buckets) that was never
 * bootstrapped. An admin who deleted the demo user or bucket, or who set the bridge up with bridgectl before its
 * first start, does not get them back (with a fresh secret in the journal) at the next restart.
 * Returns the demo key to print: with its secret only when it was just made.
 */
export async function bootstrapDemo (config: Config, state: StateStore, now: Date): Promise<DemoCredentials | undefined> {
  const demo = config.demo
  if (!demo) return undefined
  const marker = join(config.stateDir, DEMO_MARKER)
  const current = state.snapshot()
  const isFirstStart = !existsSync(marker) && Object.keys(current.users).length === 0 && Object.keys(current.buckets).length === 0
  if (!isFirstStart) {
    // A state made before the marker existed: it was bootstrapped then (or set up by hand); never again.
    if (!existsSync(marker)) await writeFile(marker, `${now.toISOString()}\n`, { mode: 0o600 })
    const key = current.users[demo.user]?.keys[0]
    return key && current.buckets[demo.bucket] ? { accessKeyId: key.accessKeyId, bucket: demo.bucket } : undefined
  }
  const isRoot = process.getuid?.() === 0
  const uid = isRoot ? demo.uid : process.getuid?.() ?? demo.uid
  const gid = isRoot ? demo.gid : process.getgid?.() ?? demo.gid
  // The sample's demo path is relative to the current directory, which may be one others can write (/tmp): a
  // symlink planted at var/demo had root chown its target to the demo user (review 17). The folders it is made
  // in must be root's, and what is there must be a directory, not a link, before anything is made or chown'ed.
  const unsafe = await swappableParent(resolve(demo.path), { toBeMade: true })
  if (unsafe !== undefined) throw new ConfigError('demo.path', 'a folder only root can change the parents of', `${demo.path}: ${unsafe}`)
  await mkdir(demo.path, { recursive: true, mode: 0o755 })
  if (isRoot) await chown(demo.path, uid, gid)
  const path = await realpath(demo.path)
  const mountPoint = await mountPointOf(path)
  const made = await state.mutate(s => {
    // Another process (a cluster sibling, bridgectl) may have changed the state since the snapshot.
    if (Object.keys(s.users).length > 0 || Object.keys(s.buckets).length > 0) return undefined
    const key = newAccessKey(now)
    s.users[demo.user] = { name: demo.user, uid, gid, role: 'user', enabled: true, createdAt: now.toISOString(), keys: [key], policies: [] }
    s.buckets[demo.bucket] = { name: demo.bucket, path, mountPoint, owner: demo.user, createdAt: now.toISOString(), createdByS3: false, acl: [], objectAclPolicy: 'replace' }
    return { accessKeyId: key.accessKeyId, secret: key.secret, bucket: demo.bucket }
  })
  await writeFile(marker, `${now.toISOString()}\n`, { mode: 0o600 })
  return made
}
