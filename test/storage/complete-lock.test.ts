// The holder of a Complete's lock: written by the Complete, and known gone once its process no longer runs.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { lockHolderState, LOCK_HOLDER_FILE, writeLockHolder } from '../../lib/storage/complete-lock.js'

t.test('this process holds the lock it wrote; an exited one does not; what cannot be told is unknown', async t => {
  const dir = t.testdir({})
  t.equal(await lockHolderState(dir), 'unknown', 'no holder recorded')
  await writeLockHolder(dir)
  const holder = JSON.parse(readFileSync(join(dir, LOCK_HOLDER_FILE), 'utf8')) as { pid: number }
  t.equal(holder.pid, process.pid)
  t.equal(await lockHolderState(dir), 'alive', 'this process runs')
  writeFileSync(join(dir, LOCK_HOLDER_FILE), JSON.stringify({ ...holder, pid: spawnSync('true').pid }))
  t.equal(await lockHolderState(dir), 'gone', 'an exited process')
  writeFileSync(join(dir, LOCK_HOLDER_FILE), JSON.stringify({ ...holder, start: '1' }))
  t.equal(await lockHolderState(dir), 'gone', 'the same pid with another start time is another process')
  writeFileSync(join(dir, LOCK_HOLDER_FILE), JSON.stringify({ ...holder, pid: spawnSync('true').pid, pidNs: 'pid:[1]' }))
  t.equal(await lockHolderState(dir), 'unknown', 'another pid namespace (a container) numbers its processes apart')
  writeFileSync(join(dir, LOCK_HOLDER_FILE), JSON.stringify({ ...holder, bootId: 'another' }))
  t.equal(await lockHolderState(dir), 'unknown', 'another boot id on a lock newer than this boot: a machine of the same name')
  writeFileSync(join(dir, LOCK_HOLDER_FILE), '{"host": 5')
  t.equal(await lockHolderState(dir), 'unknown', 'a damaged record')
})
