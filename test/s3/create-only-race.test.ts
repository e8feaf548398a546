// If-None-Match: * racing for one new key: exactly one writer wins, as on AWS, and the key holds its body. The
// checks before the rename used to leave a window: several got 200 and the last body silently replaced the others
// (sweep 25a F3: 25 of 40 rounds through one daemon). The publish is now a no-replace link.
import t from 'tap'
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge } from '../fixtures/daemon.js'

type Outcome = { ok: true, body: string } | { ok: false, code: string }

async function race (s3: S3Client, key: string, writers: number, size: number): Promise<Outcome[]> {
  return await Promise.all(Array.from({ length: writers }, async (_, i) => {
    const body = String(i).repeat(size)
    try {
      await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: key, Body: body, IfNoneMatch: '*' }))
      return { ok: true as const, body }
    } catch (err) {
      return { ok: false as const, code: (err as Error).name }
    }
  }))
}

t.test('eight create-only PUTs of one new key: one 200, seven 412, the winner\'s body stored', async t => {
  const b = await startBridge(t)
  let bad = 0
  for (let round = 0; round < 25; round++) {
    const key = `race/${round}`
    const outcomes = await race(b.s3, key, 8, 1 + (round % 5) * 20_000)
    const winners = outcomes.filter(o => o.ok)
    const losers = outcomes.filter((o): o is { ok: false, code: string } => !o.ok)
    if (winners.length !== 1 || losers.some(l => l.code !== 'PreconditionFailed')) {
      bad++
      t.fail(`round ${round}: ${winners.length} winners, losers ${losers.map(l => l.code).join(',')}`)
      continue
    }
    if (readFileSync(join(b.bucketDir, key), 'utf8') !== (winners[0] as { body: string }).body) t.fail(`round ${round}: the stored body is not the winner's`)
  }
  t.equal(bad, 0, 'every round had exactly one winner')
  t.same(readdirSync(join(b.bucketDir, '.s3bridge', 'tmp')), [], 'no temp file left')
})

t.test('a create-only CompleteMultipartUpload against a create-only PUT: one wins', async t => {
  const b = await startBridge(t)
  for (let round = 0; round < 10; round++) {
    const key = `mpu/${round}`
    const up = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: key }))
    const part = await b.s3.send(new UploadPartCommand({ Bucket: 'demo', Key: key, UploadId: up.UploadId, PartNumber: 1, Body: 'multipart' }))
    const results = await Promise.allSettled([
      b.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: key, UploadId: up.UploadId, IfNoneMatch: '*', MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } })),
      b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: key, Body: 'single put', IfNoneMatch: '*' })),
    ])
    const won = results.filter(r => r.status === 'fulfilled').length
    t.equal(won, 1, `round ${round}: exactly one of Complete and PUT wins`)
    const stored = readFileSync(join(b.bucketDir, key), 'utf8')
    t.equal(stored, results[0].status === 'fulfilled' ? 'multipart' : 'single put', 'and the key holds the winner\'s content')
  }
})
