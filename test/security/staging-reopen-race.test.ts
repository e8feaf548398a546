// Review 19: inStaging (1161bda) retires "the" staging descriptor after any ENOENT, without checking that the one
// that failed is still the pinned one. After the staging folder is removed, several requests in flight each hit
// ENOENT on the dead folder and each call forgetStaging: the later ones retire the fresh descriptor the first
// retry just opened (with the addon, pointed at a removed folder at once), under requests now using it.
import t from 'tap'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge } from '../fixtures/daemon.js'

t.test('concurrent PUTs right after the staging folder was removed all succeed', async t => {
  const b = await startBridge(t)
  let failures = 0
  const codes = new Map<string, number>()
  for (let round = 0; round < 10; round++) {
    await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: `warm-${round}`, Body: 'w' })) // staging pinned
    rmSync(join(b.bucketDir, '.s3bridge'), { recursive: true, force: true })
    const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) =>
      b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: `r${round}/d${i}/k${i}`, Body: 'x'.repeat(1000 * i) }), { abortSignal: AbortSignal.timeout(10_000) })))
    for (const r of results) {
      if (r.status === 'rejected') {
        failures++
        const name = (r.reason as Error).name
        codes.set(name, (codes.get(name) ?? 0) + 1)
      }
    }
  }
  t.equal(failures, 0, `every PUT succeeds (failures by code: ${JSON.stringify([...codes])})`)
})
