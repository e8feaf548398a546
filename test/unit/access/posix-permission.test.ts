// The pure permission evaluator: the kernel's documented corner cases, and a differential run against access(2).
import t from 'tap'
import { chmodSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { getAttributeSync } from 'fs-xattr'
import { ACL_ACCESS_XATTR, decodePosixAcl, parsePosixAclText } from '../../../lib/access/posix-acl.js'
import {
  canCreateIn, canDeleteFrom, checkAccess, checkSticky, describeWant, type InodeFacts, type PosixCredentials,
} from '../../../lib/access/posix-permission.js'
import {
  applyInode, describeCredentials, describeInode, randomCredentials, randomInode, runProbesAs, seededRandom, shellQuote,
} from '../../fixtures/posix-kernel.js'

const FILE = 0o100000
const DIR = 0o040000
const noRoot = { rootHasRights: false }
const withRoot = { rootHasRights: true }
const file = (uid: number, gid: number, perms: number, acl?: string): InodeFacts =>
  ({ uid, gid, mode: FILE | perms, acl: acl === undefined ? undefined : parsePosixAclText(acl) })
const who = (uid: number, gid: number, groups: number[] = []): PosixCredentials => ({ uid, gid, groups })

t.test('an owner with user::--- is denied even when other:: allows', async t => {
  const inode = file(1001, 1001, 0o004, 'u::---,g::---,o::r--')
  t.match(checkAccess(inode, who(1001, 1001), { read: true }, noRoot), { allowed: false, reason: /owner/ })
})

t.test('grants of two matching named groups are never unioned', async t => {
  const inode = file(1001, 1001, 0o070, 'u::rw-,g::---,g:2001:r--,g:2002:-w-,m::rw-,o::rw-')
  const member = who(1005, 1005, [2001, 2002])
  t.equal(checkAccess(inode, member, { read: true }, noRoot).allowed, true)
  t.equal(checkAccess(inode, member, { write: true }, noRoot).allowed, true)
  t.match(checkAccess(inode, member, { read: true, write: true }, noRoot), { allowed: false, reason: /other:: not consulted/ })
})

t.test('a named user entry with --- denies despite other::r--', async t => {
  const inode = file(1001, 1001, 0o064, 'u::rw-,u:1002:---,g::r--,m::rw-,o::r--')
  t.match(checkAccess(inode, who(1002, 1002), { read: true }, noRoot), { allowed: false, reason: /named user user:1002:---/ })
})

t.test('with mask::--- a named user outside the owning group falls through to other::', async t => {
  const inode = file(1001, 1001, 0o604, 'u::rw-,u:1002:---,g::r--,m::---,o::r--')
  t.match(checkAccess(inode, who(1002, 1002), { read: true }, noRoot), { allowed: true, reason: /ACL skipped/ })
  t.match(checkAccess(inode, who(1003, 1001), { read: true }, noRoot), { allowed: false, reason: /owning group/ })
})

t.test('the mask limits named entries and the owning group', async t => {
  const inode = file(1001, 1001, 0o640, 'u::rw-,u:1002:rw-,g::rw-,m::r--,o::---')
  t.match(checkAccess(inode, who(1002, 1002), { write: true }, noRoot), { allowed: false, reason: /masked by mask::r--/ })
  t.match(checkAccess(inode, who(1003, 1001), { read: true }, noRoot), { allowed: true, reason: /owning group group::rw-/ })
})

t.test('uid 0 has root rights only when the admin allows them', async t => {
  const plain = file(1001, 1001, 0o000)
  const someExec = file(1001, 1001, 0o010)
  const dir: InodeFacts = { uid: 1001, gid: 1001, mode: DIR | 0o000 }
  const root = who(0, 0)
  t.match(checkAccess(plain, root, { read: true }, withRoot), { allowed: true, reason: /CAP_DAC_READ_SEARCH/ })
  t.match(checkAccess(plain, root, { read: true, write: true }, withRoot), { allowed: true, reason: /CAP_DAC_OVERRIDE/ })
  t.match(checkAccess(plain, root, { execute: true }, withRoot), { allowed: false, reason: /some x bit/ })
  t.equal(checkAccess(someExec, root, { execute: true }, withRoot).allowed, true)
  t.equal(checkAccess(dir, root, { read: true, execute: true }, withRoot).allowed, true)
  t.equal(checkAccess(dir, root, { write: true, execute: true }, withRoot).allowed, true)
  t.match(checkAccess(plain, root, { read: true }, noRoot), { allowed: false, reason: /other bits ---/ })
  t.equal(checkAccess(file(0, 0, 0o400), root, { read: true }, noRoot).allowed, true, 'a root-owned file still has an owner class')
})

t.test('in a sticky directory only the entry owner, the directory owner or privileged root may delete', async t => {
  const dir: InodeFacts = { uid: 1001, gid: 1001, mode: DIR | 0o1777 }
  const child = file(1002, 1002, 0o644)
  t.match(canDeleteFrom(dir, child, who(1003, 1003), noRoot), { allowed: false, reason: /owns neither/ })
  t.equal(canDeleteFrom(dir, child, who(1002, 1003), noRoot).allowed, true)
  t.equal(canDeleteFrom(dir, child, who(1001, 1003), noRoot).allowed, true)
  t.match(checkSticky(dir, child, who(0, 0), withRoot), { allowed: true, reason: /CAP_FOWNER/ })
  t.equal(checkSticky(dir, child, who(0, 0), noRoot).allowed, false)
  t.equal(canCreateIn(dir, who(1003, 1003), noRoot).allowed, true, 'creating is not limited by the sticky bit')
  const plainDir: InodeFacts = { uid: 1001, gid: 1001, mode: DIR | 0o755 }
  t.match(canDeleteFrom(plainDir, child, who(1002, 1002), noRoot), { allowed: false, reason: /other bits r-x/ })
  t.equal(describeWant({ write: true, execute: true }), 'write+search/execute (-wx)')
})

t.test('checkAccess agrees with access(2) as other uids for read, write and execute', async t => {
  const base = t.testdir({})
  chmodSync(base, 0o755)
  const rng = seededRandom(7)
  const wants = [{ read: true }, { write: true }, { execute: true }, { read: true, write: true }, { read: true, execute: true }]
  const flags = ['-r', '-w', '-x', '-r {} -a -w', '-r {} -a -x']
  let cases = 0
  for (let batch = 0; batch < 12; batch++) {
    const dir = join(base, `b${batch}`)
    mkdirSync(dir)
    const specs = Array.from({ length: 4 }, (_, i) => randomInode(rng, { isDirectory: i === 3, allowSticky: true }))
    const paths = specs.map((spec, i) => {
      const path = join(dir, `i${i}`)
      if (i === 3) mkdirSync(path)
      else writeFileSync(path, '')
      applyInode(path, spec)
      return path
    })
    const caller = batch % 4 === 0 ? who(0, 1001) : randomCredentials(rng)
    for (const rootHasRights of caller.uid === 0 ? [false, true] : [false]) {
      const probes: string[] = []
      const expected: Array<{ allowed: boolean, label: string }> = []
      paths.forEach((path, i) => {
        const st = lstatSync(path)
        let acl
        try { acl = decodePosixAcl(getAttributeSync(path, ACL_ACCESS_XATTR)) } catch { acl = undefined }
        const inode: InodeFacts = { uid: st.uid, gid: st.gid, mode: st.mode, acl }
        wants.forEach((want, w) => {
          const flag = (flags[w] ?? '').replace('{}', shellQuote(path))
          probes.push(`test ${flag} ${shellQuote(path)}`)
          const decision = checkAccess(inode, caller, want, { rootHasRights })
          expected.push({ allowed: decision.allowed, label: `${describeInode(specs[i] ?? { uid: 0, gid: 0, mode: 0 })} ${describeWant(want)}: ${decision.reason}` })
        })
      })
      const kernel = runProbesAs(caller, probes, { hasRootCaps: rootHasRights })
      expected.forEach((e, i) => {
        cases++
        t.equal(e.allowed, kernel[i], `${describeCredentials(caller)}${rootHasRights ? ' (root rights)' : ''}: ${e.label}`)
      })
    }
  }
  t.ok(cases >= 200, `${cases} cases`)
})
