// The lifecycle job's folder table (lib/daemon/lifecycle-folders.ts) under what shared NAS setups do to it: two hosts
// (device numbers), a clock behind, a prefix ending in part of a name, a torn table, odd folder names (review 28).
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { applyLifecycle } from '../../lib/daemon/lifecycle-job.js'
import { DAY, deps, mount, oldImage, put, umount } from '../fixtures/old-tree.js'

// Folders are known by inode, not device number: every host mounting an NFS share gives it another st_dev, and so
// does a remount. Simulated with one ext4 image mounted through two loop devices in turn, one mount per daily run.
async function scenario (t: Test, alternate: boolean): Promise<number | undefined> {
  const b = await startBridge(t)
  const img = oldImage(t, ['project/data.csv'], ['scratch'], ['project/data.csv', 'project'])
  const nas = join(b.bucketDir, 'nas')
  const w = mkdtempSync(join(tmpdir(), 'lc-dummy-'))
  spawnSync('truncate', ['-s', '1M', join(w, 'dummy')])
  t.teardown(() => { umount(nas); rmSync(w, { recursive: true, force: true }) })
  mount(img, nas)
  // The NFS user moves the old project into scratch/ today (t0): it is due 7 days on (rounded to midnight).
  renameSync(join(nas, 'project'), join(nas, 'scratch/project'))
  umount(nas)
  await put(b, [{ ID: 'scratch', Filter: { Prefix: 'nas/scratch/' }, Status: 'Enabled', Expiration: { Days: 7 } }])
  const t0 = Date.now()
  const devs = new Set<number>()
  for (let day = 1; day <= 12; day++) {
    // Host A mounts through the first free loop device; host B's device number differs (a dummy takes the first).
    let dummy: string | undefined
    if (alternate && day % 2 === 0) dummy = spawnSync('losetup', ['-f', '--show', join(w, 'dummy')]).stdout.toString().trim()
    mount(img, nas)
    devs.add(statSync(nas).dev)
    await applyLifecycle(deps(b, new Date(t0 + day * DAY)))
    const gone = !existsSync(join(nas, 'scratch/project/data.csv'))
    umount(nas)
    if (dummy !== undefined) spawnSync('losetup', ['-d', dummy])
    if (gone) return day
  }
  t.equal(devs.size, alternate ? 2 : 1, 'device numbers seen')
  return undefined
}

t.test('control: one host (one device number): data.csv expires about 8 days after it was moved in', async t => {
  const day = await scenario(t, false)
  t.ok(day !== undefined && day >= 7 && day <= 9, `expired on day ${day}`)
})

t.test('two hosts (device numbers alternate between runs): data.csv should still expire about 8 days on', async t => {
  const day = await scenario(t, true)
  t.ok(day !== undefined && day >= 7 && day <= 9, `expired on day ${day} (undefined: still there after 12 daily runs)`)
})

/** An old NFS tree (project/ of 2025, an empty scratch/) mounted at nas/, and a 7-day rule on nas/scratch/. */
async function oldProjectBesideScratch (t: Test): Promise<{ b: Bridge, nas: string }> {
  const b = await startBridge(t)
  const img = oldImage(t, ['project/data.csv'], ['scratch'], ['project/data.csv', 'project'])
  const nas = join(b.bucketDir, 'nas')
  mount(img, nas)
  t.teardown(() => umount(nas))
  await put(b, [{ ID: 'scratch', Filter: { Prefix: 'nas/scratch/' }, Status: 'Enabled', Expiration: { Days: 7 } }])
  return { b, nas }
}

// Arrival dates are not capped at the job's clock: a run whose clock is behind (no NTP yet, one host of several)
// must not record a folder moved in today as days old for the next runs to trust.
t.test('a run with a clock 5 days behind must not make a folder moved in today 5 days old', async t => {
  const { b, nas } = await oldProjectBesideScratch(t)
  const r = Date.now()
  await applyLifecycle(deps(b, new Date(r))) // a normal run: the table says nas/scratch/ was walked
  renameSync(join(nas, 'project'), join(nas, 'scratch/project')) // moved in now (ctime now)
  t.equal((await applyLifecycle(deps(b, new Date(r - 5 * DAY)))).expired, 0, 'the run with the clock behind deletes nothing')
  const run = await applyLifecycle(deps(b, new Date(r + 3 * DAY))) // clock right again, 3 days after the move
  t.same(run.sample, [], 'nothing was moved in more than 7 days ago')
  t.ok(existsSync(join(nas, 'scratch/project/data.csv')), 'data.csv (moved in 3 days ago, 7-day rule) is still there')
})

