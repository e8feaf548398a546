// S3 ACLs as data: grants, canned ACLs, x-amz-grant-* headers, AccessControlPolicy bodies, grantee resolution, bucket ACEs.
import { S3Error } from '../errors/s3-error.js'
import type { BucketAce } from '../state/types.js'

export type S3Permission = 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP' | 'FULL_CONTROL'
export const S3_PERMISSIONS: readonly S3Permission[] = ['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL']

export const ALL_USERS_URI = 'http://acs.amazonaws.com/groups/global/AllUsers'
export const AUTHENTICATED_USERS_URI = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers'
export const LOG_DELIVERY_URI = 'http://acs.amazonaws.com/groups/s3/LogDelivery'
export const GROUP_NAME_URN = 'urn:s3bridge:group:'
export const GROUP_ID_URN = 'urn:s3bridge:gid:'

/** A grantee as the client wrote it. */
export type Grantee =
  | { readonly type: 'CanonicalUser', readonly id: string }
  | { readonly type: 'Group', readonly uri: string }
  | { readonly type: 'AmazonCustomerByEmail', readonly email: string }

export interface S3Grant { readonly grantee: Grantee, readonly permission: S3Permission }

/** A PutObjectAcl/PutBucketAcl body; ownerId is undefined when the body has no Owner (we accept that). */
export interface AccessControlPolicy { readonly ownerId: string | undefined, readonly grants: readonly S3Grant[] }

/** A grantee in POSIX terms. AuthenticatedUsers becomes a group only where a gid is configured. */
export type GranteeRef =
  | { readonly kind: 'user', readonly uid: number }
  | { readonly kind: 'group', readonly gid: number }
  | { readonly kind: 'allUsers' }
  | { readonly kind: 'authenticatedUsers' }

export interface ResolvedGrant { readonly grantee: GranteeRef, readonly permission: S3Permission }

/** Name service the resolution needs (bridge users, then NSS); injected so this file stays pure. */
export interface GranteeDirectory {
  /** uid of a user name (bridge user, else NSS); undefined when unknown. */
  uidOfName (name: string): number | undefined
  /** gid of a group name (NSS); undefined when unknown. */
  gidOfName (name: string): number | undefined
  /** The ID shown for a uid: bridge user name, else NSS name, else `uid:<n>`. */
  userName (uid: number): string
  /** NSS name of a gid, undefined when it has none. */
  groupName (gid: number): string | undefined
  /** The bridge user with this uid, for bucket ACEs (which name bridge users). */
  bridgeUserOfUid (uid: number): string | undefined
  isBridgeUser (name: string): boolean
}

export const CANNED_ACLS = [
  'private', 'public-read', 'public-read-write', 'authenticated-read', 'bucket-owner-read', 'bucket-owner-full-control',
] as const
export type CannedAcl = typeof CANNED_ACLS[number]
const UNSUPPORTED_CANNED = new Set(['log-delivery-write', 'aws-exec-read'])

/** Validates an x-amz-acl value: LogDelivery-based and aws-exec-read are 501, anything else unknown is 400. */
export function parseCannedAcl (value: string): CannedAcl {
  if ((CANNED_ACLS as readonly string[]).includes(value)) return value as CannedAcl
  if (UNSUPPORTED_CANNED.has(value)) throw new S3Error('NotImplemented', { Header: 'x-amz-acl' }, { message: `The canned ACL ${value} is not supported by this server.` })
  throw new S3Error('InvalidArgument', { ArgumentName: 'x-amz-acl', ArgumentValue: value })
}

/**
 * A canned ACL as grants: the owner always gets FULL_CONTROL. bucketOwnerId undefined means the target
 * is a bucket, where AWS ignores bucket-owner-read and bucket-owner-full-control (they act as private).
 */
export function expandCannedAcl (canned: CannedAcl, ids: { ownerId: string, bucketOwnerId?: string | undefined }): S3Grant[] {
  const user = (id: string, permission: S3Permission): S3Grant => ({ grantee: { type: 'CanonicalUser', id }, permission })
  const group = (uri: string, permission: S3Permission): S3Grant => ({ grantee: { type: 'Group', uri }, permission })
  const grants = [user(ids.ownerId, 'FULL_CONTROL')]
  switch (canned) {
    case 'private': break
    case 'public-read': grants.push(group(ALL_USERS_URI, 'READ')); break
    case 'public-read-write': grants.push(group(ALL_USERS_URI, 'READ'), group(ALL_USERS_URI, 'WRITE')); break
    case 'authenticated-read': grants.push(group(AUTHENTICATED_USERS_URI, 'READ')); break
    case 'bucket-owner-read':
      if (ids.bucketOwnerId !== undefined) grants.push(user(ids.bucketOwnerId, 'READ'))
      break
    case 'bucket-owner-full-control':
      if (ids.bucketOwnerId !== undefined) grants.push(user(ids.bucketOwnerId, 'FULL_CONTROL'))
      break
  }
  return grants
}

