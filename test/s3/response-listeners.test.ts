// Every response is waited on by the drain, the metrics, the access log and the dispatcher; with Koa's, the body
// pipeline's and the socket timer's own 'close' listeners, a streamed GET went past node's limit of 10 and each one
// printed a MaxListenersExceededWarning ("possible memory leak") to the daemon's log (632 lines in one CI run).
import t from 'tap'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'

t.test('streamed GETs, whole and ranged, raise no listener warning', async t => {
  const b = await startBridge(t)
  const warnings: string[] = []
  const onWarning = (w: Error): void => { warnings.push(`${w.name}: ${w.message}`) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const body = Buffer.alloc(3 * 1024 * 1024, 7)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'big', Body: body }))
  const reads = await Promise.all(Array.from({ length: 6 }, async (_, i) => {
    const r = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'big', ...(i % 2 === 1 ? { Range: 'bytes=1000-2000000' } : {}) }))
    return (await r.Body!.transformToByteArray()).length
  }))
  t.same(reads, [body.length, 1999001, body.length, 1999001, body.length, 1999001], 'the bytes')
  await new Promise(resolve => setImmediate(resolve))
  t.same(warnings.filter(w => w.includes('MaxListeners')), [], 'no MaxListenersExceededWarning')
})
