// Finding the request's bucket and deciding bucket-level access; the one gate every handler calls.
import { S3Error } from '../errors/s3-error.js'
import type { BucketPermission, BucketRecord } from '../state/types.js'
import type { BucketRef, WriteOptions } from '../storage/objects.js'
import type { Principal } from '../auth/principal.js'
import type { S3Request, Services } from './types.js'

export function bucketRecord (req: S3Request, s: Services): BucketRecord {
  const name = req.bucketName
  const record = name === undefined ? undefined : s.state.snapshot().buckets[name]
  if (!record || name === undefined) throw new S3Error('NoSuchBucket', { BucketName: name })
  return record
}

export function bucketRef (record: BucketRecord): BucketRef {
  return { name: record.name, root: record.path }
}

/** Bucket ACL grants this principal holds: owner = FULL_CONTROL; entries by user, group or well-known group. */
export function bucketGrants (record: BucketRecord, p: Principal): Set<BucketPermission> {
  const out = new Set<BucketPermission>()
  if (p.kind === 'user' && record.owner === p.name) out.add('FULL_CONTROL')
  for (const ace of record.acl) {
    const applies = (ace.type === 'user' && p.kind === 'user' && ace.name === p.name) ||
      (ace.type === 'wellknown' && (ace.name === 'everyone' || (ace.name === 'authenticated' && p.kind === 'user'))) ||
      (ace.type === 'group' && p.kind === 'user' && groupMatches(ace.name, p))
    if (applies) out.add(ace.permission)
  }
  return out
}

function groupMatches (name: string, p: Principal): boolean {
  const gid = /^\d+$/.test(name) ? Number(name) : undefined
  return gid !== undefined && p.groups.includes(gid)
}

export function hasBucketPermission (record: BucketRecord, p: Principal, need: BucketPermission): boolean {
  if (p.role === 'admin' && p.kind === 'user') return true
  const grants = bucketGrants(record, p)
  return grants.has('FULL_CONTROL') || grants.has(need)
}

/** Throws AccessDenied unless the bucket ACL (or admin role) grants the permission. */
export function requireBucketPermission (record: BucketRecord, req: S3Request, need: BucketPermission): void {
  if (!hasBucketPermission(record, req.principal, need)) throw new S3Error('AccessDenied', { Resource: `/${record.name}` })
}

export function writeOptions (req: S3Request, s: Services): WriteOptions {
  return {
    owner: { uid: req.principal.uid, gid: req.principal.gid },
    fileMode: s.config.fileCreateMode,
    dirMode: s.config.dirCreateMode,
    fsync: s.config.fsync,
  }
}

export function ownerXml (name: string): { ID: string, DisplayName: string } {
  return { ID: name, DisplayName: name }
}
