// restic (a backup client built on minio-go) against a real bridge: a NAS's S3 export is a natural backup target.
// init, two backups, check --read-data, restore compared byte for byte, forget --prune, check again; the repository
// is plain files owned by the key's user, and restic's lock objects are gone after every command.
import t from 'tap'
import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { assertExitZero, hashTree, hasProgram, isolatedEnv, runClient, sampleTree, writeTree, type ClientResult } from '../fixtures/clients/run-client.js'

const RESTIC = '/usr/bin/restic'

interface Restic { run (args: string[]): Promise<ClientResult>, src: string, repoDir: string, work: string }

async function setup (t: Test): Promise<Bridge & Restic> {
  const bridge = await startBridge(t)
  const work = join(bridge.dir, 'restic')
  mkdirSync(join(work, 'home'), { recursive: true })
  const src = join(work, 'src')
  writeTree(src, { ...sampleTree(), 'big.bin': randomBytes(12 * 1024 * 1024), 'empty.txt': '' })
  const env = isolatedEnv(join(work, 'home'), {
    RESTIC_REPOSITORY: `s3:${bridge.endpoint}/demo/backups/restic`,
    RESTIC_PASSWORD: 'correct horse battery staple',
    AWS_ACCESS_KEY_ID: bridge.creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: bridge.creds.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    RESTIC_CACHE_DIR: join(work, 'cache'),
  })
  const run = (args: string[]): Promise<ClientResult> => runClient(RESTIC, args, { env, cwd: work, timeoutMs: 180_000 })
  return { ...bridge, run, src, repoDir: join(bridge.bucketDir, 'backups', 'restic'), work }
}

/** Every regular file under dir, relative to it. */
function filesUnder (dir: string): string[] {
  if (!existsSync(dir)) return []
  const out: string[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name))
      else out.push(relative(dir, join(d, e.name)))
    }
  }
  walk(dir)
  return out
}

if (!hasProgram(RESTIC)) {
  t.plan(0, 'restic is not installed at /usr/bin/restic')
} else {
  t.test('restic backs up to the bridge, verifies every byte, restores identical files and prunes', async t => {
    const { run, src, repoDir, work } = await setup(t)
    assertExitZero(t, await run(['init']), 'restic init')
    t.ok(existsSync(join(repoDir, 'config')), 'the repository is plain files in the bucket directory')

    assertExitZero(t, await run(['backup', src]), 'first backup')
    writeFileSync(join(src, 'added later.txt'), 'second snapshot only\n')
    assertExitZero(t, await run(['backup', src]), 'second backup')
    const snapshots = await run(['snapshots', '--json'])
    assertExitZero(t, snapshots, 'snapshots')
    t.equal((JSON.parse(snapshots.stdout) as unknown[]).length, 2, 'two snapshots listed back')

    const check = await run(['check', '--read-data'])
    assertExitZero(t, check, 'check --read-data')
    t.match(check.stdout, /no errors were found/)

    const target = join(work, 'restored')
    assertExitZero(t, await run(['restore', 'latest', '--target', target]), 'restore')
    t.same(hashTree(join(target, src)), hashTree(src), 'restored tree is byte-identical, empty file included')

    // Files the bridge wrote are the key's user's (uid 2000 in the fixture), as if that user had written them over NFS.
    const owners = new Set(filesUnder(repoDir).map(f => statSync(join(repoDir, f)).uid))
    t.same([...owners], [2000], 'every repository file is owned by the key\'s user')

    assertExitZero(t, await run(['forget', '--keep-last', '1', '--prune']), 'forget --prune (deletes and rewrites packs)')
    const after = await run(['snapshots', '--json'])
    t.equal((JSON.parse(after.stdout) as unknown[]).length, 1, 'one snapshot left')
    const recheck = await run(['check', '--read-data'])
    assertExitZero(t, recheck, 'check after prune')
    t.match(recheck.stdout, /no errors were found/)
    t.same(filesUnder(join(repoDir, 'locks')), [], 'no lock object left behind')
  })

}
