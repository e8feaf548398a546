// First start on the embedded default: a demo user, key and bucket, so a new admin has something to try.
import { chown, mkdir } from 'node:fs/promises'
import { realpath } from 'node:fs/promises'
import { newAccessKey } from '../auth/keys.js'
import type { Config } from '../config/schema.js'
import type { StateStore } from '../state/store.js'

export interface DemoCredentials { accessKeyId: string, secret?: string, bucket: string }

export async function bootstrapDemo (config: Config, state: StateStore, now: Date): Promise<DemoCredentials | undefined> {
  const demo = config.demo
  if (!demo) return undefined
  const isRoot = process.getuid?.() === 0
  const uid = isRoot ? demo.uid : process.getuid?.() ?? demo.uid
  const gid = isRoot ? demo.gid : process.getgid?.() ?? demo.gid
  await mkdir(demo.path, { recursive: true, mode: 0o755 })
  if (isRoot) await chown(demo.path, uid, gid)
  const path = await realpath(demo.path)
  return state.mutate(s => {
    let secret: string | undefined
    let user = s.users[demo.user]
    if (!user) {
      const key = newAccessKey(now)
      secret = key.secret
      user = { name: demo.user, uid, gid, role: 'user', enabled: true, createdAt: now.toISOString(), keys: [key], policies: [] }
      s.users[demo.user] = user
    }
    if (!s.buckets[demo.bucket]) {
      s.buckets[demo.bucket] = { name: demo.bucket, path, owner: demo.user, createdAt: now.toISOString(), createdByS3: false, acl: [], objectAclPolicy: 'replace' }
    }
    const key = user.keys[0]
    return key ? { accessKeyId: key.accessKeyId, secret, bucket: demo.bucket } : undefined
  })
}
