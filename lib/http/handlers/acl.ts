// ACL handlers: GetObjectAcl, PutObjectAcl (a view of and a way to change the file's POSIX ACL), GetBucketAcl, PutBucketAcl.
import { S3Error } from '../../errors/s3-error.js'
import {
  bucketAclGrants, bucketAcesFromGrants, expandCannedAcl, granteeOf, hasAclHeaders, isLonePrivate, parseCannedAcl, policyFromXml,
  readAclHeaders, resolveGrants, uidOfId, type AccessControlPolicy, type Grantee, type S3Grant, type S3Permission,
} from '../../access/s3-acl.js'
import type { AclEntry } from '../../access/posix-acl.js'
import { grantsToPosixAcl, objectAcpAllowed, posixAclToGrants, type AcpGrant } from '../../access/s3-acl-posix.js'
import { aclNotSupported, aclsDisabled, grantsOnlyBucketOwnerFullControl } from '../../access/object-ownership.js'
import { publicIdsOf, refusePublicAcl } from '../../access/public-access-block.js'
import type { BucketRecord } from '../../state/types.js'
import { checkSearchPath, currentAcl, openForAcl, readObjectAcl, writeObjectAcl, type StoredObjectAcl } from '../../storage/object-acl-store.js'
import { prefetchForRead, resolveObject } from '../../storage/objects.js'
import { keySegments, keyToPath } from '../../storage/paths.js'
import { fdPath } from '../../storage/xattrs.js'
import { requireAccess } from '../authorize.js'
import { aclHeadersDecide, applyAclHeaders, isBucketOwnerId } from '../acl-headers.js'
import { bucketRecord, bucketRef, updateBucket, requireJudgmentStands } from '../bucket-access.js'
import { granteeDirectory } from '../grantee-directory.js'
import { escapeXml } from '../xml/render.js'
import { parseXml } from '../xml/parse.js'
import type { S3Reply, S3Request, Services } from '../types.js'
import { requestKey } from './objects.js'

const MAX_ACL_BODY_BYTES = 64 * 1024
const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance'

/** AWS's AccessControlPolicy, with xsi:type on each Grantee (render.ts has no attributes, hence this builder). */
export function renderAccessControlPolicy (ownerId: string, grants: readonly { grantee: Grantee, permission: S3Permission }[]): string {
  const id = escapeXml(ownerId)
  const out = [`<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="${S3_NS}">`,
    `<Owner><ID>${id}</ID><DisplayName>${id}</DisplayName></Owner><AccessControlList>`]
  for (const { grantee, permission } of grants) {
    const inner = grantee.type === 'CanonicalUser'
      ? `<ID>${escapeXml(grantee.id)}</ID><DisplayName>${escapeXml(grantee.id)}</DisplayName>`
      : grantee.type === 'Group' ? `<URI>${escapeXml(grantee.uri)}</URI>` : `<EmailAddress>${escapeXml(grantee.email)}</EmailAddress>`
    out.push(`<Grant><Grantee xmlns:xsi="${XSI_NS}" xsi:type="${grantee.type}">${inner}</Grantee><Permission>${permission}</Permission></Grant>`)
  }
  out.push('</AccessControlList></AccessControlPolicy>')
  return out.join('')
}

/** The grants a PutObjectAcl/PutBucketAcl asks for: headers or body, exactly one of them (acl-model 3.4). */
async function requestedAcl (req: S3Request, cannedOwners: { ownerId: string, bucketOwnerId?: string }): Promise<AccessControlPolicy> {
  const headers = readAclHeaders(req.headers)
  const body = await req.readText(MAX_ACL_BODY_BYTES)
  const hasBody = body.trim() !== ''
  if (hasAclHeaders(headers) && hasBody) throw new S3Error('UnexpectedContent')
  if (headers.grants !== undefined) return { ownerId: undefined, grants: headers.grants }
  if (headers.canned !== undefined) return { ownerId: undefined, grants: expandCannedAcl(parseCannedAcl(headers.canned), cannedOwners) }
  if (!hasBody) throw new S3Error('MissingSecurityHeader', { MissingHeaderName: 'x-amz-acl' })
  let doc: Record<string, unknown>
  try {
    doc = await parseXml(body)
  } catch {
    throw new S3Error('MalformedACLError')
  }
  return policyFromXml(doc)
}

