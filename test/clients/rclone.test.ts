// rclone against a real bridge: copy up, check by size and hash, sync twice, lsf and delete.
import t from 'tap'
import type { Test } from 'tap'
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { assertExitZero, hashTree, hasProgram, isolatedEnv, runClient, sampleTree, writeTree, type ClientResult } from '../fixtures/clients/run-client.js'

const RCLONE = '/usr/bin/rclone'

interface Rclone { run (args: string[]): Promise<ClientResult>, work: string, src: string }

/** A bridge, a remote "bridge:" configured only through environment variables, and a local source tree. */
async function setup (t: Test): Promise<Bridge & Rclone> {
  const bridge = await startBridge(t)
  const work = join(bridge.dir, 'client')
  mkdirSync(join(work, 'home'), { recursive: true })
  writeFileSync(join(work, 'rclone.conf'), '')
  const src = join(work, 'src')
  writeTree(src, sampleTree())
  const env = isolatedEnv(join(work, 'home'), {
    RCLONE_CONFIG: join(work, 'rclone.conf'),
    RCLONE_CONFIG_BRIDGE_TYPE: 's3',
    RCLONE_CONFIG_BRIDGE_PROVIDER: 'Other',
    RCLONE_CONFIG_BRIDGE_ENDPOINT: bridge.endpoint,
    RCLONE_CONFIG_BRIDGE_ACCESS_KEY_ID: bridge.creds.accessKeyId,
    RCLONE_CONFIG_BRIDGE_SECRET_ACCESS_KEY: bridge.creds.secretAccessKey,
    RCLONE_CONFIG_BRIDGE_REGION: 'us-east-1',
    RCLONE_CONFIG_BRIDGE_FORCE_PATH_STYLE: 'true',
  })
  // No retries, so a failure is seen rather than papered over; rclone's default parallel transfers.
  const run = (args: string[]): Promise<ClientResult> =>
    runClient(RCLONE, [...args, '--retries', '1', '--low-level-retries', '1'], { env, cwd: work })
  return { ...bridge, run, work, src }
}

/** The "Transferred: N / M" file count from rclone's final stats block. */
function transferredFiles (stats: string): number | undefined {
  const m = /Transferred:\s+(\d+) \/ \d+, /.exec(stats)
  return m === null ? undefined : Number(m[1])
}

if (!hasProgram(RCLONE)) {
  t.plan(0, 'rclone is not installed at /usr/bin/rclone')
} else {
  t.test('rclone copy uploads a tree that rclone check then finds identical by size and MD5', async t => {
    const { run, src, bucketDir } = await setup(t)
    const copy = await run(['copy', src, 'bridge:demo/tree'])
    assertExitZero(t, copy, 'rclone copy')
    t.same(hashTree(join(bucketDir, 'tree')), hashTree(src))
    const check = await run(['check', src, 'bridge:demo/tree'])
    assertExitZero(t, check, 'rclone check')
    t.match(check.stderr, /0 differences found/)
    t.match(check.stderr, /20 matching files/)
    t.notMatch(check.stderr, /hashes could not be checked/, 'the ETag works as an MD5 for bridge-written objects')
    writeFileSync(join(bucketDir, 'tree/top.txt'), 'changed over NFS, same length?')
    const changed = await run(['check', src, 'bridge:demo/tree'])
    t.not(changed.code, 0, 'a file changed behind rclone is reported')
    t.match(changed.stderr, /1 differences found/)
  })

  t.test('rclone sync transfers everything once, then nothing, then only what changed', async t => {
    const { run, src } = await setup(t)
    const first = await run(['sync', src, 'bridge:demo/mirror', '--stats-log-level', 'NOTICE', '--stats', '1h'])
    assertExitZero(t, first, 'rclone first')
    t.equal(transferredFiles(first.stderr), 20, 'the first sync uploads all 20 files')
    const second = await run(['sync', src, 'bridge:demo/mirror', '--stats-log-level', 'NOTICE', '--stats', '1h'])
    assertExitZero(t, second, 'rclone second')
    t.equal(transferredFiles(second.stderr) ?? 0, 0, 'the second sync uploads nothing')
    t.match(second.stderr, /Checks:\s+20 \/ 20/)
    writeFileSync(join(src, 'a/one.txt'), 'edited locally')
    unlinkSync(join(src, 'z/last.txt'))
    const third = await run(['sync', src, 'bridge:demo/mirror', '--stats-log-level', 'NOTICE', '--stats', '1h'])
    assertExitZero(t, third, 'rclone third')
    t.equal(transferredFiles(third.stderr), 1, 'only the edited file is uploaded')
    t.match(third.stderr, /Deleted:\s+1 \(files\)/)
    const check = await run(['check', src, 'bridge:demo/mirror'])
    assertExitZero(t, check, 'rclone check')
  })

  t.test('rclone lsf lists names, folders and recursive paths in byte order', async t => {
    const { run, src } = await setup(t)
    t.equal((await run(['copy', src, 'bridge:demo/tree'])).code, 0)
    const top = await run(['lsf', 'bridge:demo/tree/a'])
    assertExitZero(t, top, 'rclone top')
    t.same(top.stdout.trim().split('\n'), ['b/', 'one.txt'])
    const all = await run(['lsf', '-R', '--files-only', 'bridge:demo/tree'])
    assertExitZero(t, all, 'rclone all')
    const expected = Object.keys(sampleTree()).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    t.same(all.stdout.trim().split('\n').sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))), expected)
    const sized = await run(['lsf', '--format', 'ps', 'bridge:demo/tree/a'])
    t.match(sized.stdout, /^one\.txt;\d+$/m)
  })

  t.test('rclone delete and deletefile remove objects and leave no empty folders behind', async t => {
    const { run, src, bucketDir } = await setup(t)
    t.equal((await run(['copy', src, 'bridge:demo/tree'])).code, 0)
    const one = await run(['deletefile', 'bridge:demo/tree/top.txt'])
    assertExitZero(t, one, 'rclone one')
    const del = await run(['delete', 'bridge:demo/tree/a'])
    assertExitZero(t, del, 'rclone del')
    const left = await run(['lsf', '-R', '--files-only', 'bridge:demo/tree'])
    t.notMatch(left.stdout, /^top\.txt$|^a\//m)
    t.equal(left.stdout.trim().split('\n').length, 16, 'the other 16 files remain')
    const rest = await run(['delete', 'bridge:demo/tree'])
    assertExitZero(t, rest, 'rclone rest')
    t.same(hashTree(bucketDir), {}, 'no files remain in the bucket directory')
  })
}
