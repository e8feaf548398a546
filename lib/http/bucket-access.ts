// Finding the request's bucket and deciding bucket-level access; the one gate every handler calls.
import { isBlocked, publicIdsOf } from '../access/public-access-block.js'
import { aclsDisabled, bucketOwnerTakesUpload } from '../access/object-ownership.js'
import { readAclHeaders } from '../access/s3-acl.js'
import { S3Error } from '../errors/s3-error.js'
import type { BucketPermission, BucketRecord, State } from '../state/types.js'
import type { BucketRef, FolderCheck, WriteOptions } from '../storage/objects.js'
import type { PosixOwner } from '../storage/types.js'
import { userPrincipal } from '../auth/principal.js'
import { checkFolderForWrite } from '../storage/posix-access.js'
import type { Principal } from '../auth/principal.js'
import type { S3Request, Services } from './types.js'
import { bucketGrants } from '../access/authorize.js'
import { gidOf } from './authorize.js'
import { applyAclHeaders } from './acl-headers.js'
import { inheritDefaultAcl } from '../storage/inherit-acl.js'

export function bucketRecord (req: S3Request, s: Services): BucketRecord {
  const name = req.bucketName
  const record = name === undefined ? undefined : s.state.snapshot().buckets[name]
  if (!record || name === undefined) throw new S3Error('NoSuchBucket', { BucketName: name })
  return record
}

/** The same bucket: the name still maps the directory it mapped when `b` was read (not one mapped since). */
export function isSameBucket (a: BucketRecord | undefined, b: BucketRecord): a is BucketRecord {
  return a !== undefined && a.path === b.path && a.createdAt === b.createdAt
}

/**
 * The caller as a state knows it: its user record (role, uid, gid, enabled, service accounts), the texts of its
 * policies, and its keys' status and secrets' dates (never the secrets). A write judged on one state and done in
 * another where this differs (the user disabled or deleted, its key disabled or rotated, a policy detached or
 * changed, its role or uid changed) is refused: 409 OperationAborted, and sent again it is judged afresh.
 */
export function callerStamp (state: State, p: Principal): string {
  if (p.kind !== 'user') return p.kind
  const user = state.users[p.name]
  if (user === undefined) return 'no such user'
  const { keys, ...rest } = user
  return JSON.stringify([rest, user.policies.map(n => state.policies[n]?.text), keys.map(k => [k.accessKeyId, k.status, k.createdAt, k.expiresAt])])
}

/** 409 OperationAborted when the caller is not the one the request was judged as (see callerStamp). */
export function requireSameCaller (state: State, req: S3Request): void {
  if (req.judgedState !== undefined && req.judgedState !== state && callerStamp(state, req.principal) !== callerStamp(req.judgedState, req.principal)) {
    throw new S3Error('OperationAborted', {}, { message: 'Your account changed while this request ran (its key, policies, role or status). Send it again.' })
  }
}

/** What decides who may change a bucket's settings, and which settings it may take (owner, grants, blocks). */
const accessFields = (b: BucketRecord): string =>
  JSON.stringify([b.owner, b.acl, b.policy, b.publicAccessBlock, b.ownershipControls])

export function hasSameAccess (a: BucketRecord, b: BucketRecord): boolean {
  return accessFields(a) === accessFields(b)
}

/**
 * For a write outside the state (a file's ACL) judged on `judged` before its body arrived: the state as the disk
 * holds it now (this daemon's copy may be a poll behind) must still have that bucket with the same access settings
 * and object ACL policy, and the same caller; else 409 OperationAborted (sent again, it is judged afresh).
 */
export function requireJudgmentStands (req: S3Request, s: Services, judged: BucketRecord): void {
  s.state.refresh()
  const state = s.state.snapshot()
  const now = state.buckets[judged.name]
  if (!isSameBucket(now, judged)) throw new S3Error('NoSuchBucket', { BucketName: judged.name })
  if (!hasSameAccess(now, judged) || now.objectAclPolicy !== judged.objectAclPolicy) throw new S3Error('OperationAborted', { BucketName: judged.name })
  requireSameCaller(state, req)
}

/** How many times a bucket-setting write is judged again on a record changed under it before answering 409. */
const REJUDGE_TIMES = 5

/**
 * Changes the bucket a request judged, under the state lock. The request was authorized, and its new setting
 * checked (public access block, object ownership), by `judge` on the record it read before its body arrived (this
 * daemon's copy may also be a poll behind): the name may map another bucket by now (NoSuchBucket), or another
 * request or daemon may have changed the owner, ACL, policy, public access block or ownership controls since. Then
 * the request is judged again on the record as the state holds it (so fifty concurrent PutBucketAcl all land, as
 * on AWS, and a grant revoked or a block set meanwhile binds), and written if it still passes; a record that keeps
 * changing is 409 OperationAborted (AWS's answer to a conflicting operation: sent again, it is judged afresh).
 */
