// S3 and NFS-side changes racing on the same names: GETs see whole versions, listings never repeat a key,
// a GET racing a delete is whole or 404, never a short 200.
import { chownSync, mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import t from 'tap'
import { sendSigned } from '../fixtures/clients/raw-request.js'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { signHeaders, sleep } from '../fixtures/robustness/wire.js'

const b: Bridge = await startBridge(t, { shutdownGraceSeconds: 1 })

interface FullGet { status: number, declaredLength: number | undefined, body: Buffer, isComplete: boolean }

/** A signed GET that reports the declared Content-Length, the bytes received and whether the body ended cleanly. */
async function fullGet (path: string): Promise<FullGet> {
  const url = new URL(b.endpoint)
  const headers = await signHeaders(b.endpoint, b.creds, { method: 'GET', path })
  return new Promise(resolve => {
    const req = request({ host: url.hostname, port: Number(url.port), method: 'GET', path, headers }, res => {
      const chunks: Buffer[] = []
      const declared = res.headers['content-length']
      const done = (isComplete: boolean): void => resolve({ status: res.statusCode ?? 0, declaredLength: declared === undefined ? undefined : Number(declared), body: Buffer.concat(chunks), isComplete })
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => done(true))
      res.on('aborted', () => done(false))
      res.on('error', () => done(false))
    })
    req.on('error', () => resolve({ status: 0, declaredLength: undefined, body: Buffer.alloc(0), isComplete: false }))
    req.end()
  })
}

/** Writes a file the way a careful NFS client does: a temp name in the same folder, then rename. */
function nfsWriteAtomic (path: string, data: Buffer): void {
  const tmp = `${path}.nfs-${process.pid}-${Math.random().toString(36).slice(2)}`
  writeFileSync(tmp, data)
  chownSync(tmp, 2000, 2000)
  renameSync(tmp, path)
}

const SIZE = 256 * 1024
/** A version: a header naming it, then filler that depends on the writer, SIZE bytes in all. */
function version (i: number, source: 's3' | 'nfs'): Buffer {
  const head = Buffer.from(`v${i}-${source}\n`)
  return Buffer.concat([head, Buffer.alloc(SIZE - head.length, source === 's3' ? 'S' : 'N')])
}

function isWholeVersion (body: Buffer): boolean {
  const m = /^v(\d+)-(s3|nfs)\n/.exec(body.subarray(0, 32).toString('latin1'))
  return m !== null && body.equals(version(Number(m[1]), m[2] as 's3' | 'nfs'))
}

t.test('S3 PUTs and NFS writes racing on one key: every GET is one whole version', async t => {
  const key = 'raced'
  const path = join(b.bucketDir, key)
  await sendSigned(b.endpoint, b.creds, { method: 'PUT', path: `/demo/${key}`, body: version(0, 's3') })
  let bad = 0
  let gets = 0
  for (let i = 1; i <= 50; i++) {
    const results = await Promise.all([
      sendSigned(b.endpoint, b.creds, { method: 'PUT', path: `/demo/${key}`, body: version(i, 's3') }),
      (async () => { await sleep(i % 4); nfsWriteAtomic(path, version(i, 'nfs')) })(),
      fullGet(`/demo/${key}`),
      (async () => { await sleep(i % 3); return fullGet(`/demo/${key}`) })(),
    ])
    t.equal(results[0].status, 200, `iteration ${i}: PUT succeeds`)
    for (const got of [results[2], results[3]]) {
      gets++
      if (got.status !== 200 || !got.isComplete || got.declaredLength !== got.body.length || !isWholeVersion(got.body)) {
        bad++
        t.fail(`iteration ${i}: GET ${got.status}, ${got.body.length}/${got.declaredLength} bytes, starts ${JSON.stringify(got.body.subarray(0, 12).toString('latin1'))}`)
      }
    }
  }
  t.equal(bad, 0, `all ${gets} GETs returned a whole version`)
  const last = await fullGet(`/demo/${key}`)
  t.ok(isWholeVersion(last.body), 'the final object is a whole version')
})


t.test('folders renamed while they are listed: no key twice, never a 500', async t => {
  const root = join(b.bucketDir, 'tree')
  const names = ['d0', 'd1', 'd2', 'd3']
  for (const d of names) {
    mkdirSync(join(root, d), { recursive: true })
    for (let f = 0; f < 8; f++) writeFileSync(join(root, d, `f${f}`), 'x')
  }
  chownSync(root, 2000, 2000)
  let stop = false
  const renamer = (async () => {
    let n = 0
    while (!stop) {
      const d = names[n % names.length] ?? 'd0'
      const from = join(root, n % 8 < 4 ? d : `${d}-moved`)
      const to = join(root, n % 8 < 4 ? `${d}-moved` : d)
      try { renameSync(from, to) } catch {}
      n++
      await sleep(1)
    }
  })()
  let listings = 0
  for (let round = 0; round < 30; round++) {
    const seen = new Set<string>()
    let token: string | undefined
    for (let page = 0; page < 50; page++) {
      const q = `list-type=2&prefix=tree%2F&max-keys=5${token === undefined ? '' : `&continuation-token=${encodeURIComponent(token)}`}`
      const res = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: `/demo?${q}` })
      t.not(res.status, 500, `round ${round}: listing page is not a 500`)
      if (res.status !== 200) {
        t.fail(`round ${round} page ${page}: listing answered ${res.status} ${/<Code>[^<]*<\/Code>/.exec(res.body)?.[0] ?? ''}`)
        break
      }
      const keys = [...res.body.matchAll(/<Key>([^<]*)<\/Key>/g)].map(m => m[1] ?? '')
      for (const k of keys) {
        if (seen.has(k)) t.fail(`round ${round}: ${k} listed twice`)
        seen.add(k)
      }
      const sorted = [...keys].sort()
      t.same(keys, sorted, `round ${round}: page in order`)
      token = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(res.body)?.[1]
      if (!/<IsTruncated>true<\/IsTruncated>/.test(res.body)) break
    }
    listings++
  }
  stop = true
  await renamer
  t.equal(listings, 30, 'all listings completed')
  rmSync(root, { recursive: true, force: true })
})

t.test('a GET racing a delete is the whole object or 404, never a short 200', async t => {
  const data = Buffer.alloc(4 * 1024 * 1024, 'd')
  for (let i = 0; i < 20; i++) {
    const key = `doomed-${i}`
    await sendSigned(b.endpoint, b.creds, { method: 'PUT', path: `/demo/${key}`, body: data })
    const viaS3 = i % 2 === 0
    const [got] = await Promise.all([
      fullGet(`/demo/${key}`),
      (async () => {
        await sleep(i % 5)
        if (viaS3) await sendSigned(b.endpoint, b.creds, { method: 'DELETE', path: `/demo/${key}` })
        else try { unlinkSync(join(b.bucketDir, key)) } catch {}
      })(),
    ])
    const how = viaS3 ? 'S3 DELETE' : 'NFS unlink'
    t.ok(got.status === 200 || got.status === 404, `${how} ${i}: status ${got.status} is 200 or 404`)
    if (got.status === 200) {
      t.ok(got.isComplete && got.declaredLength === data.length && got.body.equals(data), `${how} ${i}: a 200 carries all ${data.length} bytes (got ${got.body.length}, declared ${got.declaredLength})`)
    }
  }
})
