// bridged as a process: SIGHUP reloads under a running upload, SIGTERM drains then cuts, stale temp files go at start.
import t from 'tap'
import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Credentials } from '../fixtures/daemon.js'
import { type BridgedProcess, openSignedRequest, seedState, signedRequest, sleep, spawnBridged, writeConfig } from '../fixtures/bridged-process.js'

const CHUNK_BYTES = 64 * 1024

async function setUp (t: Test, fields: Record<string, unknown>): Promise<{ dir: string, creds: Credentials, bucketDir: string, configPath: string, bridged: BridgedProcess }> {
  const dir = t.testdir({})
  const { creds, bucketDir } = await seedState(join(dir, 'state'), join(dir, 'data'))
  const configPath = writeConfig(dir, fields)
  const bridged = await spawnBridged(t, configPath)
  return { dir, creds, bucketDir, configPath, bridged }
}

const tmpFiles = (bucketDir: string): string[] => {
  const dir = join(bucketDir, '.s3bridge', 'tmp')
  return existsSync(dir) ? readdirSync(dir) : []
}

async function waitFor (check: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(20)) if (check()) return true
  return check()
}

t.test('SIGHUP during a streamed upload reloads the config and the upload completes', async t => {
  const { creds, bucketDir, configPath, bridged } = await setUp(t, { logLevel: 'info' })
  const body = randomBytes(8 * CHUNK_BYTES)
  const put = await openSignedRequest(bridged.endpoint, creds, { method: 'PUT', path: '/demo/slow.bin', contentLength: body.length })
  for (let i = 0; i < 4; i++) {
    put.req.write(body.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES))
    await sleep(50)
  }
  writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), logLevel: 'debug', baseDomains: ['s3.reloaded.test'] }))
  bridged.child.kill('SIGHUP')
  await bridged.waitForLine(/"msg":"reloaded"/)
  for (let i = 4; i < 8; i++) {
    put.req.write(body.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES))
    await sleep(50)
  }
  put.req.end()
  const res = await put.response
  t.equal(res.status, 200, 'the upload that spanned the reload succeeds')
  t.ok(readFileSync(join(bucketDir, 'slow.bin')).equals(body), 'the object holds every byte')
  const vhost = await signedRequest(bridged.endpoint, creds, { method: 'GET', path: '/slow.bin', host: 'demo.s3.reloaded.test' })
  t.equal(vhost.status, 200, 'a baseDomain added by the reload serves virtual-hosted requests')
  bridged.child.kill('SIGTERM')
  t.equal(await bridged.exited, 0)
})

t.test('SIGTERM lets an upload that ends within the grace period finish, then exits 0', async t => {
  const { creds, bucketDir, bridged } = await setUp(t, { shutdownGraceSeconds: 20 })
  const body = randomBytes(4 * CHUNK_BYTES)
  const put = await openSignedRequest(bridged.endpoint, creds, { method: 'PUT', path: '/demo/drained.bin', contentLength: body.length })
  put.req.write(body.subarray(0, 2 * CHUNK_BYTES))
  t.ok(await waitFor(() => tmpFiles(bucketDir).length > 0), 'the upload is streaming into the staging folder')
  bridged.child.kill('SIGTERM')
  await bridged.waitForLine(/"msg":"stopping"/)
  await sleep(300)
  put.req.end(body.subarray(2 * CHUNK_BYTES))
  t.equal((await put.response).status, 200)
  t.equal(await bridged.exited, 0)
  t.ok(readFileSync(join(bucketDir, 'drained.bin')).equals(body))
})

t.test('SIGTERM during an upload that outlives the grace period cuts it, removes its temp file and keeps the previous object', async t => {
  const { creds, bucketDir, bridged } = await setUp(t, { shutdownGraceSeconds: 1 })
  t.equal((await signedRequest(bridged.endpoint, creds, { method: 'PUT', path: '/demo/victim.txt', body: 'the previous object' })).status, 200)
  const put = await openSignedRequest(bridged.endpoint, creds, { method: 'PUT', path: '/demo/victim.txt', contentLength: 8 * CHUNK_BYTES })
  put.response.catch(() => undefined)
  put.req.on('error', () => undefined)
  put.req.write(randomBytes(CHUNK_BYTES))
  t.ok(await waitFor(() => tmpFiles(bucketDir).length > 0), 'the upload is streaming into the staging folder')
  const stoppedAt = Date.now()
  bridged.child.kill('SIGTERM')
  t.equal(await bridged.exited, 0, 'exit status 0')
  const tookMs = Date.now() - stoppedAt
  t.ok(tookMs >= 900, `waited for the grace period (${tookMs} ms)`)
  t.same(tmpFiles(bucketDir), [], 'no temp file is left in .s3bridge/tmp')
  t.equal(readFileSync(join(bucketDir, 'victim.txt'), 'utf8'), 'the previous object')
  t.ok(bridged.lines.some(l => l.includes('grace period over')), 'the cut is logged')
})