// A prefix ending in part of a name ("nas/scratch/tmp-"): the folder that holds its keys is on the walked prefix's
// path, recorded by every walk, so a swap of that folder is seen as with "nas/scratch/" (the control).
for (const prefix of ['nas/scratch/', 'nas/scratch/tmp-']) {
  t.test(`prefix ${prefix}: scratch/ replaced by an old folder (moved in) is new there`, async t => {
    const b = await startBridge(t)
    const img = oldImage(t, ['scratch/tmp-current.dat', 'oldrun/tmp-results.dat'], [], ['oldrun/tmp-results.dat', 'oldrun'])
    const nas = join(b.bucketDir, 'nas')
    mount(img, nas)
    t.teardown(() => umount(nas))
    await put(b, [{ ID: 'tmp', Filter: { Prefix: prefix }, Status: 'Enabled', Expiration: { Days: 7 } }])
    const r = Date.now()
    t.equal((await applyLifecycle(deps(b, new Date(r)))).expired, 0, 'first run: nothing due')
    // The user swaps the scratch folder for an old run's, and a job writes its next output there.
    renameSync(join(nas, 'scratch'), join(nas, 'scratch.prev'))
    renameSync(join(nas, 'oldrun'), join(nas, 'scratch'))
    writeFileSync(join(nas, 'scratch/tmp-new.dat'), 'today')
    const run = await applyLifecycle(deps(b, new Date(r + DAY)))
    t.same(run.sample, [], 'nothing arrived more than a day ago')
    t.ok(existsSync(join(nas, 'scratch/tmp-results.dat')), 'tmp-results.dat, moved in a day ago under a 7-day rule, stays')
  })
}

// Folder names are data, not object keys: a top-level folder named "__proto__" is kept in the table like any other.
// A table of another shape (an entry that is not a triple) is unreadable: one run only walks, the next expires.
function file (b: Bridge, key: string): void {
  mkdirSync(join(b.bucketDir, key, '..'), { recursive: true })
  writeFileSync(join(b.bucketDir, key), 'x')
  chownSync(join(b.bucketDir, key), 2000, 2000)
  chownSync(join(b.bucketDir, key, '..'), 2000, 2000)
  const when = new Date(Date.now() - 400 * DAY)
  utimesSync(join(b.bucketDir, key), when, when)
}

for (const top of ['proto', '__proto__']) {
  t.test(`daily runs: ${top}/a.txt expires 7-8 days after it was made`, async t => {
    const b = await startBridge(t)
    file(b, `${top}/a.txt`)
    await put(b, [{ ID: 'all', Filter: { Prefix: '' }, Status: 'Enabled', Expiration: { Days: 7 } }])
    const t0 = Date.now()
    let gone: number | undefined
    for (let day = 0; day <= 12 && gone === undefined; day++) {
      await applyLifecycle(deps(b, new Date(t0 + day * DAY)))
      if (!existsSync(join(b.bucketDir, top, 'a.txt'))) gone = day
    }
    t.ok(gone !== undefined && gone <= 9, `gone on day ${gone}`)
  })
}

