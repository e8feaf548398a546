// Tests for the POSIX ACL codec, checked byte for byte against setfacl/getfacl and the kernel.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { chmodSync, lstatSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { getAttributeSync, setAttributeSync } from 'fs-xattr'
import {
  ACL_ACCESS_XATTR, ACL_DEFAULT_XATTR, aclFromMode, chmodAcl, decodePosixAcl, encodePosixAcl,
  formatPosixAcl, isMinimalAcl, modeFromAcl, parsePosixAclText, sortPosixAcl, validatePosixAcl,
  type AclEntry,
} from '../../../lib/access/posix-acl.js'

const setfacl = (...args: string[]): string => execFileSync('setfacl', args, { encoding: 'utf8' })
const getfacl = (path: string): string =>
  execFileSync('getfacl', ['-n', '--omit-header', '-p', path], { encoding: 'utf8' })
const getfaclDefault = (path: string): string =>
  execFileSync('getfacl', ['-n', '--omit-header', '-p', '-d', path], { encoding: 'utf8' })
// getfacl pads the #effective comment with a variable number of tabs.
const normalize = (text: string): string => text.trim().replace(/\t+/g, '\t')

const VECTOR_HEX = '02000000' + '01000600ffffffff' + '02000600e9030000' + '04000400ffffffff' + '10000600ffffffff' + '20000000ffffffff'
const VECTOR: AclEntry[] = [
  { tag: 'USER_OBJ', perm: 6 }, { tag: 'USER', id: 1001, perm: 6 }, { tag: 'GROUP_OBJ', perm: 4 },
  { tag: 'MASK', perm: 6 }, { tag: 'OTHER', perm: 0 },
]

t.test('the reference test vector encodes and decodes exactly', async t => {
  t.equal(encodePosixAcl(VECTOR).toString('hex'), VECTOR_HEX)
  t.same(decodePosixAcl(Buffer.from(VECTOR_HEX, 'hex')), VECTOR)
})

t.test('encoding sorts entries by tag then id, whatever order they come in', async t => {
  const shuffled: AclEntry[] = [
    { tag: 'OTHER', perm: 4 }, { tag: 'GROUP', id: 7, perm: 1 }, { tag: 'USER', id: 1002, perm: 2 },
    { tag: 'MASK', perm: 7 }, { tag: 'USER', id: 1001, perm: 4 }, { tag: 'GROUP_OBJ', perm: 5 },
    { tag: 'GROUP', id: 3, perm: 6 }, { tag: 'USER_OBJ', perm: 7 },
  ]
  const decoded = decodePosixAcl(encodePosixAcl(shuffled))
  t.same(decoded.map(e => e.tag), ['USER_OBJ', 'USER', 'USER', 'GROUP_OBJ', 'GROUP', 'GROUP', 'MASK', 'OTHER'])
  t.same(decoded, sortPosixAcl(shuffled))
})

const SETFACL_SPECS = [
  'u:1001:rw-',
  'u:1001:r,u:1003:rwx,g:1002:w,g:1004:x',
  'g:1005:rw',
  'u:1004:---,m::r--',
  'u::---,g::rwx,o::r-x,u:1002:r,m::---',
  'u:4000000000:r,g:65534:rw',
]

t.test('decoding what setfacl wrote and re-encoding it gives identical bytes', async t => {
  const dir = t.testdir({})
  for (const [i, spec] of SETFACL_SPECS.entries()) {
    const file = join(dir, `f${i}`)
    writeFileSync(file, '')
    chmodSync(file, 0o640)
    setfacl('-m', spec, file)
    const bytes = getAttributeSync(file, ACL_ACCESS_XATTR)
    const entries = decodePosixAcl(bytes)
    t.equal(validatePosixAcl(entries), undefined, spec)
    t.equal(encodePosixAcl(entries).toString('hex'), bytes.toString('hex'), spec)
    t.equal(normalize(formatPosixAcl(entries)), normalize(getfacl(file)), `getfacl text for ${spec}`)
    t.equal(lstatSync(file).mode & 0o777, modeFromAcl(entries), `mode for ${spec}`)
  }
})

t.test('default ACLs written by setfacl -d round-trip through the same codec', async t => {
  const dir = join(t.testdir({}), 'd')
  mkdirSync(dir)
  setfacl('-d', '-m', 'u::rwx,g::r-x,o::---,u:1001:rwx,g:1002:r-x', dir)
  const bytes = getAttributeSync(dir, ACL_DEFAULT_XATTR)
  const entries = decodePosixAcl(bytes)
  t.equal(encodePosixAcl(entries).toString('hex'), bytes.toString('hex'))
  t.equal(normalize(formatPosixAcl(entries)), normalize(getfaclDefault(dir).replace(/^default:/gm, '')))
})

t.test('an ACL encoded here and written with setxattr reads back through getfacl', async t => {
  const file = join(t.testdir({}), 'f')
  writeFileSync(file, '')
  const entries = parsePosixAclText('u::rw-,u:1003:rwx,g::r--,g:1004:rw-,m::r-x,o::r--')
  setAttributeSync(file, ACL_ACCESS_XATTR, encodePosixAcl(entries))
  t.equal(normalize(getfacl(file)), normalize([
    'user::rw-', 'user:1003:rwx\t#effective:r-x', 'group::r--', 'group:1004:rw-\t#effective:r--',
    'mask::r-x', 'other::r--',
  ].join('\n')))
  t.equal(lstatSync(file).mode & 0o777, 0o654, 'the kernel sets group bits from the mask')
})

