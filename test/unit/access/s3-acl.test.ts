import t from 'tap'
import { Parser } from 'xml2js'
import { formatPosixAcl, parsePosixAclText, validatePosixAcl } from '../../../lib/access/posix-acl.js'
import {
  ALL_USERS_URI, AUTHENTICATED_USERS_URI, LOG_DELIVERY_URI, bucketAclGrants, bucketAcesFromGrants, expandCannedAcl, granteeOf,
  parseCannedAcl, parseGranteeList, policyFromXml, readAclHeaders, resolveGrants, type GranteeDirectory, type S3Grant,
} from '../../../lib/access/s3-acl.js'
import { grantsToPosixAcl, hasAcpPermission, parseAcpGrants, posixAclToGrants, type ObjectAclTarget } from '../../../lib/access/s3-acl-posix.js'
import { renderAccessControlPolicy } from '../../../lib/http/handlers/acl.js'
import type { Principal } from '../../../lib/auth/principal.js'

const USERS: Record<string, number> = { alice: 1000, bob: 1002, carol: 1003 }
const GROUPS: Record<string, number> = { users: 100, staff: 50 }
const dir: GranteeDirectory = {
  uidOfName: name => USERS[name],
  gidOfName: name => GROUPS[name],
  userName: uid => Object.keys(USERS).find(n => USERS[n] === uid) ?? `uid:${uid}`,
  groupName: gid => Object.keys(GROUPS).find(n => GROUPS[n] === gid),
  bridgeUserOfUid: uid => Object.keys(USERS).find(n => USERS[n] === uid),
  isBridgeUser: name => name in USERS,
}

const target = (over: Partial<ObjectAclTarget> = {}): ObjectAclTarget => ({
  ownerUid: 1000, fileGid: 100, isDirectory: false, previous: parsePosixAclText('u::rw-,g::r--,o::---'),
  authenticatedUsersGid: null, anonymousUid: 65534, anonymousGid: 65534, ...over,
})

const user = (id: string, permission: S3Grant['permission']): S3Grant => ({ grantee: { type: 'CanonicalUser', id }, permission })
const group = (uri: string, permission: S3Grant['permission']): S3Grant => ({ grantee: { type: 'Group', uri }, permission })

function aclText (grants: S3Grant[], over: Partial<ObjectAclTarget> = {}): string {
  const { acl } = grantsToPosixAcl(resolveGrants(grants, dir), target(over))
  const problem = validatePosixAcl(acl)
  if (problem !== undefined) throw new Error(`the kernel would refuse the ACL: ${problem}`)
  return formatPosixAcl(acl, { showEffective: false }).split('\n').join(',')
}

t.test('canned ACLs expand to the owner FULL_CONTROL plus their grantees', async t => {
  t.same(expandCannedAcl('private', { ownerId: 'alice' }), [user('alice', 'FULL_CONTROL')])
  t.same(expandCannedAcl('public-read-write', { ownerId: 'alice' }), [user('alice', 'FULL_CONTROL'), group(ALL_USERS_URI, 'READ'), group(ALL_USERS_URI, 'WRITE')])
  t.same(expandCannedAcl('authenticated-read', { ownerId: 'alice' }).at(1), group(AUTHENTICATED_USERS_URI, 'READ'))
  t.same(expandCannedAcl('bucket-owner-full-control', { ownerId: 'alice', bucketOwnerId: 'bob' }).at(1), user('bob', 'FULL_CONTROL'))
  t.same(expandCannedAcl('bucket-owner-read', { ownerId: 'alice' }), [user('alice', 'FULL_CONTROL')], 'on a bucket bucket-owner-* acts as private')
})

t.test('unknown canned ACLs are 400 InvalidArgument; log-delivery-write and aws-exec-read are 501', async t => {
  t.throws(() => parseCannedAcl('world-writable'), { code: 'InvalidArgument' })
  t.throws(() => parseCannedAcl('log-delivery-write'), { code: 'NotImplemented' })
  t.throws(() => parseCannedAcl('aws-exec-read'), { code: 'NotImplemented' })
  t.equal(parseCannedAcl('public-read'), 'public-read')
})