export const GRANT_HEADERS: Readonly<Record<string, S3Permission>> = {
  'x-amz-grant-read': 'READ',
  'x-amz-grant-write': 'WRITE',
  'x-amz-grant-read-acp': 'READ_ACP',
  'x-amz-grant-write-acp': 'WRITE_ACP',
  'x-amz-grant-full-control': 'FULL_CONTROL',
}

export type HeaderBag = Readonly<Record<string, string | string[] | undefined>>

/** What a request's ACL headers ask for; both undefined when it sends none. */
export interface AclHeaders { readonly canned: string | undefined, readonly grants: S3Grant[] | undefined }

const GRANTEE_ITEM = /^\s*(id|uri|emailaddress)\s*=\s*(?:"([^"]*)"|([^",\s]+))\s*(,|$)/i

/** Parses one x-amz-grant-* value: `id="alice", uri="http://…/AllUsers", emailAddress="a@b"`. */
export function parseGranteeList (header: string, value: string): Grantee[] {
  const out: Grantee[] = []
  let rest = value
  while (rest.trim() !== '') {
    const m = GRANTEE_ITEM.exec(rest)
    const text = m?.[2] ?? m?.[3] ?? ''
    if (!m || text === '' || (m[4] === ',' && rest.slice(m[0].length).trim() === '')) {
      throw new S3Error('InvalidArgument', { ArgumentName: header, ArgumentValue: value }, { message: 'Invalid grant header value.' })
    }
    const kind = (m[1] ?? '').toLowerCase()
    out.push(kind === 'id' ? { type: 'CanonicalUser', id: text } : kind === 'uri' ? { type: 'Group', uri: text } : { type: 'AmazonCustomerByEmail', email: text })
    rest = rest.slice(m[0].length)
  }
  if (out.length === 0) throw new S3Error('InvalidArgument', { ArgumentName: header, ArgumentValue: value }, { message: 'Invalid grant header value.' })
  return out
}

function headerText (headers: HeaderBag, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v.join(',') : v
}

/** Reads x-amz-acl and x-amz-grant-*; both kinds at once is 400 InvalidRequest, as AWS answers. */
export function readAclHeaders (headers: HeaderBag): AclHeaders {
  const canned = headerText(headers, 'x-amz-acl')?.trim()
  let grants: S3Grant[] | undefined
  for (const [name, permission] of Object.entries(GRANT_HEADERS)) {
    const value = headerText(headers, name)
    if (value === undefined) continue
    grants ??= []
    for (const grantee of parseGranteeList(name, value)) grants.push({ grantee, permission })
  }
  if (canned !== undefined && grants !== undefined) {
    throw new S3Error('InvalidRequest', {}, { message: 'Specifying both Canned ACLs and Header Grants is not allowed' })
  }
  return { canned, grants }
}

export function hasAclHeaders (h: AclHeaders): boolean {
  return h.canned !== undefined || h.grants !== undefined
}

/** A lone `x-amz-acl: private`: it only narrows (owner-only), and passes where other ACL headers are refused. */
export function isLonePrivate (h: AclHeaders): boolean {
  return h.grants === undefined && h.canned === 'private'
}

const MAX_GRANTS = 100

function malformed (why: string): S3Error {
  return new S3Error('MalformedACLError', {}, { message: `The XML you provided was not well-formed or did not validate against our published schema: ${why}` })
}

function childNodes (node: unknown, name: string): unknown[] {
  if (typeof node !== 'object' || node === null) return []
  const v = (node as Record<string, unknown>)[name]
  return Array.isArray(v) ? v : []
}

/** The single text child `name`, or undefined. Elements with attributes come as {_: text, $: attrs}. */
function childText (node: unknown, name: string): string | undefined {
  const [first, second] = childNodes(node, name)
  if (second !== undefined) throw malformed(`more than one ${name}`)
  if (typeof first === 'string') return first.trim()
  if (typeof first === 'object' && first !== null && '_' in first) return String((first as { _: unknown })._).trim()
  return first === undefined ? undefined : ''
}