interface OpenedObject { record: BucketRecord, stored: StoredObjectAcl, path: string, close: () => Promise<void> }

/** Search on the directory chain, the object itself (pinned by an fd), and READ_ACP or WRITE_ACP on it. */
async function openObjectAcl (req: S3Request, s: Services, need: 'READ_ACP' | 'WRITE_ACP'): Promise<OpenedObject> {
  const record = bucketRecord(req, s)
  const key = requestKey(req)
  const fields = { Key: key, Resource: `/${record.name}/${key}` }
  // The policies first (an explicit Deny, a session or service-account policy that withholds the ACL actions):
  // the file's own ACP rules below are the other layers.
  // One walk for the policies' s3:ExistingObjectTag and the file whose ACL is read or written.
  const checked = prefetchForRead(bucketRef(record), key, { read: false })
  await requireAccess(req, s, { operation: need === 'READ_ACP' ? 'GetObjectAcl' : 'PutObjectAcl', bucket: record, key, prefetched: checked })
  const search = await checkSearchPath(record.path, keySegments(key), req.principal, { rootHasRights: req.principal.hasRootRights })
  if (!search.allowed) throw new S3Error(search.isMissing ? 'NoSuchKey' : 'AccessDenied', fields)
  const resolved = await resolveObject(bucketRef(record), key, checked)
  const fh = await openForAcl(resolved.path, resolved.st.ino, fields)
  const close = async (): Promise<void> => { await fh.close().catch(() => undefined) }
  try {
    const path = fdPath(fh.fd)
    const stored = await readObjectAcl(path)
    if (!objectAcpAllowed(req.principal, need, stored, record, s.config)) throw new S3Error('AccessDenied', fields)
    return { record, stored, path, close }
  } catch (err) {
    await close()
    throw err
  }
}

/**
 * ACL headers on a folder-marker PUT (`x-amz-acl: private` on `k/`) apply to the folder as PutObjectAcl would
 * apply them; they were accepted and ignored (sweep 24b F4), so a folder asked for private stayed listable by all.
 * A folder that exists must be the caller's to change (WRITE_ACP), judged before anything is written; one the PUT
 * makes is the caller's. Returns what to run once the marker is stored (undefined: no ACL headers that decide);
 * if that fails, `undo` is called first (the caller removes a marker it just added).
 */
export async function folderMarkerAcl (req: S3Request, s: Services, record: BucketRecord): Promise<((undo: () => Promise<void>) => Promise<void>) | undefined> {
  if (!aclHeadersDecide(req.headers, record)) return undefined
  const key = requestKey(req)
  const fields = { Key: key, Resource: `/${record.name}/${key}` }
  const search = await checkSearchPath(record.path, keySegments(key), req.principal, { rootHasRights: req.principal.hasRootRights })
  if (search.allowed) {
    // The folder as it is now, marked or not (a folder an NFS user made has no marker yet).
    const stored = await readObjectAcl(keyToPath(record.path, key)).catch(() => undefined)
    if (stored !== undefined && stored.isDirectory &&
      !objectAcpAllowed(req.principal, 'WRITE_ACP', stored, record, s.config)) {
      throw new S3Error('AccessDenied', fields)
    }
  }
  return async undo => {
    try {
      const opened = await openObjectAcl(req, s, 'WRITE_ACP')
      try {
        await applyAclHeaders(req, s, opened.record, opened.path)
      } finally {
        await opened.close()
      }
    } catch (err) {
      await undo()
      throw err
    }
  }
}