t.test('grant headers parse quoted and bare id, uri and emailAddress lists', async t => {
  t.same(parseGranteeList('x-amz-grant-read', 'id="alice", uri="http://acs.amazonaws.com/groups/global/AllUsers",emailAddress=a@b.c'), [
    { type: 'CanonicalUser', id: 'alice' }, { type: 'Group', uri: ALL_USERS_URI }, { type: 'AmazonCustomerByEmail', email: 'a@b.c' },
  ])
  for (const bad of ['', 'alice', 'id="alice",', 'id="alice" id="bob"', 'name="x"', 'id=""'])
    t.throws(() => parseGranteeList('x-amz-grant-read', bad), { code: 'InvalidArgument' }, JSON.stringify(bad))
  const h = readAclHeaders({ 'x-amz-grant-read': 'id="bob"', 'x-amz-grant-full-control': 'id=carol' })
  t.same(h, { canned: undefined, grants: [user('bob', 'READ'), user('carol', 'FULL_CONTROL')] })
  t.same(readAclHeaders({}), { canned: undefined, grants: undefined })
})

t.test('a canned ACL together with grant headers is 400 InvalidRequest', async t => {
  t.throws(() => readAclHeaders({ 'x-amz-acl': 'private', 'x-amz-grant-read': 'id="bob"' }),
    { code: 'InvalidRequest', message: 'Specifying both Canned ACLs and Header Grants is not allowed' })
})

t.test('grantee resolution errors follow AWS codes', async t => {
  t.throws(() => resolveGrants([user('mallory', 'READ')], dir), { code: 'InvalidArgument', message: 'Invalid id' })
  t.throws(() => resolveGrants([{ grantee: { type: 'AmazonCustomerByEmail', email: 'a@b.c' }, permission: 'READ' }], dir), { code: 'UnresolvableGrantByEmailAddress' })
  t.throws(() => resolveGrants([group(LOG_DELIVERY_URI, 'WRITE')], dir), { code: 'NotImplemented' })
  t.throws(() => resolveGrants([group('urn:s3bridge:group:nosuch', 'READ')], dir), { code: 'InvalidArgument' })
  t.throws(() => resolveGrants([group('http://acs.amazonaws.com/groups/global/Nobody', 'READ')], dir), { code: 'InvalidArgument' })
  t.same(resolveGrants([user('uid:4242', 'READ'), group('urn:s3bridge:gid:77', 'READ'), group('urn:s3bridge:group:staff', 'READ')], dir).map(g => g.grantee),
    [{ kind: 'user', uid: 4242 }, { kind: 'group', gid: 77 }, { kind: 'group', gid: 50 }])
})

t.test('union folding: every entry also holds the AllUsers bits (3.2 example)', async t => {
  t.equal(aclText([user('alice', 'FULL_CONTROL'), user('bob', 'READ'), group(ALL_USERS_URI, 'WRITE')]),
    'user::rw-,user:1002:rw-,group::-w-,mask::rw-,other::-w-', 'READ to bob plus AllUsers WRITE gives user:bob:rw-')
})

t.test('group:: gets only folded bits unless the file group is itself a grantee', async t => {
  t.equal(aclText([user('alice', 'FULL_CONTROL')]), 'user::rw-,group::---,other::---', 'private: a minimal ACL, no mask')
  t.equal(aclText([user('alice', 'FULL_CONTROL'), group('urn:s3bridge:group:users', 'READ')]), 'user::rw-,group::r--,other::---')
  t.equal(aclText([user('alice', 'READ'), group('urn:s3bridge:group:staff', 'WRITE'), group(ALL_USERS_URI, 'READ')]),
    'user::r--,group::r--,group:50:rw-,mask::rw-,other::r--')
})

t.test('mask:: is the union of named users, group:: and named groups', async t => {
  t.equal(aclText([user('alice', 'FULL_CONTROL'), user('bob', 'READ'), user('carol', 'WRITE')]),
    'user::rw-,user:1002:r--,user:1003:-w-,group::---,mask::rw-,other::---')
})

t.test('AuthenticatedUsers folds into every non-anonymous entry, and is 501 without a configured gid', async t => {
  t.equal(aclText([user('alice', 'FULL_CONTROL'), group(AUTHENTICATED_USERS_URI, 'READ'), user('uid:65534', 'WRITE')], { authenticatedUsersGid: 500 }),
    'user::rw-,user:65534:-w-,group::r--,group:500:r--,mask::rw-,other::---')
  t.throws(() => aclText([group(AUTHENTICATED_USERS_URI, 'READ')]), { code: 'NotImplemented' })
})

t.test('x bits of user::, group:: and other:: are carried; S3 never adds x to files', async t => {
  const previous = parsePosixAclText('u::rwx,g::--x,o::--x')
  t.equal(aclText([user('alice', 'READ'), user('bob', 'FULL_CONTROL')], { previous }), 'user::r-x,user:1002:rw-,group::--x,mask::rwx,other::--x')
  t.equal(aclText([user('bob', 'READ')], { isDirectory: true, previous: parsePosixAclText('u::rwx,g::r-x,o::---') }),
    'user::--x,user:1002:r-x,group::--x,mask::r-x,other::---', 'directories: READ is r-x')
})

