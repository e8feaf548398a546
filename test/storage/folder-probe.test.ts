// Whether a key lies beneath a folder (the delimiter listing's probe): the addon's batched holdsKeys and the
// Node fallback give the same answers over the same trees, never follow a symlink, and skip names that are not
// UTF-8.
import t from 'tap'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { holdsKeys } from '../../lib/storage/listing.js'
import { nativeJobs } from '../../lib/storage/native.js'
import { setAttribute } from '../../lib/storage/xattr.js'
import { META_XATTR } from '../../lib/storage/xattrs.js'

t.test('native and Node probes agree', async t => {
  const root = mkdtempSync(join(tmpdir(), 's3bridge-probe-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const mk = (...p: string[]): string => { const d = join(root, ...p); mkdirSync(d, { recursive: true }); return d }
  const outside = mk('..outside-target')
  writeFileSync(join(outside, 'secret'), 'x')
  mk('empty')
  mk('nested', 'a', 'b', 'c')
  writeFileSync(join(mk('deep', 'a', 'b'), 'f'), 'x')
  writeFileSync(join(mk('flat'), 'f'), 'x')
  symlinkSync(outside, join(mk('linkdir'), 'to-outside'))
  symlinkSync(join(outside, 'secret'), join(mk('linkfile'), 'secret'))
  writeFileSync(Buffer.concat([Buffer.from(mk('badname') + '/'), Buffer.from([0xc0, 0xaf])]), 'x') // overlong '/'
  writeFileSync(Buffer.concat([Buffer.from(mk('goodname') + '/'), Buffer.from('日本', 'utf8')]), 'x')
  await setAttribute(mk('marked', 'inner'), META_XATTR, JSON.stringify({ user: {}, etag: 'd41d8cd98f00b204e9800998ecf8427e', stampSize: '0', stampMtimeNs: '0' }))
  symlinkSync(outside, join(root, 'is-a-link'))
  // Only a file whose key would pass 1024 bytes: no key (the listing skips it), as review 13 F5 found.
  const seg = 'l'.repeat(250)
  writeFileSync(join(mk('longtop', seg, seg, seg, seg), 'f'.repeat(40)), 'x') // 8 + 4 × 251 + 40 = 1052 bytes
  writeFileSync(join(mk('longok', seg, seg, seg), 'f'.repeat(40)), 'x') // 7 + 3 × 251 + 40 = 800 bytes
  // More empty folders than a probe opens: it stops and answers "holds keys" (it cannot tell).
  for (let i = 0; i < 1100; i++) mk('wide', `d${i}`)
  const expected: Record<string, boolean> = {
    empty: false, nested: false, deep: true, flat: true, linkdir: false, linkfile: false, badname: false,
    goodname: true, marked: true, 'is-a-link': false, missing: false, longtop: false, longok: true, wide: true,
  }
  const names = Object.keys(expected)
  const native = nativeJobs()?.holdsKeys
  if (native !== undefined) {
    const answers = await native(root, names.join('/'), META_XATTR, 1024)
    t.same(Object.fromEntries(names.map((n, i) => [n, answers[i] === 1])), expected, 'the addon')
  } else {
    t.comment('no addon here: only the Node probe is checked')
  }
  const node: Record<string, boolean> = {}
  for (const n of names) node[n] = await holdsKeys(root, n, 1024 - Buffer.byteLength(n) - 1)
  t.same(node, expected, 'Node')
})