t.test('stale temp files are removed at start; recent ones and multipart uploads are kept', async t => {
  const dir = t.testdir({})
  const { bucketDir } = await seedState(join(dir, 'state'), join(dir, 'data'))
  const tmp = join(bucketDir, '.s3bridge', 'tmp')
  const uploads = join(bucketDir, '.s3bridge', 'uploads', 'someupload')
  mkdirSync(join(bucketDir, '.s3bridge'), { mode: 0o700 }) // as a crashed daemon left it (the daemon makes it 0700)
  mkdirSync(tmp, { recursive: true })
  mkdirSync(uploads, { recursive: true })
  const hourAgo = new Date(Date.now() - 3_600_000)
  for (const [path, isOld] of [[join(tmp, 'crashed'), true], [join(tmp, 'recent'), false], [join(uploads, 'part-00001'), true]] as const) {
    writeFileSync(path, 'x')
    if (isOld) utimesSync(path, hourAgo, hourAgo)
  }
  const bridged = await spawnBridged(t, writeConfig(dir, {}))
  t.same(readdirSync(tmp).sort(), ['recent'])
  t.ok(existsSync(join(uploads, 'part-00001')), 'the multipart uploads folder is not touched')
  bridged.child.kill('SIGTERM')
  t.equal(await bridged.exited, 0)
})

function childrenOf (pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

t.test('workers share the port, a killed worker is replaced, and SIGTERM stops them all', async t => {
  const { creds, bridged } = await setUp(t, { workers: 2, admin: { host: '127.0.0.1', port: 0 } })
  const pid = bridged.child.pid ?? 0
  t.ok(await waitFor(() => childrenOf(pid).length === 2), 'two workers run')
  for (let i = 0; i < 6; i++) {
    t.equal((await signedRequest(bridged.endpoint, creds, { method: 'PUT', path: `/demo/w${i}.txt`, body: `worker test ${i}` })).status, 200)
  }
  const [victim] = childrenOf(pid)
  process.kill(victim ?? 0, 'SIGKILL')
  await bridged.waitForLine(/worker died/)
  t.ok(await waitFor(() => childrenOf(pid).length === 2 && !childrenOf(pid).includes(victim ?? 0), 15_000), 'a new worker replaces it')
  // The replacement (or the second worker, if it was still starting when its sibling died) may take a
  // moment to listen: service must resume, so retry a refused connection for a few seconds.
  let got: Awaited<ReturnType<typeof signedRequest>> | undefined
  for (let i = 0; i < 100 && got === undefined; i++) {
    got = await signedRequest(bridged.endpoint, creds, { method: 'GET', path: '/demo/w3.txt' }).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNREFUSED') throw err
      await new Promise(resolve => setTimeout(resolve, 100))
      return undefined
    })
  }
  t.equal(got?.body, 'worker test 3', `status ${got?.status} body ${got?.body?.slice(0, 200)}`)
  // Every worker killed at once: the port was 0 in the config, and the replacements must listen on the
  // port the banner printed (the primary pins it), not on a new random one.
  const before = childrenOf(pid)
  for (const w of before) process.kill(w, 'SIGKILL')
  t.ok(await waitFor(() => childrenOf(pid).length === 2 && childrenOf(pid).every(w => !before.includes(w)), 20_000), 'both are replaced')
  got = undefined
  for (let i = 0; i < 150 && got === undefined; i++) {
    got = await signedRequest(bridged.endpoint, creds, { method: 'GET', path: '/demo/w4.txt' }).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNREFUSED') throw err
      await new Promise(resolve => setTimeout(resolve, 100))
      return undefined
    })
  }
  t.equal(got?.body, 'worker test 4', `after losing every worker the same endpoint serves again (status ${got?.status})`)
  const workers = childrenOf(pid)
  bridged.child.kill('SIGTERM')
  t.equal(await bridged.exited, 0)
  t.same(workers.filter(w => existsSync(`/proc/${w}/status`) && !readFileSync(`/proc/${w}/status`, 'utf8').includes('zombie')), [], 'no worker outlives the primary')
})
