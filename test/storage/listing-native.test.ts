// Listing with the addon's batched stat (statEntries) and with the lstat + getxattr fallback
// (S3BRIDGE_NO_NATIVE_STAT=1) gives the same pages, object for object, over real files: S3-written objects
// (metadata xattr, current or stale), NFS-written files, folders, folder markers, symlinks, a FIFO, an
// unreadable folder. Also: the addon itself on a batch of 1,000 names and on an attribute past 4 KiB, readDirSorted
// against readdir, and the listing's fast <Contents> rendering against the generic XML renderer.
import t from 'tap'
import { chownSync, lstatSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { listObjects, type ListPage, type ListParams } from '../../lib/storage/listing.js'
import { nativeAddon, STAT_FIELDS, STAT_INO, STAT_MTIME_NS, STAT_SIZE } from '../../lib/storage/native.js'
import { META_XATTR, stampOf, writeStoredMeta, type StoredMeta } from '../../lib/storage/xattrs.js'
import { contents } from '../../lib/http/handlers/listing.js'
import { renderXml } from '../../lib/http/xml/render.js'
import type { ObjectInfo } from '../../lib/storage/types.js'

const addon = nativeAddon()
const hasStatEntries = typeof addon?.statEntries === 'function'

function meta (etag: string, extra: Partial<StoredMeta> = {}): StoredMeta {
  return { etag, user: {}, stampSize: '0', stampMtimeNs: '0', ...extra }
}

/** An S3-written object: content, then its metadata stamped with the file's stat (the ETag is current). */
async function s3Object (path: string, body: string, extra: Partial<StoredMeta> = {}): Promise<void> {
  writeFileSync(path, body)
  await writeStoredMeta(path, meta(`${'ab'.repeat(16)}`, { ...stampOf(lstatSync(path, { bigint: true })), ...extra }))
}

async function fixture (root: string): Promise<void> {
  // A long run of files in one folder: NFS-written (no xattr), S3-written, stale metadata, owners differ.
  for (let i = 0; i < 700; i++) {
    const p = join(root, `run-${String(i).padStart(4, '0')}`)
    if (i % 3 === 0) await s3Object(p, `body ${i}`, { user: { n: String(i) }, contentType: 'text/plain', partCount: i % 2 === 0 ? 2 : undefined })
    else writeFileSync(p, 'x'.repeat(i % 17))
    if (i % 5 === 0) chownSync(p, 1000 + (i % 3), 2000)
  }
  // Stale metadata: rewritten over NFS after the S3 PUT (the stamp no longer matches: derived ETag, same meta).
  const stale = join(root, 'run-0003')
  writeFileSync(stale, 'rewritten over NFS')
  // Metadata that is not JSON, and JSON without an etag: both read as none.
  writeFileSync(join(root, 'bad-json'), 'b')
  execFileSync('setfattr', ['-n', META_XATTR, '-v', 'not json', join(root, 'bad-json')])
  writeFileSync(join(root, 'no-etag'), 'n')
  execFileSync('setfattr', ['-n', META_XATTR, '-v', '{"user":{}}', join(root, 'no-etag')])
  // Folders, a folder marker (a directory with metadata), nested files.
  mkdirSync(join(root, 'dir-a/inner'), { recursive: true })
  writeFileSync(join(root, 'dir-a/inner/f1'), '1')
  await s3Object(join(root, 'dir-a/inner/f2'), '22')
  mkdirSync(join(root, 'marker'))
  await writeStoredMeta(join(root, 'marker'), meta('d41d8cd98f00b204e9800998ecf8427e', { user: { folder: 'yes' } }))
  writeFileSync(join(root, 'marker/child'), 'c')
  mkdirSync(join(root, 'empty-dir'))
  mkdirSync(join(root, 'secret'))
  writeFileSync(join(root, 'secret/hidden'), 'h')
  // Symlinks (to a file, to a folder, dangling) and a FIFO: never objects, never followed.
  symlinkSync(join(root, 'run-0001'), join(root, 'link-file'))
  symlinkSync(join(root, 'dir-a'), join(root, 'link-dir'))
  symlinkSync('/nonexistent', join(root, 'link-dangling'))
  symlinkSync(join(root, 'dir-a'), join(root, 'run-0350-link'))
  execFileSync('mkfifo', [join(root, 'run-0351-fifo')])
  const past = new Date(Date.now() - 60_000)
  utimesSync(root, past, past) // old enough for the sorted-folder cache
}

async function pages (root: string, p: Omit<ListParams, 'after'>, native: boolean): Promise<ListPage[]> {
  const before = process.env.S3BRIDGE_NO_NATIVE_STAT
  if (native) delete process.env.S3BRIDGE_NO_NATIVE_STAT
  else process.env.S3BRIDGE_NO_NATIVE_STAT = '1'
  try {
    const out: ListPage[] = []
    let after: string | undefined
    for (;;) {
      const page = await listObjects({ name: 'b', root }, { ...p, after })
      out.push(page)
      if (!page.isTruncated) return out
      after = page.lastReturned
    }
  } finally {
    if (before === undefined) delete process.env.S3BRIDGE_NO_NATIVE_STAT
    else process.env.S3BRIDGE_NO_NATIVE_STAT = before
  }
}

t.test('native and fallback listings give identical pages', async t => {
  if (!hasStatEntries) t.comment('addon without statEntries: both runs use the fallback')
  const root = t.testdir({})
  await fixture(root)
  const canEnter = async (dir: string): Promise<boolean> => !dir.endsWith('/secret')
  const cases: Array<Omit<ListParams, 'after'>> = [
    { prefix: '', maxKeys: 1000, canEnter },
    { prefix: '', maxKeys: 1000 },
    { prefix: '', maxKeys: 7, canEnter },
    { prefix: '', maxKeys: 1 },
    { prefix: '', maxKeys: 300, delimiter: '/' },
    { prefix: 'run-', maxKeys: 256, delimiter: '/' },
    { prefix: 'run-03', maxKeys: 10 },
    { prefix: 'dir-a/', maxKeys: 1000 },
    { prefix: 'marker', maxKeys: 1000 },
    { prefix: '', maxKeys: 50, delimiter: '-' },
  ]
  for (const c of cases) {
    const label = JSON.stringify({ ...c, canEnter: c.canEnter ? 'deny secret' : undefined })
    const native = await pages(root, c, true)
    const fallback = await pages(root, c, false)
    t.same(native, fallback, `same pages: ${label}`)
    t.equal(native.length, fallback.length, `same page count: ${label}`)
  }
  const all = (await pages(root, { prefix: '', maxKeys: 1000, canEnter }, true)).flatMap(p => p.objects)
  const keys: string[] = all.map(o => o.key)
  const byKey = new Map<string, ObjectInfo>(all.map(o => [o.key, o]))
  t.notOk(keys.some(k => k.startsWith('link-') || k.includes('fifo') || k === 'run-0350-link'), 'no symlink nor FIFO is listed')
  t.notOk(keys.some(k => k.startsWith('secret/')), 'the unreadable folder is skipped')
  t.ok(byKey.has('dir-a/inner/f1') && byKey.has('marker/child'), 'nested keys')
  const marker = byKey.get('marker/')
  t.ok(marker?.isDirectoryMarker, 'the folder marker is listed')
  t.equal(marker?.meta.user.folder, 'yes', 'with its metadata')
  t.equal(byKey.get('run-0000')?.etag, 'ab'.repeat(16), 'S3-written: the stored ETag')
  t.match(byKey.get('run-0003')?.etag, /^[0-9a-f]{32}-1$/, 'stale metadata: a derived ETag')
  t.same(byKey.get('run-0003')?.meta.user, {}, 'stale metadata: its user metadata no longer describes the file (sync tools keep their md5 and mtime there)')
  t.match(byKey.get('run-0001')?.etag, /^[0-9a-f]{32}-1$/, 'NFS-written: a derived ETag')
  t.match(byKey.get('bad-json')?.etag, /-1$/, 'unparsable metadata reads as none')
  t.equal(byKey.get('run-0005')?.ownerUid, 1002, 'owner uid')
  t.equal(all.length, 700 + 2 + 2 + 2, 'every object once')
})

t.test('statEntries: a batch of 1,000 names, missing names, and an attribute past 4 KiB', { skip: !hasStatEntries && 'addon without statEntries' }, async t => {
  const root = t.testdir({})
  const names: string[] = []
  for (let i = 0; i < 1000; i++) {
    const name = `n${String(i).padStart(4, '0')}`
    names.push(name)
    if (i % 10 !== 9) writeFileSync(join(root, name), 'y'.repeat(i))
  }
  mkdirSync(join(root, 'n0009')) // replaces a missing one: a directory
  const b = await addon!.statEntries!(root, names.join('/'), META_XATTR)
  t.equal(b.kinds.length, 1000)
  t.equal(b.kinds[0], 1, 'file')
  t.equal(b.kinds[9], 2, 'directory')
  t.equal(b.kinds[19], 0, 'missing')
  const st = lstatSync(join(root, 'n0500'), { bigint: true })
  t.equal(b.stats[500 * STAT_FIELDS + STAT_SIZE], st.size, 'size')
  t.equal(b.stats[500 * STAT_FIELDS + STAT_MTIME_NS], st.mtimeNs, 'mtimeNs as Node computes it')
  t.equal(b.stats[500 * STAT_FIELDS + STAT_INO], st.ino, 'ino')
  t.ok(Array.from(b.metaLens).every(n => n === -1), 'no attributes')
  const none = await addon!.statEntries!('/nonexistent-dir-s3bridge', 'a/b', META_XATTR)
  t.same(Array.from(none.kinds), [0, 0], 'a missing folder: every entry missing')

  // ext4 keeps about 4 KiB of attributes per inode; tmpfs (if it takes user xattrs) holds a bigger one.
  const shm = '/dev/shm'
  const dir = join(shm, `s3bridge-stat-entries-${process.pid}`)
  mkdirSync(dir, { recursive: true })
  t.teardown(() => execFileSync('rm', ['-rf', dir]))
  const big = JSON.stringify(meta('e'.repeat(32), { user: { pad: 'p'.repeat(20_000) } }))
  writeFileSync(join(dir, 'big'), '')
  try {
    execFileSync('setfattr', ['-n', META_XATTR, '-v', big, join(dir, 'big')])
  } catch {
    t.comment('no user xattrs on /dev/shm: the large-attribute case is skipped')
    return
  }
  const r = await addon!.statEntries!(dir, 'big/gone', META_XATTR)
  t.equal(r.metaLens[0], Buffer.byteLength(big), 'the whole attribute (retried with its size)')
  t.equal(r.meta.toString('utf8'), big)
  t.equal(r.metaLens[1], -1)
})

t.test('readDirSorted: the files and folders readdir sees, as sort keys in byte order, packed', { skip: typeof addon?.readDirSorted !== 'function' && 'addon without readDirSorted' }, async t => {
  const root = t.testdir({})
  writeFileSync(join(root, 'plain'), '')
  writeFileSync(join(root, 'ünïcödé 日本 😀'), '')
  writeFileSync(join(root, '\uFF61 after U+D7FF'), '') // sorts after the emoji in UTF-16 order, before it in UTF-8
  writeFileSync(Buffer.from(join(root, 'bad-\xff-utf8'), 'latin1'), '') // not UTF-8: raw bytes sort as bytes
  writeFileSync(join(root, 'a'), '')
  writeFileSync(join(root, 'a.b'), '') // '.' (0x2e) sorts before the '/' (0x2f) of folder "a/"
  mkdirSync(join(root, 'a-'))
  mkdirSync(join(root, 'sub'))
  mkdirSync(join(root, '.s3bridge'))
  symlinkSync('plain', join(root, 'link'))
  execFileSync('mkfifo', [join(root, 'fifo')])
  const got = await addon!.readDirSorted!(root, '.s3bridge')
  const keyAt = (i: number): Buffer => got.keys.subarray(got.offsets[i], got.offsets[i + 1])
  const raw = readdirSync(root, { withFileTypes: true, encoding: 'buffer' })
    .filter(d => (d.isFile() || d.isDirectory()) && d.name.toString('latin1') !== '.s3bridge')
    .map(d => d.isDirectory() ? Buffer.concat([d.name, Buffer.from('/')]) : d.name)
    .sort(Buffer.compare)
  t.equal(got.isDir.length, raw.length, 'files and folders only: no symlink, no FIFO, no skipped name')
  t.equal(got.offsets.length, raw.length + 1)
  t.same(raw.map((_, i) => keyAt(i).toString('latin1')), raw.map(k => k.toString('latin1')), 'byte order of the raw names')
  t.same([...got.isDir], raw.map(k => k[k.length - 1] === 0x2f ? 1 : 0), 'folders end in / and are marked')
  t.same(raw.map((_, i) => keyAt(i).toString('utf8')).slice(0, 4), ['a', 'a-/', 'a.b', 'bad-\ufffd-utf8'])
  const empty = await addon!.readDirSorted!(join(root, 'sub'))
  t.same([empty.keys.length, [...empty.offsets], empty.isDir.length], [0, [0], 0], 'an empty folder')
  await t.rejects(addon!.readDirSorted!(join(root, 'missing')), { code: 'ENOENT' })
  await t.rejects(addon!.readDirSorted!(join(root, 'plain')), { code: 'ENOTDIR' })
})

t.test('the listing <Contents> renders as the generic XML renderer would', async t => {
  const at = new Date(Date.UTC(2024, 1, 29, 12, 0, 0, 7))
  const objects = [
    { key: 'a&b<c>"d\'e', etag: 'ab'.repeat(16), size: 0, lastModified: at, ownerUid: 0 },
    { key: 'plain', etag: 'cd'.repeat(16) + '-1', size: 12345678901, lastModified: at, ownerUid: 1000 },
    { key: 'ü/日本', etag: 'x', size: 3, lastModified: new Date(at.getTime() + 1), ownerUid: 0 },
    { key: 'crc', etag: 'ef'.repeat(16), size: 1, lastModified: at, ownerUid: 0, checksums: { crc32: 'AAAAAA==' } },
    { key: 'mp', etag: 'ef'.repeat(16) + '-2', size: 1, lastModified: at, ownerUid: 0, checksums: { sha256: 'x'.repeat(43) + '=-2' } },
  ].map(o => ({ ...o, isDirectoryMarker: false, meta: { user: {}, checksums: o.checksums }, ownerGid: 0 })) as unknown as ObjectInfo[]
  const owner = (uid: number): string => uid === 0 ? 'root&co' : `user${uid}`
  const enc = (s: string): string => encodeURIComponent(s).replace(/%2F/g, '/')
  for (const [e, o] of [[(s: string) => s, owner], [enc, undefined]] as const) {
    const generic = renderXml('R', {
      Contents: objects.map(x => {
        // ListObjectsV2's Object: the stored checksum's algorithm, COMPOSITE for a multipart upload's.
        const [alg, value] = Object.entries(x.meta.checksums ?? {})[0] ?? []
        return {
          Key: e(x.key), LastModified: x.lastModified, ETag: `"${x.etag}"`,
          ChecksumAlgorithm: alg?.toUpperCase(), ChecksumType: value === undefined ? undefined : /-\d+$/.test(value) ? 'COMPOSITE' : 'FULL_OBJECT',
          Size: x.size, Owner: o ? { ID: o(x.ownerUid), DisplayName: o(x.ownerUid) } : undefined, StorageClass: 'STANDARD',
        }
      }),
    })
    t.equal(renderXml('R', { Contents: contents(objects, e, o) }), generic)
  }
})