t.test('READ_ACP, WRITE_ACP and FULL_CONTROL of non-owners are kept as ACP grants', async t => {
  const { acl, acp } = grantsToPosixAcl(resolveGrants([user('alice', 'FULL_CONTROL'), user('bob', 'READ_ACP'), user('carol', 'FULL_CONTROL'), group(ALL_USERS_URI, 'WRITE_ACP')], dir), target())
  t.same(acp, [{ grantee: 'user:1002', permission: 'READ_ACP' }, { grantee: 'user:1003', permission: 'FULL_CONTROL' }, { grantee: 'AllUsers', permission: 'WRITE_ACP' }])
  t.equal(formatPosixAcl(acl, { showEffective: false }).split('\n').join(','), 'user::rw-,user:1003:rw-,group::---,mask::rw-,other::---', 'ACP-only bob gets no entry')
  const bob: Principal = { kind: 'user', name: 'bob', role: 'user', uid: 1002, gid: 1002, groups: [1002], hasRootRights: false }
  t.ok(hasAcpPermission(bob, 'READ_ACP', { ownerUid: 1000, acp, authenticatedUsersGid: null }))
  t.ok(hasAcpPermission(bob, 'WRITE_ACP', { ownerUid: 1000, acp, authenticatedUsersGid: null }), 'AllUsers WRITE_ACP')
  t.notOk(hasAcpPermission(bob, 'WRITE_ACP', { ownerUid: 1000, acp: acp.slice(0, 2), authenticatedUsersGid: null }))
  t.ok(hasAcpPermission({ ...bob, uid: 0, hasRootRights: true }, 'WRITE_ACP', { ownerUid: 1000, acp: [], authenticatedUsersGid: null }))
  t.notOk(hasAcpPermission({ ...bob, uid: 0 }, 'WRITE_ACP', { ownerUid: 1000, acp: [], authenticatedUsersGid: null }), 'uid 0 without root rights')
  t.same(parseAcpGrants('not json'), [])
  t.same(parseAcpGrants('[{"grantee":"user:1","permission":"READ"},{"grantee":"user:2","permission":"READ_ACP"}]'), [{ grantee: 'user:2', permission: 'READ_ACP' }])
})

const view = { authenticatedUsersGid: null, anonymousUid: 65534, anonymousGid: 65534, acp: [] }

function shownGrants (over: Partial<Parameters<typeof posixAclToGrants>[0]>): string[] {
  return posixAclToGrants({ ownerUid: 1000, fileGid: 100, mode: 0o100640, acl: undefined, ...view, ...over })
    .map(g => { const e = granteeOf(g.grantee, dir, over.authenticatedUsersGid ?? null); return `${e.type === 'CanonicalUser' ? e.id : e.type === 'Group' ? e.uri : e.email}=${g.permission}` })
}

t.test('GetObjectAcl of an NFS-made 0640 file is exactly the XML of acl-model 3.5', async t => {
  const grants = posixAclToGrants({ ownerUid: 1000, fileGid: 100, mode: 0o100640, acl: undefined, ...view })
  const xml = renderAccessControlPolicy('alice', grants.map(g => ({ grantee: granteeOf(g.grantee, dir, null), permission: g.permission })))
  const expected = `<AccessControlPolicy><Owner><ID>alice</ID><DisplayName>alice</DisplayName></Owner><AccessControlList>
 <Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>alice</ID><DisplayName>alice</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>
 <Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>urn:s3bridge:group:users</URI></Grantee><Permission>READ</Permission></Grant>
</AccessControlList></AccessControlPolicy>`.replace(/>\s+</g, '><')
  t.equal(xml, `<?xml version="1.0" encoding="UTF-8"?>\n${expected.replace('<AccessControlPolicy>', '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">')}`)
})

t.test('derived grants: owner without rw shows ACP plus its bits; masked and empty entries drop out', async t => {
  t.same(shownGrants({ mode: 0o100400 }), ['alice=READ', 'alice=READ_ACP', 'alice=WRITE_ACP'])
  t.same(shownGrants({ mode: 0o100000 }), ['alice=READ_ACP', 'alice=WRITE_ACP'])
  const acl = parsePosixAclText('u::rw-,u:1003:rw-,g::r--,m::r--,o::---')
  t.same(shownGrants({ mode: 0o100640, acl }), ['alice=FULL_CONTROL', 'carol=READ', 'urn:s3bridge:group:users=READ'], 'carol is masked to READ')
  t.same(shownGrants({ mode: 0o100644 }), ['alice=FULL_CONTROL', `${ALL_USERS_URI}=READ`], 'group READ is implied by AllUsers READ')
})

