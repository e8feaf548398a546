import t from 'tap'
import { mkdirSync, renameSync, utimesSync, writeFileSync, rmSync } from 'node:fs'
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

t.test('the next page read ahead of a big folder is never served once the folder changed', async t => {
  const root = t.testdir({})
  const keys = keysOf(3500)
  for (const k of keys) writeFileSync(join(root, k), '')
  const stable = (): void => { const past = new Date(Date.now() - 60_000 - Math.floor(Math.random() * 1000)); utimesSync(root, past, past) }
  stable()
  const sorted = [...keys].sort()
  const page = (after?: string): ReturnType<typeof listObjects> => listObjects({ name: 'b', root }, { prefix: '', maxKeys: 1000, after })
  const page1 = await page()
  t.same(page1.objects.map(o => o.key), sorted.slice(0, 1000))
  // Page 2's names were read ahead with page 1. Replace one the way an S3 PUT does (a new file renamed over the
  // key: same names, new inode and size), then make the folder look settled again, so only the read-ahead's
  // stamp can tell.
  const replaced = sorted[1100]!
  writeFileSync(join(root, 'tmp-new'), 'changed')
  renameSync(join(root, 'tmp-new'), join(root, replaced))
  stable()
  const page2 = await page(page1.lastReturned)
  t.same(page2.objects.map(o => o.key), sorted.slice(1000, 2000))
  t.equal(page2.objects.find(o => o.key === replaced)?.size, 7, 'the replaced key has its new size')
  // Page 3 was read ahead with page 2: an NFS user removes one of its files.
  const removed = sorted[2500]!
  rmSync(join(root, removed))
  stable()
  const page3 = await page(page2.lastReturned)
  t.same(page3.objects.map(o => o.key), sorted.slice(2000, 3001).filter(k => k !== removed), 'the removed key is gone')
  const page4 = await page(page3.lastReturned)
  t.same(page4.objects.map(o => o.key), sorted.slice(3001), 'and paging goes on')
  t.notOk(page4.isTruncated)
})
