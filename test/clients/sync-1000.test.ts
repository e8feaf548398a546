// 1,000 files synced up and down with `aws s3 sync` and `rclone sync`: the second run each way must find
// nothing to do, which holds only if sizes, ETags and modification times are coherent between runs.
import t from 'tap'
import type { Test } from 'tap'
import { mkdirSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { assertExitZero, awsEnv, hashTree, hasProgram, runClient, writeTree, type ClientResult, rcloneEnv } from '../fixtures/clients/run-client.js'

const AWS = '/usr/bin/aws'
const RCLONE = '/usr/bin/rclone'
const FILES = 1000

/** 1,000 small files in 10 × 10 folders; every 97th name has unicode or spaces, and a few folders do too. */
function thousandFiles (): Record<string, Buffer> {
  const odd = ['ünïcödé', 'with space', '日本語', 'emoji 🚀', 'plus+and%']
  const files: Record<string, Buffer> = {}
  for (let i = 0; i < FILES; i++) {
    const top = i % 10 === 7 ? `top ${i % 10} ä` : `top-${i % 10}`
    const mid = Math.floor(i / 10) % 10 === 3 ? `mid-${Math.floor(i / 10) % 10}-ß` : `mid-${Math.floor(i / 10) % 10}`
    const name = i % 97 === 0 ? `${odd[(i / 97) % odd.length] ?? 'x'} ${i}.txt` : `file-${String(i).padStart(4, '0')}.dat`
    // Sizes from 0 to about 3 KiB, so some files are empty and sizes alone do not identify a file.
    files[`${top}/${mid}/${name}`] = Buffer.from(`file ${i}\n`.repeat(i % 300))
  }
  return files
}

interface SyncSetup { run (args: string[]): Promise<ClientResult>, src: string, dst: string }

/** A bridge, a 1,000-file source tree, an empty download folder, and `run` for one client program. */
async function setup (t: Test, client: 'aws' | 'rclone'): Promise<Bridge & SyncSetup> {
  const bridge = await startBridge(t)
  const work = join(bridge.dir, 'client')
  const home = join(work, 'home')
  mkdirSync(home, { recursive: true })
  const src = join(work, 'src')
  const dst = join(work, 'dst')
  writeTree(src, thousandFiles())
  // Files that exist before the sync, as in real use: S3's Last-Modified has whole seconds, and a file written in
  // the second it is uploaded in looks newer than its copy to `aws s3 sync` (on AWS too), which then uploads it
  // again. Under a loaded machine that hit the last files written (CI, stop 21).
  const past = new Date(Date.now() - 3600_000)
  for (const rel of Object.keys(thousandFiles())) utimesSync(join(src, rel), past, past)
  mkdirSync(dst)
  if (client === 'aws') {
    const env = awsEnv(home, bridge.creds)
    const run = (args: string[]): Promise<ClientResult> =>
      runClient(AWS, ['--endpoint-url', bridge.endpoint, '--no-cli-pager', '--no-progress', ...args], { env, cwd: work, timeoutMs: 180_000 })
    return { ...bridge, run, src, dst }
  }
  const env = rcloneEnv(home, join(work, 'rclone.conf'), bridge.endpoint, bridge.creds)
  // -v logs one "Copied" line per transfer; no retries, so a failure is seen rather than papered over.
  const run = (args: string[]): Promise<ClientResult> =>
    runClient(RCLONE, [...args, '-v', '--stats', '1h', '--transfers', '8', '--checkers', '8', '--retries', '1', '--low-level-retries', '1'],
      { env, cwd: work, timeoutMs: 180_000 })
  return { ...bridge, run, src, dst }
}

/**
 * The first upload. Its 10 (CLI) or 8 (rclone) parallel PUTs into 100 new folders are also the regression test
 * for the new-folder race fixed in fededbe (1 to 2 PUTs in 100 used to get 404 NoSuchKey).
 */
async function firstUpload (t: Test, sync: () => Promise<ClientResult>, count: (r: ClientResult) => number): Promise<void> {
  const r = await sync()
  assertExitZero(t, r, 'first sync up')
  t.equal(count(r), FILES, 'every file is uploaded by the first sync')
}

const lines = (out: string, marker: string): string[] => out.split('\n').filter(l => l.startsWith(marker))
/** rclone's "INFO  : path: Copied (new)" / "(replaced existing)" lines, one per file transferred. */
const copied = (stderr: string): string[] => stderr.split('\n').filter(l => /: Copied \(/.test(l))

if (!hasProgram(AWS)) {
  t.test('aws s3 sync of 1,000 files', { skip: 'AWS CLI v2 is not installed at /usr/bin/aws' }, async () => {})
} else {
  t.test('aws s3 sync moves 1,000 files up and down once, and the second run each way does nothing', async t => {
    const { run, src, dst, bucketDir } = await setup(t, 'aws')
    const want = hashTree(src)
    t.equal(Object.keys(want).length, FILES)

    await firstUpload(t, () => run(['s3', 'sync', src, 's3://demo/tree']), r => lines(r.stdout, 'upload:').length)
    t.same(hashTree(join(bucketDir, 'tree')), want, 'the bucket directory holds the same tree')

    const again = await run(['s3', 'sync', src, 's3://demo/tree'])
    assertExitZero(t, again, 'second sync up')
    t.same(lines(again.stdout, 'upload:'), [], 'the second sync up uploads nothing')

    const down = await run(['s3', 'sync', 's3://demo/tree', dst])
    assertExitZero(t, down, 'first sync down')
    t.equal(lines(down.stdout, 'download:').length, FILES, 'every file is downloaded')
    t.same(hashTree(dst), want, 'the downloaded tree equals the source')

    const downAgain = await run(['s3', 'sync', 's3://demo/tree', dst])
    assertExitZero(t, downAgain, 'second sync down')
    t.same(lines(downAgain.stdout, 'download:'), [], 'the second sync down downloads nothing')
  })
}

if (!hasProgram(RCLONE)) {
  t.test('rclone sync of 1,000 files', { skip: 'rclone is not installed at /usr/bin/rclone' }, async () => {})
} else {
  t.test('rclone sync moves 1,000 files up and down once, and the second run each way transfers nothing', async t => {
    const { run, src, dst, bucketDir } = await setup(t, 'rclone')
    const want = hashTree(src)

    await firstUpload(t, () => run(['sync', src, 'bridge:demo/tree']), r => copied(r.stderr).length)
    t.same(hashTree(join(bucketDir, 'tree')), want, 'the bucket directory holds the same tree')

    const again = await run(['sync', src, 'bridge:demo/tree'])
    assertExitZero(t, again, 'second sync up')
    t.same(copied(again.stderr), [], 'the second sync up copies nothing')
    t.match(again.stderr, /There was nothing to transfer/)
    t.match(again.stderr, new RegExp(`Checks:\\s+${FILES} / ${FILES}, 100%`), 'every file is checked')

    const check = await run(['check', src, 'bridge:demo/tree'])
    assertExitZero(t, check, 'rclone check')
    t.match(check.stderr, new RegExp(`${FILES} matching files`), 'sizes and MD5s (ETags) agree for every file')

    const down = await run(['sync', 'bridge:demo/tree', dst])
    assertExitZero(t, down, 'first sync down')
    t.equal(copied(down.stderr).length, FILES, 'every file is downloaded')
    t.same(hashTree(dst), want, 'the downloaded tree equals the source')

    const downAgain = await run(['sync', 'bridge:demo/tree', dst])
    assertExitZero(t, downAgain, 'second sync down')
    t.same(copied(downAgain.stderr), [], 'the second sync down copies nothing')
    t.match(downAgain.stderr, /There was nothing to transfer/)
  })
}