export async function getObjectAcl (req: S3Request, s: Services): Promise<S3Reply> {
  const opened = await openObjectAcl(req, s, 'READ_ACP')
  try {
    // BucketOwnerEnforced: AWS's ACL reads "always return a response that shows full control for the bucket owner";
    // what the file grants is the filesystem's business (getfacl), and s3cmd, which writes back the ACL it read after
    // every cp/mv, gets an ACL the bucket takes.
    if (aclsDisabled(opened.record)) return { xml: renderAccessControlPolicy(opened.record.owner, bucketAclGrants(opened.record.owner, [])) }
    const { stored } = opened
    const dir = granteeDirectory(s)
    const authGid = s.config.authenticatedUsersGid
    const grants = posixAclToGrants({
      ownerUid: stored.uid, fileGid: stored.gid, mode: stored.mode, acl: stored.acl, acp: stored.acp,
      authenticatedUsersGid: authGid, anonymousUid: s.config.anonymousUid, anonymousGid: s.config.anonymousGid,
    })
    const shown = grants.map(g => ({ grantee: granteeOf(g.grantee, dir, authGid), permission: g.permission }))
    return { xml: renderAccessControlPolicy(dir.userName(stored.uid), shown) }
  } finally {
    await opened.close()
  }
}

/**
 * PutObjectAcl under objectAclPolicy 'replace': the caller needs search on the path and WRITE_ACP (owner,
 * uid 0 with root rights, or a stored WRITE_ACP/FULL_CONTROL grant); the whole access ACL is rewritten.
 * Under 'deny' it is 403 AccessDenied, but for the ACL the file has already (s3cmd copies the source's ACL onto
 * every copy it makes; refused, its cp and mv failed after the copy was made), a lone `x-amz-acl: private` of a
 * file that is private included: that passes, checked like any PutObjectAcl, and changes nothing. An ACL never changes the owner, so a
 * body whose Owner/ID is not the file's owner is 403 AccessDenied; a body without Owner is accepted.
 */
export async function putObjectAcl (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const denied = (toPrivate: boolean): S3Error => new S3Error('AccessDenied', { Resource: `/${record.name}/${req.rawKey ?? ''}` }, {
    message: 'This bucket does not allow S3 to change object ACLs (object ACL policy deny).' + (toPrivate ? ' The object is not private: its file grants others more than its owner, and stays as it is.' : ''),
  })
  const opened = await openObjectAcl(req, s, 'WRITE_ACP')
  try {
    // BucketOwnerEnforced: only the bucket owner's full control, as the canned ACL or in XML, is taken (and changes
    // nothing); any other ACL is refused.
    if (aclsDisabled(record)) {
      const headers = readAclHeaders(req.headers)
      // Canned ACLs other than bucket-owner-full-control are refused by name (`private` too, as on uploads).
      if (headers.canned !== undefined && (headers.canned !== 'bucket-owner-full-control' || headers.grants !== undefined)) throw aclNotSupported(`/${record.name}/${req.rawKey ?? ''}`)
      const asked = headers.canned !== undefined ? undefined : await requestedAcl(req, { ownerId: `uid:${opened.stored.uid}`, bucketOwnerId: record.owner })
      if (asked !== undefined && !grantsOnlyBucketOwnerFullControl(asked.grants, isBucketOwnerId(s, record))) throw aclNotSupported(`/${record.name}/${req.rawKey ?? ''}`)
      return { status: 200 }
    }
    // Under deny a lone `x-amz-acl: private` passes on uploads (SPEC §5: rclone sends it with each one, and the
    // create modes decide), but not here: a PutObjectAcl that asks for a private file is answered 200 only when
    // the file already is one, never while others can still read it (walkthrough 23: "make private" said yes).
    const { stored, path } = opened
    const dir = granteeDirectory(s)
    const policy = await requestedAcl(req, { ownerId: `uid:${stored.uid}`, bucketOwnerId: record.owner })
    refusePublicAcl(record.publicAccessBlock, policy.grants, dir, publicIdsOf(s.config), `/${record.name}/${req.rawKey ?? ''}`)
    if (policy.ownerId !== undefined && tryUid(policy.ownerId, dir) !== stored.uid) throw new S3Error('AccessDenied', {}, { message: 'An ACL cannot change the object owner.' })
    const update = grantsToPosixAcl(resolveGrants(policy.grants, dir), {
      ownerUid: stored.uid, fileGid: stored.gid, isDirectory: stored.isDirectory, previous: currentAcl(stored),
      authenticatedUsersGid: s.config.authenticatedUsersGid, anonymousUid: s.config.anonymousUid, anonymousGid: s.config.anonymousGid,
    })
    if (record.objectAclPolicy === 'deny') {
      if (!sameAcl(update, stored)) throw denied(isLonePrivate(readAclHeaders(req.headers)))
      return { status: 200 }
    }
    // Judged on the bucket as this daemon had it before the body: a block or deny set since (through another
    // daemon, or while the body arrived) must bind before the file changes.
    requireJudgmentStands(req, s, record)
    await writeObjectAcl(path, { ...update, mode: stored.mode })
    return { status: 200 }
  } finally {
    await opened.close()
  }
}