export async function updateBucket (s: Services, req: S3Request, judged: BucketRecord, change: (bucket: BucketRecord) => void, judge: (record: BucketRecord) => Promise<void> | void): Promise<void> {
  let record = judged
  for (let attempt = 0; ; attempt++) {
    // What `change` looks up besides the bucket (grantee names in an ACL) comes from this daemon's copy: fresh too.
    s.state.refresh()
    const moved = await s.state.mutate(state => {
      requireSameCaller(state, req)
      const bucket = state.buckets[record.name]
      if (!isSameBucket(bucket, record)) throw new S3Error('NoSuchBucket', { BucketName: record.name })
      if (!hasSameAccess(bucket, record)) return structuredClone(bucket)
      change(bucket)
      return undefined
    })
    if (moved === undefined) return
    if (attempt + 1 >= REJUDGE_TIMES) throw new S3Error('OperationAborted', { BucketName: record.name })
    await judge(moved)
    record = moved
  }
}

export function bucketRef (record: BucketRecord): BucketRef {
  return { name: record.name, root: record.path }
}

/** Bucket ACL grants this principal holds (see access/authorize.ts). */
/** `wellKnown: false`: only what the owner's own grant, its name or its groups give (not everyone/authenticated). */
export function principalBucketGrants (record: BucketRecord, p: Principal, opts: { wellKnown?: boolean } = {}): Set<BucketPermission> {
  return bucketGrants(aclsDisabled(record) ? { ...record, acl: [] } : record, p, gidOf, opts) // BucketOwnerEnforced: entries grant nothing
}

/**
 * How new files and folders are made for this request: owned by the principal, in the configured modes,
 * inheriting the parent's default ACL, then (files, when record is given) the request's ACL headers.
 */
/**
 * `fileModeCap`: the new file gets no permission bits outside it (a copy: its source's mode), default ACL included.
 * A bucket that blocks public ACLs (BlockPublicAcls) gets no other:: bits on new files either: other:: is AllUsers,
 * and an upload without ACL headers must not publish what the block refuses to publish with them (AWS: new objects
 * are private).
 */
export function writeOptions (req: S3Request, s: Services, record?: BucketRecord, opts: { fileModeCap?: number } = {}): WriteOptions {
  const blocksPublic = record !== undefined && isBlocked(record.publicAccessBlock, 'blockPublicAcls')
  const cap = (opts.fileModeCap ?? 0o777) & (blocksPublic ? ~0o007 : ~0)
  // Nor do a folder default ACL's entries for the AuthenticatedUsers gid or the anonymous ids reach new files then.
  const ids = publicIdsOf(s.config)
  const withoutIds = blocksPublic ? { uids: [ids.anonymousUid], gids: [ids.authenticatedUsersGid, ids.anonymousGid] } : undefined
  // S3 Object Ownership: the object's file is the bucket owner's where it takes uploads (a bucket owner that is no
  // bridge user, such as root, leaves it the writer's).
  const takes = record !== undefined && bucketOwnerTakesUpload(record, readAclHeaders(req.headers))
  const bucketOwner = takes ? ownerIds(s, record.owner) : undefined
  return {
    owner: { uid: req.principal.uid, gid: req.principal.gid },
    ...(bucketOwner === undefined ? {} : { fileOwner: bucketOwner }),
    fileMode: s.config.fileCreateMode & (cap | ~0o777),
    dirMode: s.config.dirCreateMode,
    fsync: s.config.fsync,
    onCreated: async (path, parent, isDirectory, owner) => {
      await inheritDefaultAcl(path, parent, isDirectory, isDirectory ? 0o777 : cap, isDirectory ? undefined : withoutIds)
      if (!isDirectory && record) await applyAclHeaders(req, s, record, path, owner)
    },
    checkFolder: folderCheck(req),
  }
}

/**
 * The ids a bucket owner's files get under S3 Object Ownership, or undefined to leave them the writer's: the owner
 * is no bridge user (root, for admin-mapped buckets), or is root-squashed (uid or gid 0 without allowRootUsers: no
 * S3 request may make a root-owned file then; review 26).
 */
function ownerIds (s: Services, owner: string): PosixOwner | undefined {
  const user = s.state.snapshot().users[owner]
  if (user === undefined) return undefined
  const squashed = userPrincipal(user, [], s.config)
  return squashed.uid === user.uid && squashed.gid === user.gid ? { uid: user.uid, gid: user.gid } : undefined
}

/** The request's rights on the very folder a write or delete lands in (storage holds it open; see WriteOptions). */
export function folderCheck (req: S3Request): FolderCheck {
  return async (dir, want) => {
    const answer = await checkFolderForWrite(req.principal, req.principal.hasRootRights, dir, want)
    if (!answer.allowed) throw new S3Error('AccessDenied')
  }
}

export function ownerXml (name: string): { ID: string, DisplayName: string } {
  return { ID: name, DisplayName: name }
}

/** The URL of an object as the client addressed the bucket: bucket in the host (virtual-hosted) or in the path. */
export function objectUrl (req: S3Request, bucket: string, key: string): string {
  const path = key.split('/').map(encodeURIComponent).join('/')
  const base = `${req.isSecure ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`
  return req.isVirtualHost ? `${base}/${path}` : `${base}/${encodeURIComponent(bucket)}/${path}`
}
