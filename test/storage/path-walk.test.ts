// walkPath: the addon's one-job walk (native/object_path.c) reads the same components, in the same order, with the
// same stop as the Node fs calls it replaces, plus the access ACLs and the last component's metadata.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { chownSync, mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { walkPath, type WalkedPath } from '../../lib/storage/path-walk.js'
import { nativeAddon } from '../../lib/storage/native.js'
import { getAttribute, setAttribute } from '../../lib/storage/xattr.js'
import { ACL_ACCESS_XATTR } from '../../lib/access/posix-acl.js'
import { META_XATTR } from '../../lib/storage/xattrs.js'

const root = t.testdir({ a: { b: { 'file.txt': 'x' } }, 'plain.txt': 'p', outside: { 'secret.txt': 's' } })
symlinkSync(join(root, 'outside'), join(root, 'a', 'link'))
mkdirSync(join(root, 'a', 'private'), { mode: 0o700 })
chownSync(join(root, 'a', 'private'), 1234, 1234)
let hasAcl = true
try {
  execFileSync('setfacl', ['-m', 'u:4321:rx', join(root, 'a', 'b')])
} catch {
  hasAcl = false
}
const metaSet = setAttribute(join(root, 'a', 'b', 'file.txt'), META_XATTR, '{"etag":"e"}').then(() => true, () => false)

async function both (names: string[], opts = { aclXattr: ACL_ACCESS_XATTR, metaXattr: META_XATTR }): Promise<[WalkedPath, WalkedPath]> {
  const native = await walkPath(root, names, opts)
  process.env.S3BRIDGE_NO_NATIVE_STAT = '1'
  try {
    return [native, await walkPath(root, names, opts)]
  } finally {
    delete process.env.S3BRIDGE_NO_NATIVE_STAT
  }
}

const shape = (w: WalkedPath): unknown => ({
  found: w.found.map(c => ({ path: c.path, mode: c.stats.mode, uid: c.stats.uid, gid: c.stats.gid, size: c.stats.size, ino: c.stats.ino, mtimeNs: c.stats.mtimeNs })),
  stop: w.stopError?.code,
  meta: w.meta?.toString(),
})

t.test('the addon and Node fs calls walk alike', { skip: nativeAddon()?.walkPath === undefined && 'addon without walkPath' }, async t => {
  const hasMeta = await metaSet
  const cases: Array<[string, string[], number, string | undefined]> = [
    ['the root', [], 1, undefined],
    ['a file two folders down', ['a', 'b', 'file.txt'], 4, undefined],
    ['a missing name', ['a', 'nope', 'x'], 2, 'ENOENT'],
    ['a symlinked folder: stops at the link', ['a', 'link', 'secret.txt'], 3, undefined],
    ['a file where a folder should be', ['plain.txt', 'x'], 2, undefined],
    ['a folder the principal may not search (the walk itself reads it)', ['a', 'private', 'x'], 3, 'ENOENT'],
  ]
  for (const [what, names, count, stop] of cases) {
    const [n, js] = await both(names)
    t.same(shape(n), shape(js), `${what}: same components, stop and metadata`)
    t.equal(n.found.length, count, `${what}: ${count} components`)
    t.equal(n.stopError?.code, stop, `${what}: stop ${stop ?? 'none'}`)
  }
  const [file] = await both(['a', 'b', 'file.txt'])
  if (hasMeta) t.equal(file.meta?.toString(), '{"etag":"e"}', 'the last component\'s metadata')
  if (hasAcl) {
    const b = file.found[2]!
    t.same(b.acl, await getAttribute(join(root, 'a', 'b'), ACL_ACCESS_XATTR), 'a folder\'s access ACL, as getxattr reads it')
  }
  t.equal(file.found[0]!.acl === undefined || file.found[0]!.acl === null, true, 'no ACL on the root: none or not read')
  await t.rejects(walkPath(join(root, 'missing-root'), ['x']), { code: 'ENOENT' }, 'a missing root rejects')
})
