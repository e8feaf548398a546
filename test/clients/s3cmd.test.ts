// s3cmd against a real bridge: bucket and object round-trips, sync, and the same over SigV2.
import t from 'tap'
import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { assertExitZero, hashTree, hasProgram, isolatedEnv, runClient, sampleTree, sha256, writeTree, type ClientResult } from '../fixtures/clients/run-client.js'

const S3CMD = '/usr/bin/s3cmd'

interface S3cmd { run (args: string[], opts?: { signatureV2?: boolean }): Promise<ClientResult>, work: string }

/** A bridge, a private s3cmd config pointing at it path-style over plain HTTP, and a runner. */
async function setup (t: Test): Promise<Bridge & S3cmd> {
  const bridge = await startBridge(t)
  const work = join(bridge.dir, 'client')
  mkdirSync(join(work, 'home'), { recursive: true })
  const host = new URL(bridge.endpoint).host
  const config = join(work, 's3cfg')
  writeFileSync(config, [
    '[default]',
    `access_key = ${bridge.creds.accessKeyId}`,
    `secret_key = ${bridge.creds.secretAccessKey}`,
    `host_base = ${host}`,
    `host_bucket = ${host}`,
    'bucket_location = us-east-1',
    'use_https = False',
    'signature_v2 = False',
    'check_ssl_certificate = False',
    'guess_mime_type = True',
    '',
  ].join('\n'))
  const run = (args: string[], opts: { signatureV2?: boolean } = {}): Promise<ClientResult> =>
    runClient(S3CMD, ['-c', config, ...(opts.signatureV2 === true ? ['--signature-v2'] : []), ...args],
      { env: isolatedEnv(join(work, 'home')), cwd: work })
  return { ...bridge, run, work }
}

/** mb, put, ls, la, info, get, del and rb in one pass, so the same scenario runs under SigV4 and SigV2. */
async function roundTrip (t: Test, opts: { signatureV2: boolean }): Promise<void> {
  const { run, work, config } = await setup(t)
  const ok = async (args: string[]): Promise<string> => {
    const r = await run(args, opts)
    assertExitZero(t, r, `s3cmd ${args.join(' ')}`)
    return r.stdout
  }
  const data = randomBytes(256 * 1024)
  writeFileSync(join(work, 'up.bin'), data)
  await ok(['mb', 's3://fresh'])
  t.ok(existsSync(join(config.rootPath, 'fresh')), 'the bucket is a directory under the root path')
  await ok(['put', join(work, 'up.bin'), 's3://fresh/dir/up.bin'])
  const listed = await run(['-d', 'ls'], opts)
  assertExitZero(t, listed, 's3cmd listed')
  t.match(listed.stdout, /s3:\/\/fresh\n/)
  t.match(listed.stderr, opts.signatureV2 ? /Using signature v2/ : /AWS4-HMAC-SHA256/, 'the client really signed with the scheme under test')
  t.match(await ok(['ls', 's3://fresh/']), /DIR\s+s3:\/\/fresh\/dir\/\n/)
  t.match(await ok(['ls', 's3://fresh/dir/']), /262144\s+s3:\/\/fresh\/dir\/up\.bin\n/)
  t.match(await ok(['la']), /DIR\s+s3:\/\/fresh\/dir\/\n/, 'la shows every bucket')
  t.match(await ok(['la', '-r']), /262144\s+s3:\/\/fresh\/dir\/up\.bin\n/)
  const info = await ok(['info', 's3://fresh/dir/up.bin'])
  t.match(info, /File size:\s+262144/)
  t.match(info, /MD5 sum:\s+[0-9a-f]{32}/)
  await ok(['get', 's3://fresh/dir/up.bin', join(work, 'down.bin')])
  t.equal(sha256(readFileSync(join(work, 'down.bin'))), sha256(data))
  const failing = await run(['rb', 's3://fresh'], opts)
  t.not(failing.code, 0, 'a bucket with objects is not removed')
  t.match(failing.stderr, /BucketNotEmpty/)
  await ok(['del', 's3://fresh/dir/up.bin'])
  t.equal((await ok(['ls', '-r', 's3://fresh/'])).trim(), '')
  await ok(['rb', 's3://fresh'])
  t.notMatch(await ok(['ls']), /fresh/)
}

if (!hasProgram(S3CMD)) {
  t.plan(0, 's3cmd is not installed at /usr/bin/s3cmd')
} else {
  t.test('s3cmd mb, put, ls, la, info, get, del and rb round-trip under SigV4', t => roundTrip(t, { signatureV2: false }))

  t.test('s3cmd mb, put, ls, la, info, get, del and rb round-trip under SigV2', t => roundTrip(t, { signatureV2: true }))

  t.test('s3cmd sync uploads a tree, finds nothing to do the second time, and downloads it back', async t => {
    const { run, work, bucketDir } = await setup(t)
    const src = join(work, 'src')
    writeTree(src, sampleTree())
    const first = await run(['sync', '--no-progress', `${src}/`, 's3://demo/tree/'])
    assertExitZero(t, first, 's3cmd first')
    t.same(hashTree(join(bucketDir, 'tree')), hashTree(src))
    const second = await run(['sync', '--no-progress', '--stats', `${src}/`, 's3://demo/tree/'])
    assertExitZero(t, second, 's3cmd second')
    t.notMatch(second.stdout, /upload:/, 'nothing is uploaded again')
    t.match(second.stdout, /Done\. Uploaded 0 bytes/)
    const dst = join(work, 'dst')
    mkdirSync(dst)
    const down = await run(['sync', '--no-progress', 's3://demo/tree/', `${dst}/`])
    assertExitZero(t, down, 's3cmd down')
    t.same(hashTree(dst), hashTree(src))
  })
}
