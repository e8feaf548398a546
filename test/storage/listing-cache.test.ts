import t from 'tap'
import { mkdirSync, utimesSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { listObjects } from '../../lib/storage/listing.js'

function keysOf (n: number): string[] {
  return Array.from({ length: n }, (_, i) => `f${String(i).padStart(5, '0')}${i % 7 === 0 ? '-x' : ''}`)
}

async function listAll (root: string, maxKeys: number, prefix = ''): Promise<string[]> {
  const out: string[] = []
  let after: string | undefined
  for (;;) {
    const page = await listObjects({ name: 'b', root }, { prefix, after, maxKeys })
    out.push(...page.objects.map(o => o.key))
    if (!page.isTruncated) return out
    after = page.lastReturned
  }
}

t.test('paging a large folder returns every key once in order, and sees files added over NFS', async t => {
  const root = t.testdir({})
  const keys = keysOf(2500)
  for (const k of keys) writeFileSync(join(root, k), '')
  mkdirSync(join(root, 'f01000-sub'))
  writeFileSync(join(root, 'f01000-sub', 'inner'), '')
  const past = new Date(Date.now() - 60_000)
  utimesSync(root, past, past) // old enough to be cached
  const expected = [...keys, 'f01000-sub/inner'].sort()
  t.same(await listAll(root, 1000), expected, 'first full pass')
  t.same(await listAll(root, 333), expected, 'second pass, served from the cache')
  writeFileSync(join(root, 'f00000-new'), '')
  rmSync(join(root, keys[5]!))
  const changed = [...expected.filter(k => k !== keys[5]), 'f00000-new'].sort()
  t.same(await listAll(root, 1000), changed, 'a change to the folder invalidates the cached listing')
  t.same(await listAll(root, 100, 'f0249'), changed.filter(k => k.startsWith('f0249')), 'prefix inside a large folder')
})