/** The xsi:type attribute, whatever prefix the client bound the XMLSchema-instance namespace to. */
function typeAttribute (node: unknown): string | undefined {
  const attrs = typeof node === 'object' && node !== null ? (node as { $?: unknown }).$ : undefined
  if (typeof attrs !== 'object' || attrs === null) return undefined
  for (const [k, v] of Object.entries(attrs)) if (/(^|:)type$/.test(k) && typeof v === 'string') return v
  return undefined
}

function granteeFromXml (node: unknown): Grantee {
  const id = childText(node, 'ID')
  const uri = childText(node, 'URI')
  const email = childText(node, 'EmailAddress')
  // AWS requires xsi:type; we infer it from the one child present when a client leaves it out.
  const type = typeAttribute(node) ?? (id !== undefined ? 'CanonicalUser' : uri !== undefined ? 'Group' : email !== undefined ? 'AmazonCustomerByEmail' : undefined)
  if (type === 'CanonicalUser' && id) return { type, id }
  if (type === 'Group' && uri) return { type, uri }
  if (type === 'AmazonCustomerByEmail' && email) return { type, email }
  throw malformed(`Grantee of type ${type ?? '(none)'} without its ID, URI or EmailAddress`)
}

/** Validates a parsed (xml2js, explicitArray) AccessControlPolicy document; MalformedACLError otherwise. */
export function policyFromXml (doc: unknown): AccessControlPolicy {
  // xml2js gives the root element unwrapped: {AccessControlPolicy: {...}}.
  const root = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>).AccessControlPolicy : undefined
  if (root === undefined) throw malformed('the root element must be AccessControlPolicy')
  const owners = childNodes(root, 'Owner')
  if (owners.length > 1) throw malformed('more than one Owner')
  const ownerId = owners.length === 1 ? childText(owners[0], 'ID') : undefined
  if (owners.length === 1 && !ownerId) throw malformed('Owner without ID')
  const lists = childNodes(root, 'AccessControlList')
  if (lists.length !== 1) throw malformed('exactly one AccessControlList is required')
  const grantNodes = childNodes(lists[0], 'Grant')
  if (grantNodes.length > MAX_GRANTS) throw malformed(`more than ${MAX_GRANTS} grants`)
  const grants = grantNodes.map((g): S3Grant => {
    const granteeNodes = childNodes(g, 'Grantee')
    if (granteeNodes.length !== 1) throw malformed('each Grant needs exactly one Grantee')
    const permission = childText(g, 'Permission')
    if (!(S3_PERMISSIONS as readonly (string | undefined)[]).includes(permission)) throw malformed(`Permission ${permission ?? '(missing)'}`)
    return { grantee: granteeFromXml(granteeNodes[0]), permission: permission as S3Permission }
  })
  return { ownerId, grants }
}

function invalidId (id: string): S3Error {
  return new S3Error('InvalidArgument', { ArgumentName: 'CanonicalUser/ID', ArgumentValue: id }, { message: 'Invalid id' })
}

function invalidGroupUri (uri: string): S3Error {
  return new S3Error('InvalidArgument', { ArgumentName: 'Group/URI', ArgumentValue: uri }, { message: 'Invalid group uri' })
}

function emailUnresolvable (email: string): S3Error {
  // Bridge users carry no e-mail address, so no e-mail grantee can ever resolve.
  return new S3Error('UnresolvableGrantByEmailAddress', { EmailAddress: email })
}

function logDeliveryUnsupported (): S3Error {
  return new S3Error('NotImplemented', {}, { message: 'The LogDelivery group is not supported by this server.' })
}

/** `uid:<n>`, else a user name through the directory; unknown is 400 InvalidArgument 'Invalid id'. */
export function uidOfId (id: string, dir: GranteeDirectory): number {
  const numeric = /^uid:(\d{1,10})$/.exec(id)
  const uid = numeric ? Number(numeric[1]) : dir.uidOfName(id)
  if (uid === undefined || uid >= 0xffffffff) throw invalidId(id)
  return uid
}

function gidOfUri (uri: string, dir: GranteeDirectory): number {
  if (uri.startsWith(GROUP_ID_URN)) {
    const text = uri.slice(GROUP_ID_URN.length)
    if (/^\d{1,10}$/.test(text) && Number(text) < 0xffffffff) return Number(text)
  } else if (uri.startsWith(GROUP_NAME_URN)) {
    const gid = dir.gidOfName(uri.slice(GROUP_NAME_URN.length))
    if (gid !== undefined) return gid
  }
  throw invalidGroupUri(uri)
}

