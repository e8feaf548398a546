// The holder of a Complete's lock: written by the Complete, and known gone once its process no longer runs.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isHolderGone, LOCK_HOLDER_FILE, writeLockHolder } from '../../lib/storage/complete-lock.js'

t.test('this process holds the lock it wrote; an exited one does not; no record is not known to be gone', async t => {
  const dir = t.testdir({})
  t.equal(await isHolderGone(dir), false, 'no holder recorded: unknown, not gone')
  await writeLockHolder(dir)
  const holder = JSON.parse(readFileSync(join(dir, LOCK_HOLDER_FILE), 'utf8')) as { pid: number }
  t.equal(holder.pid, process.pid)
  t.equal(await isHolderGone(dir), false, 'this process runs')
  writeFileSync(join(dir, LOCK_HOLDER_FILE), JSON.stringify({ ...holder, pid: spawnSync('true').pid }))
  t.equal(await isHolderGone(dir), true, 'an exited process')
  writeFileSync(join(dir, LOCK_HOLDER_FILE), JSON.stringify({ ...holder, start: '1' }))
  t.equal(await isHolderGone(dir), true, 'the same pid with another start time is another process')
  writeFileSync(join(dir, LOCK_HOLDER_FILE), '{"host": 5')
  t.equal(await isHolderGone(dir), false, 'a damaged record: unknown')
})
