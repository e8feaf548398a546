// The state store's handling of corrupt documents: what it keeps and what it says.
import t from 'tap'
import { chmodSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StateStore } from '../../../lib/state/store.js'
import { mountReadOnly, mountTmpfs } from '../../fixtures/mounts.js'

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

t.test('a corrupt users.json is reported without the text around the fault, which holds secrets (sweep 24a #8)', async t => {
  const secret = 's8jPCJMrBJq1d2f3g4h5j6k7l8m9n0p1q2r3s4t5'
  const dir = t.testdir({ 'users.json': `{"alice": {"keys": [{"accessKeyId": "SBX", "secret": X"${secret}"}]}}` })
  const errors: string[] = []
  new StateStore(dir, { pollMs: 1000, onError: m => { errors.push(m) } })
  t.equal(errors.length, 1)
  t.match(errors[0], /users.json is corrupt \(not valid JSON/)
  t.notOk(errors[0]!.includes(secret.slice(0, 4)), 'no part of the secret')
  let message = ''
  try { new StateStore(dir, { pollMs: 1000, isStrict: true }) } catch (err) { message = (err as Error).message }
  t.match(message, /not valid JSON/, 'bridgectl is told too')
  t.notOk(message.includes(secret.slice(0, 4)), 'without the secret')
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

t.test('a read-only state folder can still be read; a change is a StateWriteError that leaves nothing behind (sweep 24c F4, F6)', async t => {
  // Not under t.testdir: that is removed before the mount is gone.
  const dir = mkdtempSync(join(tmpdir(), 's3bridge-state-ro-'))
  t.teardown(() => setImmediate(() => rmSync(dir, { recursive: true, force: true })))
  writeFileSync(join(dir, 'users.json'), JSON.stringify({ alice: { name: 'alice' } }))
  chmodSync(dir, 0o700)
  if (!mountReadOnly(t, dir)) return
  const store = new StateStore(dir, { pollMs: 1000, isStrict: true })
  t.same(Object.keys(store.snapshot().users), ['alice'], 'read as usual (no chmod needed)')
  await t.rejects(store.mutate(s => { s.users.bob = { name: 'bob' } as never }), { message: /^cannot save .*\.lock: EROFS/ })
  t.same(readdirSync(dir).filter(f => f.includes('.tmp-')), [])
})

t.test('a full state filesystem: the change is a StateWriteError and no temp file is left', async t => {
  const dir = mkdtempSync(join(tmpdir(), 's3bridge-state-full-'))
  t.teardown(() => setImmediate(() => rmSync(dir, { recursive: true, force: true })))
  if (!mountTmpfs(t, dir, 'size=64k,mode=700')) return
  const store = new StateStore(dir, { pollMs: 1000, isStrict: true })
  await store.mutate(s => { s.users.alice = { name: 'alice' } as never })
  try { writeFileSync(join(dir, 'filler'), Buffer.alloc(128 * 1024)) } catch { /* full now */ }
  await t.rejects(store.mutate(s => { s.users.bob = { name: 'bob', note: 'x'.repeat(8192) } as never }), { message: /^cannot save .*users\.json: ENOSPC/ })
  t.same(readdirSync(dir).filter(f => f.includes('.tmp-')), [], 'no users.json.tmp-PID left')
  t.same(Object.keys(store.snapshot().users), ['alice'], 'the last good state stands')
})