t.test('chmodAcl matches what chmod(2) does to a stored ACL', async t => {
  const dir = t.testdir({})
  const cases: Array<[string, number]> = [
    ['u:1001:rw-,g::rw-', 0o640], ['u:1001:rwx,g:1002:rwx', 0o705], ['g:1002:r', 0o777],
  ]
  for (const [spec, mode] of cases) {
    const file = join(dir, `c${mode.toString(8)}`)
    writeFileSync(file, '')
    setfacl('-m', spec, file)
    const before = decodePosixAcl(getAttributeSync(file, ACL_ACCESS_XATTR))
    chmodSync(file, mode)
    t.same(decodePosixAcl(getAttributeSync(file, ACL_ACCESS_XATTR)), chmodAcl(before, mode), `${spec} then chmod ${mode.toString(8)}`)
  }
  t.same(chmodAcl(aclFromMode(0o640), 0o751), aclFromMode(0o751), 'without a mask chmod sets group::')
})

t.test('a minimal ACL is equivalent to the mode and is not stored by the kernel', async t => {
  t.same(aclFromMode(0o754), [{ tag: 'USER_OBJ', perm: 7 }, { tag: 'GROUP_OBJ', perm: 5 }, { tag: 'OTHER', perm: 4 }])
  t.equal(modeFromAcl(aclFromMode(0o754)), 0o754)
  t.ok(isMinimalAcl(aclFromMode(0o600)))
  t.notOk(isMinimalAcl(VECTOR))
  t.notOk(isMinimalAcl([...aclFromMode(0o600), { tag: 'MASK', perm: 0 }]), 'a mask alone makes the ACL non-minimal')
  const file = join(t.testdir({}), 'f')
  writeFileSync(file, '')
  setAttributeSync(file, ACL_ACCESS_XATTR, encodePosixAcl(aclFromMode(0o604)))
  t.equal(lstatSync(file).mode & 0o777, 0o604)
  t.throws(() => getAttributeSync(file, ACL_ACCESS_XATTR), { code: 'ENODATA' })
})

t.test('validation rejects what the kernel rejects with EINVAL', async t => {
  const base = aclFromMode(0o640)
  t.match(validatePosixAcl([...base, { tag: 'USER', id: 1001, perm: 4 }]), /require a MASK/)
  t.match(validatePosixAcl(base.slice(1)), /exactly one USER_OBJ/)
  t.match(validatePosixAcl([...base, { tag: 'OTHER', perm: 0 }]), /exactly one OTHER/)
  t.match(validatePosixAcl([...base, { tag: 'MASK', perm: 0 }, { tag: 'MASK', perm: 1 }]), /at most one MASK/)
  t.match(validatePosixAcl([...base, { tag: 'MASK', perm: 8 }]), /not within rwx/)
  t.match(validatePosixAcl([...VECTOR, { tag: 'USER', id: 1001, perm: 4 }]), /duplicate USER/)
  t.match(validatePosixAcl([...VECTOR, { tag: 'GROUP', id: 0xffffffff, perm: 4 }]), /not a valid/)
  t.equal(validatePosixAcl([...base, { tag: 'MASK', perm: 0 }]), undefined, 'a mask without named entries is valid')
  t.throws(() => encodePosixAcl(base.slice(1)), { code: 'InternalError', message: /exactly one USER_OBJ/ })

  const file = join(t.testdir({}), 'f')
  writeFileSync(file, '')
  const missingMask = Buffer.from('02000000' + '01000600ffffffff' + '02000600e9030000' + '04000400ffffffff' + '20000000ffffffff', 'hex')
  t.throws(() => setAttributeSync(file, ACL_ACCESS_XATTR, missingMask), { code: 'EINVAL' }, 'the kernel agrees')
})

t.test('decoding rejects malformed bytes', async t => {
  t.throws(() => decodePosixAcl(Buffer.from('0200000001', 'hex')), { code: 'InternalError', message: /length/ })
  t.throws(() => decodePosixAcl(Buffer.from('01000000', 'hex')), { message: /version 1/ })
  t.throws(() => decodePosixAcl(Buffer.from('02000000' + '40000600ffffffff', 'hex')), { message: /unknown tag 0x40/ })
  t.throws(() => decodePosixAcl(Buffer.from('02000000' + '01000800ffffffff', 'hex')), { message: /beyond rwx/ })
})

t.test('text parsing accepts setfacl short forms and getfacl output', async t => {
  t.same(parsePosixAclText('u::rw-,u:1001:rw-,g::r--,m::rw-,o::---'), VECTOR)
  t.same(parsePosixAclText('user::6\nuser:1001:rw\t#effective:rw-\ngroup::r\nmask::rw\nother::-'), VECTOR)
  t.same(parsePosixAclText(formatPosixAcl(VECTOR)), VECTOR)
  t.throws(() => parsePosixAclText('x::rw'), { message: /cannot parse/ })
  t.throws(() => parsePosixAclText('m:5:rw'), { message: /takes no qualifier/ })
  t.equal(formatPosixAcl(VECTOR, { nameOf: (tag, id) => tag === 'USER' && id === 1001 ? 'alice' : undefined }),
    'user::rw-\nuser:alice:rw-\ngroup::r--\nmask::rw-\nother::---')
})