t.test('a table of another shape does not stop the bucket\'s lifecycle: its folders start their Days again', async t => {
  const b = await startBridge(t)
  file(b, 'scratch/a.txt')
  await put(b, [{ ID: 'scratch', Filter: { Prefix: 'scratch/' }, Status: 'Enabled', Expiration: { Days: 7 } }])
  const createdAt = b.daemon.services.state.snapshot().buckets.demo!.createdAt
  mkdirSync(join(b.config.stateDir, 'lifecycle'), { recursive: true })
  writeFileSync(join(b.config.stateDir, 'lifecycle', 'demo.folders.json'), JSON.stringify({ createdAt, walkedAt: Date.now() - 30 * DAY, walked: ['scratch/'], folders: { scratch: null } }))
  const t0 = Date.now()
  let gone: number | undefined
  for (let day = 10; day <= 20 && gone === undefined; day++) {
    await applyLifecycle(deps(b, new Date(t0 + day * DAY)))
    if (!existsSync(join(b.bucketDir, 'scratch/a.txt'))) gone = day
  }
  t.ok(gone !== undefined && gone >= 17 && gone <= 18, `a.txt (400 days old) expired seven days after the run that found the table unreadable (day ${gone})`)
  t.ok(b.logLines.some(l => l.includes('folder table cannot be read')), 'that run said so')
})

// A table torn between two runs: the next run counts every folder as arrived that day, so a folder moved in and
// written to before it still gets its full Days (it does not fall to the first-meeting guess, which dates it 0).
t.test('a torn table: a folder moved in and written to keeps its full Days', async t => {
  const { b, nas } = await oldProjectBesideScratch(t)
  const r = Date.now()
  await applyLifecycle(deps(b, new Date(r)))
  renameSync(join(nas, 'project'), join(nas, 'scratch/project'))
  writeFileSync(join(nas, 'scratch/project/notes.txt'), 'today')
  const table = join(b.config.stateDir, 'lifecycle', 'demo.folders.json')
  t.ok(existsSync(table), 'the first run wrote the table')
  writeFileSync(table, readFileSync(table, 'utf8').slice(0, 20))
  t.equal((await applyLifecycle(deps(b, new Date(r + DAY)))).expired, 0, 'the run that finds the table torn')
  t.equal((await applyLifecycle(deps(b, new Date(r + 2 * DAY)))).expired, 0, 'the next run trusts the fresh table')
  t.ok(existsSync(join(nas, 'scratch/project/data.csv')), 'data.csv, moved in two days ago under a 7-day rule, stays')
})

// A folder that cannot be looked at for one run (ESTALE after a NAS restart) keeps its entry for the next run;
// dropped, the folder would count as arrived then and delay everything under it by the rule's Days.
for (const blip of [false, true]) {
  t.test(`one failed lstat of a folder on the prefix's path (${blip ? 'it fails once' : 'control'}) delays nothing beyond that run`, async t => {
    const b = await startBridge(t)
    const img = oldImage(t, ['scratch/a.dat'], [], ['scratch/a.dat', 'scratch'])
    const nas = join(b.bucketDir, 'nas')
    mount(img, nas)
    t.teardown(() => umount(nas))
    await put(b, [{ ID: 'scratch', Filter: { Prefix: 'nas/scratch/' }, Status: 'Enabled', Expiration: { Days: 710 } }])
    const r = Date.now()
    await applyLifecycle(deps(b, new Date(r)))
    t.ok(existsSync(join(nas, 'scratch/a.dat')), 'day 0: not due yet')
    const orig = fs.promises.lstat
    let fail = blip
    ;(fs.promises as { lstat: unknown }).lstat = async (p: fs.PathLike, o: fs.StatOptions) => {
      if (fail && String(p) === nas) { fail = false; throw Object.assign(new Error('ESTALE'), { code: 'ESTALE' }) }
      return await orig(p, o)
    }
    syncBuiltinESMExports()
    t.teardown(() => { (fs.promises as { lstat: unknown }).lstat = orig; syncBuiltinESMExports() })
    await applyLifecycle(deps(b, new Date(r + DAY)))
    ;(fs.promises as { lstat: unknown }).lstat = orig
    syncBuiltinESMExports()
    let gone: number | undefined
    for (let day = 2; day <= 14 && gone === undefined; day++) {
      await applyLifecycle(deps(b, new Date(r + day * DAY)))
      if (!existsSync(join(nas, 'scratch/a.dat'))) gone = day
    }
    t.ok(gone !== undefined, `a.dat (2025-01-01, 710-day rule) expired on day ${gone}`)
  })
}