/** A grantee in POSIX terms (for object ACLs). */
export function resolveGrantee (g: Grantee, dir: GranteeDirectory): GranteeRef {
  switch (g.type) {
    case 'CanonicalUser': return { kind: 'user', uid: uidOfId(g.id, dir) }
    case 'AmazonCustomerByEmail': throw emailUnresolvable(g.email)
    case 'Group':
      if (g.uri === ALL_USERS_URI) return { kind: 'allUsers' }
      if (g.uri === AUTHENTICATED_USERS_URI) return { kind: 'authenticatedUsers' }
      if (g.uri === LOG_DELIVERY_URI) throw logDeliveryUnsupported()
      return { kind: 'group', gid: gidOfUri(g.uri, dir) }
  }
}

export function resolveGrants (grants: readonly S3Grant[], dir: GranteeDirectory): ResolvedGrant[] {
  return grants.map(g => ({ grantee: resolveGrantee(g.grantee, dir), permission: g.permission }))
}

/** How a POSIX grantee is shown; group `authenticatedUsersGid` is AuthenticatedUsers. */
export function granteeOf (ref: GranteeRef, dir: GranteeDirectory, authenticatedUsersGid: number | null): Grantee {
  switch (ref.kind) {
    case 'user': return { type: 'CanonicalUser', id: dir.userName(ref.uid) }
    case 'allUsers': return { type: 'Group', uri: ALL_USERS_URI }
    case 'authenticatedUsers': return { type: 'Group', uri: AUTHENTICATED_USERS_URI }
    case 'group': {
      if (ref.gid === authenticatedUsersGid) return { type: 'Group', uri: AUTHENTICATED_USERS_URI }
      const name = dir.groupName(ref.gid)
      return { type: 'Group', uri: name === undefined ? `${GROUP_ID_URN}${ref.gid}` : `${GROUP_NAME_URN}${name}` }
    }
  }
}

/**
 * Grants as bucket ACEs (OneFS style). Users must be bridge users (by name or `uid:<n>`); groups are stored
 * by NSS name (the gid as text when it has none); grants to the owner are dropped, as the owner holds
 * FULL_CONTROL implicitly. Duplicates are removed.
 */
export function bucketAcesFromGrants (grants: readonly S3Grant[], owner: string, dir: GranteeDirectory): BucketAce[] {
  const aces: BucketAce[] = []
  for (const { grantee, permission } of grants) {
    const ace = bucketAceOf(grantee, dir)
    if (ace.type === 'user' && ace.name === owner) continue
    if (!aces.some(a => a.type === ace.type && a.name === ace.name && a.permission === permission)) aces.push({ ...ace, permission })
  }
  return aces
}

function bucketAceOf (g: Grantee, dir: GranteeDirectory): Omit<BucketAce, 'permission'> {
  switch (g.type) {
    case 'AmazonCustomerByEmail': throw emailUnresolvable(g.email)
    case 'CanonicalUser': {
      const numeric = /^uid:(\d{1,10})$/.exec(g.id)
      const name = numeric ? dir.bridgeUserOfUid(Number(numeric[1])) : (dir.isBridgeUser(g.id) ? g.id : undefined)
      if (name === undefined) throw invalidId(g.id)
      return { type: 'user', name }
    }
    case 'Group':
      if (g.uri === ALL_USERS_URI) return { type: 'wellknown', name: 'everyone' }
      if (g.uri === AUTHENTICATED_USERS_URI) return { type: 'wellknown', name: 'authenticated' }
      if (g.uri === LOG_DELIVERY_URI) throw logDeliveryUnsupported()
      if (g.uri.startsWith(GROUP_NAME_URN)) {
        gidOfUri(g.uri, dir)
        return { type: 'group', name: g.uri.slice(GROUP_NAME_URN.length) }
      }
      {
        const gid = gidOfUri(g.uri, dir)
        return { type: 'group', name: dir.groupName(gid) ?? String(gid) }
      }
  }
}

/** The bucket ACL as GetBucketAcl shows it: the owner's implicit FULL_CONTROL first, then the ACEs in order. */
export function bucketAclGrants (owner: string, aces: readonly BucketAce[]): S3Grant[] {
  const grants: S3Grant[] = [{ grantee: { type: 'CanonicalUser', id: owner }, permission: 'FULL_CONTROL' }]
  for (const ace of aces) {
    const grantee: Grantee = ace.type === 'user'
      ? { type: 'CanonicalUser', id: ace.name }
      : ace.type === 'group'
        ? { type: 'Group', uri: /^\d+$/.test(ace.name) ? `${GROUP_ID_URN}${ace.name}` : `${GROUP_NAME_URN}${ace.name}` }
        : { type: 'Group', uri: ace.name === 'authenticated' ? AUTHENTICATED_USERS_URI : ALL_USERS_URI }
    grants.push({ grantee, permission: ace.permission })
  }
  return grants
}
