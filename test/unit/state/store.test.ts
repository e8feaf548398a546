// The state store's handling of corrupt documents: what it keeps and what it says.
import t from 'tap'
import { rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { StateStore } from '../../../lib/state/store.js'

t.test('a corrupt document at open is reported as missing, not as a last good copy it does not have', async t => {
  const dir = t.testdir({ 'users.json': '{"alice": {"na' })
  const errors: string[] = []
  const store = new StateStore(dir, { pollMs: 1000, onError: m => { errors.push(m) } })
  t.same(store.snapshot().users, {})
  t.equal(errors.length, 1)
  t.notMatch(errors[0], /last good/)
  t.match(errors[0], `serving without users (no earlier good copy of users.json): state file ${join(dir, 'users.json')} is corrupt`)
  writeFileSync(join(dir, 'users.json'), '{}')
  store.refresh()
  writeFileSync(join(dir, 'users.json'), '{"x":')
  store.refresh()
  t.match(errors[1], /^state: keeping the last good users.json: state file .* is corrupt/, 'once read well, the last good copy is kept')
})

t.test('a strict store (bridgectl) throws on a corrupt document', async t => {
  const dir = t.testdir({ 'buckets.json': '[]' })
  t.throws(() => new StateStore(dir, { pollMs: 1000, isStrict: true }), { message: /buckets.json is corrupt \(not a JSON object\)/ })
})

t.test('a document that cannot be read (not one that is gone) keeps the last good copy: the buckets are not unmapped', async t => {
  const dir = t.testdir({ 'buckets.json': JSON.stringify({ demo: { name: 'demo', path: '/srv/demo' } }) })
  const errors: string[] = []
  const store = new StateStore(dir, { pollMs: 1000, onError: m => { errors.push(m) } })
  t.same(Object.keys(store.snapshot().buckets), ['demo'])
  // ELOOP from stat and read alike: as an EIO or ESTALE of a state directory on a troubled disk or NFS mount.
  rmSync(join(dir, 'buckets.json'))
  symlinkSync('loop-b', join(dir, 'loop-a'))
  symlinkSync('loop-a', join(dir, 'loop-b'))
  symlinkSync('loop-a', join(dir, 'buckets.json'))
  store.refresh()
  t.same(Object.keys(store.snapshot().buckets), ['demo'], 'still mapped')
  t.match(errors.at(-1), /keeping the last good buckets.json/)
  rmSync(join(dir, 'buckets.json'))
  store.refresh()
  t.same(store.snapshot().buckets, {}, 'a document that is gone is empty')
})
