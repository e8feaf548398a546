// Which directories may become a bucket, shared by bridgectl and CreateBucket: never /, the state, a staging
// folder, or a tree another bucket serves (its staging folder would show in the outer bucket, and two ACLs
// would govern the same files).
import { realpathSync } from 'node:fs'
import { basename, dirname, join, sep } from 'node:path'
import { STAGING_DIR } from '../storage/paths.js'
import type { BucketRecord } from './types.js'

/** path with symlinks resolved as far as it exists: a directory about to be made has a missing tail. */
export function canonicalPath (path: string): string {
  const tail: string[] = []
  for (let p = path; ; p = dirname(p)) {
    try {
      return join(realpathSync(p), ...tail)
    } catch {
      if (p === dirname(p)) return path
      tail.unshift(basename(p))
    }
  }
}

function isInside (inner: string, outer: string): boolean {
  return inner !== outer && inner.startsWith(outer === sep ? sep : outer + sep)
}

/** Why canonical path cannot be a bucket's directory, or undefined when it can. */
export function bucketPathProblem (path: string, where: { stateDir: string, buckets: Record<string, BucketRecord> }): string | undefined {
  if (path === sep) return 'is the filesystem root'
  const state = canonicalPath(where.stateDir)
  if (path === state || isInside(path, state)) return `is inside the bridge's state directory ${state}`
  if (isInside(state, path)) return `contains the bridge's state directory ${state}`
  if (path.split(sep).includes(STAGING_DIR)) return `is inside a ${STAGING_DIR} staging folder`
  for (const b of Object.values(where.buckets)) {
    if (path === b.path) return `is already mapped by bucket "${b.name}"`
    if (isInside(path, b.path)) return `is inside bucket "${b.name}" (${b.path}); buckets may not nest`
    if (isInside(b.path, path)) return `contains bucket "${b.name}" (${b.path}); buckets may not nest`
  }
  return undefined
}
