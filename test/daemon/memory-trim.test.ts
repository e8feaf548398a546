// The memory trimmer: malloc_trim through the addon, run only in intervals in which requests were served.
import t from 'tap'
import v8 from 'node:v8'
import vm from 'node:vm'
import { startMemoryTrimmer } from '../../lib/daemon/memory-trim.js'
import { nativeAddon } from '../../lib/storage/native.js'

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

t.test('trimMemory hands freed malloc memory back to the kernel', async t => {
  const trim = nativeAddon()?.trimMemory
  if (trim === undefined) { t.fail('the addon is built by npm ci; trimMemory must be there'); return }
  await trim() // start from a trimmed heap
  // Many small malloc'ed buffers (Buffer.allocUnsafeSlow is not pooled), most of them freed: holes glibc keeps.
  let held: Buffer[] = []
  for (let i = 0; i < 100_000; i++) held.push(Buffer.allocUnsafeSlow(2048).fill(i))
  held = held.filter((_, i) => i % 50 === 0)
  // A full collection frees the dropped buffers; their memory then sits free inside glibc's heap. On a busy
  // machine V8 may hand some backing stores back late, so collect and trim a few times and count what every
  // trim itself gave back (without malloc_trim none of these holes would return to the kernel).
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  let released = 0
  const start = process.memoryUsage().rss
  for (let round = 0; round < 5 && released <= 64 * 2 ** 20; round++) {
    gc()
    await sleep(100)
    const before = process.memoryUsage().rss
    t.equal(await trim(), true, `round ${round + 1}: malloc_trim ran`)
    released += before - process.memoryUsage().rss
  }
  t.ok(released > 64 * 2 ** 20, `trims gave back ${(released / 2 ** 20).toFixed(0)} MiB (RSS was ${(start / 2 ** 20).toFixed(0)})`)
  t.ok(held.length > 0)
})

t.test('the trimmer trims only after requests were served, one trim at a time', async t => {
  let served = 0
  let trims = 0
  let inTrim = 0
  let overlapped = false
  const trimmer = startMemoryTrimmer(() => served, {
    intervalMs: 20,
    trim: async () => { trims++; if (++inTrim > 1) overlapped = true; await sleep(50); inTrim--; return true },
  })
  t.teardown(() => trimmer.stop())
  await sleep(120)
  t.equal(trims, 0, 'an idle daemon is not trimmed')
  served = 5
  await sleep(120)
  t.equal(trims, 1, 'one trim after a burst')
  for (let i = 0; i < 10; i++) { served++; await sleep(20) }
  await sleep(80)
  t.ok(trims >= 2 && trims <= 6, `busy intervals are trimmed, never two at once (${trims})`)
  t.notOk(overlapped, 'no trim started while one was running')
  trimmer.stop()
  const after = trims
  served++
  await sleep(80)
  t.equal(trims, after, 'stop() ends it')
})