/** Whether writing `update` would leave the file's access ACL and ACP grants as they are (order aside). */
function sameAcl (update: { acl: readonly AclEntry[], acp: readonly AcpGrant[] }, stored: StoredObjectAcl): boolean {
  const entries = (acl: readonly AclEntry[]): string => acl.map(e => `${e.tag}:${'id' in e ? e.id : ''}:${e.perm}`).sort().join(',')
  const grants = (acp: readonly AcpGrant[]): string => acp.map(g => `${g.grantee}=${g.permission}`).sort().join(',')
  return entries(update.acl) === entries(currentAcl(stored)) && grants(update.acp) === grants(stored.acp)
}

function tryUid (id: string, dir: ReturnType<typeof granteeDirectory>): number | undefined {
  try {
    return uidOfId(id, dir)
  } catch {
    return undefined
  }
}

export async function getBucketAcl (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'GetBucketAcl', bucket: record }) // policies, then READ_ACP (or a policy's allow)
  // BucketOwnerEnforced: AWS's ACL reads show the owner's FULL_CONTROL only (what still grants).
  return { xml: renderAccessControlPolicy(record.owner, bucketAclGrants(record.owner, aclsDisabled(record) ? [] : record.acl)) }
}

/**
 * PutBucketAcl: replaces the ACEs in the state store. Canned ACLs: private (and bucket-owner-*, which AWS
 * ignores on buckets) -> no ACEs; public-read -> everyone READ; public-read-write -> + WRITE;
 * authenticated-read -> authenticated READ. The owner's FULL_CONTROL is implicit and never stored.
 */
export async function putBucketAcl (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'PutBucketAcl', bucket: record })
  if (aclsDisabled(record)) throw aclNotSupported(`/${record.name}`)
  const policy = await requestedAcl(req, { ownerId: record.owner })
  // The ACL as asked, judged on a bucket record (again on the fresh one if it changed while the body arrived).
  const acesFor = (r: BucketRecord): BucketRecord['acl'] => {
    if (aclsDisabled(r)) throw aclNotSupported(`/${r.name}`)
    refusePublicAcl(r.publicAccessBlock, policy.grants, granteeDirectory(s), publicIdsOf(s.config), `/${r.name}`)
    if (policy.ownerId !== undefined && policy.ownerId !== r.owner) throw new S3Error('AccessDenied', {}, { message: 'An ACL cannot change the bucket owner.' })
    return bucketAcesFromGrants(policy.grants as S3Grant[], r.owner, granteeDirectory(s))
  }
  acesFor(record)
  await updateBucket(s, req, record, bucket => { bucket.acl = acesFor(bucket) }, async r => {
    await requireAccess(req, s, { operation: 'PutBucketAcl', bucket: r })
    acesFor(r)
  })
  return { status: 200 }
}