t.test('derived grants round-trip what grantsToPosixAcl wrote, ACP grants included', async t => {
  const grants = [user('alice', 'FULL_CONTROL'), user('carol', 'FULL_CONTROL'), user('bob', 'READ_ACP'), group(AUTHENTICATED_USERS_URI, 'READ'), group(ALL_USERS_URI, 'WRITE')]
  const { acl, acp } = grantsToPosixAcl(resolveGrants(grants, dir), target({ authenticatedUsersGid: 500 }))
  const mode = 0o100000 | ((acl.find(e => e.tag === 'USER_OBJ')?.perm ?? 0) << 6) | ((acl.find(e => e.tag === 'MASK')?.perm ?? 0) << 3) | (acl.find(e => e.tag === 'OTHER')?.perm ?? 0)
  t.same(shownGrants({ mode, acl, acp, authenticatedUsersGid: 500 }),
    ['alice=FULL_CONTROL', 'carol=FULL_CONTROL', `${AUTHENTICATED_USERS_URI}=READ`, 'bob=READ_ACP', `${ALL_USERS_URI}=WRITE`])
})

async function xml (text: string): Promise<unknown> {
  return new Parser({ explicitRoot: true, tagNameProcessors: [(n: string) => n.replace(/^.*:/, '')], explicitArray: true, strict: true }).parseStringPromise(text)
}

t.test('AccessControlPolicy bodies are validated into grants', async t => {
  const body = await xml(`<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>alice</ID></Owner><AccessControlList>
    <Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>bob</ID></Grantee><Permission>READ</Permission></Grant>
    <Grant><Grantee xmlns:x="http://www.w3.org/2001/XMLSchema-instance" x:type="Group"><URI>${ALL_USERS_URI}</URI></Grantee><Permission>WRITE</Permission></Grant>
  </AccessControlList></AccessControlPolicy>`)
  t.same(policyFromXml(body), { ownerId: 'alice', grants: [user('bob', 'READ'), group(ALL_USERS_URI, 'WRITE')] })
  t.same(policyFromXml(await xml('<AccessControlPolicy><AccessControlList/></AccessControlPolicy>')), { ownerId: undefined, grants: [] })
})

t.test('invalid AccessControlPolicy bodies are 400 MalformedACLError', async t => {
  const bad = [
    ['<Policy/>', /root element/],
    ['<AccessControlPolicy><Owner><ID>alice</ID></Owner></AccessControlPolicy>', /AccessControlList is required/],
    ['<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>bob</ID></Grantee><Permission>ALL</Permission></Grant></AccessControlList></AccessControlPolicy>', /Permission ALL/],
    ['<AccessControlPolicy><AccessControlList><Grant><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>', /exactly one Grantee/],
    ['<AccessControlPolicy><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><ID>bob</ID></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>', /type Group without/],
    ['<AccessControlPolicy><Owner/><AccessControlList/></AccessControlPolicy>', /Owner without ID/],
  ] as const
  for (const [text, why] of bad) {
    const doc = await xml(text)
    t.throws(() => policyFromXml(doc), { code: 'MalformedACLError', message: why }, text)
  }
})

t.test('bucket grants become OneFS-style ACEs and back', async t => {
  const aces = bucketAcesFromGrants([user('alice', 'FULL_CONTROL'), user('uid:1002', 'WRITE'), group('urn:s3bridge:gid:50', 'READ'), group(ALL_USERS_URI, 'READ'),
    group(AUTHENTICATED_USERS_URI, 'READ_ACP'), group(ALL_USERS_URI, 'READ')], 'alice', dir)
  t.same(aces, [
    { type: 'user', name: 'bob', permission: 'WRITE' }, { type: 'group', name: 'staff', permission: 'READ' },
    { type: 'wellknown', name: 'everyone', permission: 'READ' }, { type: 'wellknown', name: 'authenticated', permission: 'READ_ACP' },
  ])
  t.same(bucketAclGrants('alice', aces), [user('alice', 'FULL_CONTROL'), user('bob', 'WRITE'), group('urn:s3bridge:group:staff', 'READ'),
    group(ALL_USERS_URI, 'READ'), group(AUTHENTICATED_USERS_URI, 'READ_ACP')])
  t.throws(() => bucketAcesFromGrants([user('uid:4242', 'READ')], 'alice', dir), { code: 'InvalidArgument' }, 'bucket ACEs name bridge users')
  t.throws(() => bucketAcesFromGrants([group(LOG_DELIVERY_URI, 'WRITE')], 'alice', dir), { code: 'NotImplemented' })
})
