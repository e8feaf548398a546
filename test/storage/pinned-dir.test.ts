// openPrefix/openChain: the addon's one-job open of a key's folders (native/object_path.c openFolders) holds the
// same folders, stops at the same thing in the way, and answers the attributes it read with them exactly as a
// later read of the held folder would.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { chownSync, mkdirSync, readlinkSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { closeAll, isNotAFolder, openChain, openPrefix, type FolderReads, type OpenedPrefix } from '../../lib/storage/pinned-dir.js'
import { nativeAddon } from '../../lib/storage/native.js'
import { getAttribute, setAttribute } from '../../lib/storage/xattr.js'
import { ACL_ACCESS_XATTR, ACL_DEFAULT_XATTR } from '../../lib/access/posix-acl.js'
import { IMPLICIT_DIR_XATTR } from '../../lib/storage/xattrs.js'

const root = t.testdir({ a: { b: { c: {}, 'file.txt': 'x' } }, outside: { 'secret.txt': 's' } })
symlinkSync(join(root, 'outside'), join(root, 'a', 'link'))
mkdirSync(join(root, 'a', 'private'), { mode: 0o700 })
chownSync(join(root, 'a', 'private'), 1234, 1234)
let hasAcl = true
try {
  execFileSync('setfacl', ['-m', 'u:4321:rx', join(root, 'a', 'b')])
  execFileSync('setfacl', ['-d', '-m', 'u:4321:rwx', join(root, 'a', 'b')])
} catch {
  hasAcl = false
}
const marked = setAttribute(join(root, 'a'), IMPLICIT_DIR_XATTR, '1').then(() => true, () => false)
const READS: FolderReads = { acl: ACL_ACCESS_XATTR, every: IMPLICIT_DIR_XATTR, last: ACL_DEFAULT_XATTR }

async function withFallback<T> (f: () => Promise<T>): Promise<T> {
  process.env.S3BRIDGE_NO_NATIVE_STAT = '1'
  try {
    return await f()
  } finally {
    delete process.env.S3BRIDGE_NO_NATIVE_STAT
  }
}

async function attr (path: string, name: string): Promise<string | null> {
  return await getAttribute(path, name).then(b => b.toString('base64'), () => null)
}

/** What a caller can see of a chain: each folder's real path and inode, the attributes, the stop. */
async function shape (o: OpenedPrefix): Promise<unknown> {
  const folders = []
  for (const dir of o.chain) {
    const st = await dir.stat()
    folders.push({
      realPath: dir.realPath,
      held: readlinkSync(dir.path),
      ino: st.ino, mode: st.mode, uid: st.uid,
      acl: (await dir.xattr(ACL_ACCESS_XATTR))?.toString('base64') ?? null,
      def: (await dir.xattr(ACL_DEFAULT_XATTR))?.toString('base64') ?? null,
      mark: (await dir.xattr(IMPLICIT_DIR_XATTR))?.toString('base64') ?? null,
    })
  }
  await closeAll(o.chain)
  return { folders, stop: o.stop?.code }
}

t.test('the addon and the fallback open and read the same folders', async t => {
  if (!nativeAddon()?.openFolders) { t.pass('addon not built: only the fallback runs'); return }
  for (const names of [[], ['a'], ['a', 'b'], ['a', 'b', 'c'], ['a', 'missing', 'x'], ['a', 'link', 'x'], ['a', 'b', 'file.txt'], ['a', 'private']]) {
    const native = await shape(await openPrefix(root, names, READS))
    const plain = await shape(await withFallback(() => openPrefix(root, names, READS)))
    t.same(native, plain, names.join('/') || '(root)')
  }
})

t.test('stops at what is in the way, holding what it passed', async t => {
  for (const mode of ['native', 'fallback']) {
    const run = <T>(f: () => Promise<T>): Promise<T> => mode === 'native' ? f() : withFallback(f)
    const link = await run(() => openPrefix(root, ['a', 'link', 'x']))
    t.ok(isNotAFolder(link.stop), `${mode}: a symlink is not followed (${link.stop?.code})`)
    t.equal(link.chain.length, 2, `${mode}: root and a held`)
    t.equal(readlinkSync(link.chain[1]!.path), join(root, 'a'), `${mode}: the held folder is a`)
    await closeAll(link.chain)
    const file = await run(() => openPrefix(root, ['a', 'b', 'file.txt']))
    t.equal(file.stop?.code, 'ENOTDIR', `${mode}: a file is not a folder`)
    await closeAll(file.chain)
    const missing = await run(() => openPrefix(root, ['a', 'nope', 'x']))
    t.equal(missing.stop?.code, 'ENOENT', `${mode}: missing`)
    t.equal(missing.chain.length, 2)
    await closeAll(missing.chain)
    t.ok(isNotAFolder(await run(() => openChain(root, ['a', 'link'])).then(() => undefined, (err: unknown) => err)), `${mode}: openChain throws the stop`)
    await t.rejects(run(() => openPrefix(join(root, 'nope'), [])), { code: 'ENOENT' }, `${mode}: a missing root rejects`)
  }
})

t.test('attributes read with the chain are the held folders\' own', { skip: !hasAcl && 'no setfacl' }, async t => {
  if (!nativeAddon()?.openFolders) { t.pass('addon not built: only the fallback runs'); return }
  const { chain } = await openPrefix(root, ['a', 'b'], READS)
  t.equal((await chain[2]!.xattr(ACL_ACCESS_XATTR))?.toString('base64'), await attr(join(root, 'a', 'b'), ACL_ACCESS_XATTR), 'access ACL')
  t.equal((await chain[2]!.xattr(ACL_DEFAULT_XATTR))?.toString('base64'), await attr(join(root, 'a', 'b'), ACL_DEFAULT_XATTR), 'default ACL of the last')
  t.not(await chain[2]!.xattr(ACL_DEFAULT_XATTR), null)
  if (await marked) t.equal((await chain[1]!.xattr(IMPLICIT_DIR_XATTR))?.toString(), '1', 'the bridge\'s mark')
  t.equal(await chain[2]!.xattr(IMPLICIT_DIR_XATTR), null, 'no mark')
  await closeAll(chain)
})

t.test('closing twice closes once', async t => {
  const { chain } = await openPrefix(root, ['a'])
  const fd = Number(chain[1]!.path.split('/').pop())
  await closeAll(chain)
  // The number is free again; whoever gets it next must keep it after a second close of the old folder.
  const { chain: again } = await openPrefix(root, ['a', 'b'])
  const reused = again.some(d => d.path === `/proc/self/fd/${fd}`)
  await chain[1]!.close()
  if (reused) t.ok(readlinkSync(`/proc/self/fd/${fd}`).startsWith(root), 'the reused descriptor is still open')
  else t.pass('descriptor not reused')
  await closeAll(again)
})
