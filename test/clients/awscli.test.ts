// AWS CLI v2 (/usr/bin/aws) against a real bridge: high-level s3 commands, s3api operations, presigning and errors.
import t from 'tap'
import type { Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { startBridge, type Bridge, type Credentials } from '../fixtures/daemon.js'
import { assertExitZero, awsEnv, hashTree, hasProgram, runClient, sampleTree, sha256, writeTree, type ClientResult } from '../fixtures/clients/run-client.js'

const AWS = '/usr/bin/aws'

interface Cli { run (args: string[], creds?: Credentials): Promise<ClientResult>, json (args: string[]): Promise<unknown>, work: string }

/** A bridge plus a function that runs the CLI against it with an isolated HOME. */
async function setup (t: Test): Promise<Bridge & Cli> {
  const bridge = await startBridge(t)
  // t.testdir() again would wipe the bridge's own directory, so client files live beside it.
  const work = join(bridge.dir, 'client')
  mkdirSync(join(work, 'home'), { recursive: true })
  mkdirSync(join(work, 'work'), { recursive: true })
  const home = join(work, 'home')
  const env = (creds: Credentials): Record<string, string> =>
    awsEnv(home, creds)
  const run = (args: string[], creds: Credentials = bridge.creds): Promise<ClientResult> =>
    runClient(AWS, ['--endpoint-url', bridge.endpoint, '--no-cli-pager', ...args], { env: env(creds), cwd: join(work, 'work') })
  const json = async (args: string[]): Promise<unknown> => {
    const r = await run([...args, '--output', 'json'])
    if (r.code !== 0) throw new Error(`aws ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return r.stdout.trim() === '' ? undefined : JSON.parse(r.stdout)
  }
  return { ...bridge, run, json, work: join(work, 'work') }
}


const keysOf = (v: unknown): string[] =>
  ((v as { Contents?: Array<{ Key: string }> } | undefined)?.Contents ?? []).map(c => c.Key)

// Each test has its own bridge, and the CLI spends most of its time starting Python, so run a few at once.
t.jobs = 4

if (!hasProgram(AWS)) {
  t.plan(0, 'AWS CLI v2 is not installed at /usr/bin/aws')
} else {
  t.test('aws s3 cp uploads and downloads a file byte for byte', async t => {
    const { run, work, bucketDir } = await setup(t)
    const data = randomBytes(3 * 1024 * 1024 + 17)
    writeFileSync(join(work, 'up.bin'), data)
    const up = await run(['s3', 'cp', join(work, 'up.bin'), 's3://demo/dir/up.bin'])
    assertExitZero(t, up, 'awscli up')
    t.equal(sha256(readFileSync(join(bucketDir, 'dir/up.bin'))), sha256(data), 'the file in the bucket directory matches')
    const down = await run(['s3', 'cp', 's3://demo/dir/up.bin', join(work, 'down.bin')])
    assertExitZero(t, down, 'awscli down')
    t.equal(sha256(readFileSync(join(work, 'down.bin'))), sha256(data))
  })

  t.test('aws s3 cp of a 12 MiB file goes through multipart upload and round-trips', {
  }, async t => {
    const { run, work } = await setup(t)
    const data = randomBytes(12 * 1024 * 1024)
    writeFileSync(join(work, 'big.bin'), data)
    const up = await run(['s3', 'cp', join(work, 'big.bin'), 's3://demo/big.bin'])
    assertExitZero(t, up, 'awscli up')
    const down = await run(['s3', 'cp', 's3://demo/big.bin', join(work, 'big.down')])
    assertExitZero(t, down, 'awscli down')
    t.equal(sha256(readFileSync(join(work, 'big.down'))), sha256(data))
  })

  t.test('aws s3 ls lists prefixes as PRE, and every key with --recursive', async t => {
    const { run, s3 } = await setup(t)
    for (const key of ['top.txt', 'a/one.txt', 'a/b/two.txt', 'c/three.txt']) {
      await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: key, Body: key }))
    }
    const [buckets, flat, sub, deep] = await Promise.all([
      run(['s3', 'ls']), run(['s3', 'ls', 's3://demo/']), run(['s3', 'ls', 's3://demo/a/']), run(['s3', 'ls', '--recursive', 's3://demo/']),
    ])
    assertExitZero(t, buckets, 'awscli buckets')
    t.match(buckets.stdout, /\bdemo\n/)
    assertExitZero(t, flat, 'awscli flat')
    t.match(flat.stdout, /^\s+PRE a\/$/m)
    t.match(flat.stdout, /^\s+PRE c\/$/m)
    t.match(flat.stdout, /\s7 top\.txt$/m)
    t.notMatch(flat.stdout, /one\.txt/)
    t.match(sub.stdout, /^\s+PRE b\/$/m)
    t.match(sub.stdout, /\s9 one\.txt$/m)
    assertExitZero(t, deep, 'awscli deep')
    const keys = deep.stdout.trim().split('\n').map(l => l.split(/\s+/).slice(3).join(' '))
    t.same(keys, ['a/b/two.txt', 'a/one.txt', 'c/three.txt', 'top.txt'], 'keys come back in byte order')
  })

  t.test('aws s3 sync uploads a tree, then finds nothing to do, then downloads an identical tree', async t => {
    const { run, work, bucketDir } = await setup(t)
    const src = join(work, 'src')
    writeTree(src, sampleTree())
    const first = await run(['s3', 'sync', src, 's3://demo/tree'])
    assertExitZero(t, first, 'awscli first')
    t.equal(first.stdout.split('\n').filter(l => l.includes('upload:')).length, 20, 'all 20 files upload')
    t.same(hashTree(join(bucketDir, 'tree')), hashTree(src), 'the bucket directory holds the same tree')
    const second = await run(['s3', 'sync', src, 's3://demo/tree'])
    assertExitZero(t, second, 'awscli second')
    t.equal(second.stdout.trim(), '', 'the second sync transfers nothing')
    const dst = join(work, 'dst')
    mkdirSync(dst)
    const down = await run(['s3', 'sync', 's3://demo/tree', dst])
    assertExitZero(t, down, 'awscli down')
    t.same(hashTree(dst), hashTree(src))
  })

  t.test('aws s3 sync --exact-timestamps downloads an unchanged tree once, then finds nothing to do', async t => {
    const { run, work, bucketDir } = await setup(t)
    const src = join(work, 'src')
    writeTree(src, { 'a.txt': 'a', 'sub/b.txt': 'b' })
    assertExitZero(t, await run(['s3', 'sync', src, 's3://demo/tree']), 'awscli up')
    // File times with milliseconds, as NFS writers leave them; S3 times are whole seconds.
    for (const rel of ['a.txt', 'sub/b.txt']) utimesSync(join(bucketDir, 'tree', rel), 1_700_000_000.274, 1_700_000_000.274)
    const dst = join(work, 'dst')
    mkdirSync(dst)
    const first = await run(['s3', 'sync', '--exact-timestamps', 's3://demo/tree', dst])
    assertExitZero(t, first, 'awscli first download')
    t.equal(first.stdout.split('\n').filter(l => l.includes('download:')).length, 2, 'both files download')
    const second = await run(['s3', 'sync', '--exact-timestamps', 's3://demo/tree', dst])
    assertExitZero(t, second, 'awscli second download')
    t.equal(second.stdout.trim(), '', 'the second sync transfers nothing')
  })

  t.test('aws s3 sync with its default 10 parallel uploads into new folders never gets AccessDenied', {
  }, async t => {
    const { run, work } = await setup(t)
    const src = join(work, 'src')
    writeTree(src, sampleTree())
    for (const prefix of ['one', 'two/deeper', 'three/x/y']) {
      const r = await run(['s3', 'sync', src, `s3://demo/${prefix}`])
      assertExitZero(t, r, `aws s3 sync into ${prefix}/`)
      t.notMatch(r.stderr, /AccessDenied/)
    }
  })

  t.test('aws s3 rm --recursive deletes every key under a prefix', async t => {
    const { run, s3, bucketDir } = await setup(t)
    for (const key of ['keep.txt', 'gone/a.txt', 'gone/b/c.txt', 'gone/b/d.txt']) {
      await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: key, Body: key }))
    }
    const rm = await run(['s3', 'rm', '--recursive', 's3://demo/gone/'])
    assertExitZero(t, rm, 'awscli rm')
    t.equal(rm.stdout.split('\n').filter(l => l.startsWith('delete:')).length, 3)
    const left = await run(['s3', 'ls', '--recursive', 's3://demo/'])
    t.match(left.stdout.trim(), /^\S+ \S+\s+8 keep\.txt$/)
    t.same(readdirSync(bucketDir).filter(n => n !== '.s3bridge'), ['keep.txt'], 'the folders the bridge made are gone too')
  })

  t.test('aws s3 rm --recursive removes folder markers too, so aws s3 rb then succeeds', async t => {
    const { run, bucketDir } = await setup(t)
    assertExitZero(t, await run(['s3api', 'create-bucket', '--bucket', 'scratch']), 'create-bucket')
    for (const key of ['x/', 'x/y', 'x/sub/']) assertExitZero(t, await run(['s3api', 'put-object', '--bucket', 'scratch', '--key', key]), `put ${key}`)
    const rm = await run(['s3', 'rm', '--recursive', 's3://scratch/x/'])
    assertExitZero(t, rm, 'awscli rm')
    t.equal(rm.stdout.split('\n').filter(l => l.startsWith('delete:')).length, 3, 'the markers x/ and x/sub/ and the key x/y')
    assertExitZero(t, await run(['s3', 'rb', 's3://scratch']), 'the bucket is empty')
    t.ok(bucketDir)
  })

  t.test('aws s3api put-object, head-object, get-object and copy-object round-trip body, type, metadata and ETag', async t => {
    const { run, json, work } = await setup(t)
    writeFileSync(join(work, 'body.txt'), 'api body\n')
    const put = await json(['s3api', 'put-object', '--bucket', 'demo', '--key', 'api/one.txt', '--body', join(work, 'body.txt'),
      '--content-type', 'text/plain', '--metadata', 'color=blue']) as { ETag: string }
    t.equal(put.ETag, `"${createHash('md5').update('api body\n').digest('hex')}"`)
    const head = await json(['s3api', 'head-object', '--bucket', 'demo', '--key', 'api/one.txt']) as Record<string, unknown>
    t.match(head, { ContentLength: 9, ContentType: 'text/plain', ETag: put.ETag, Metadata: { color: 'blue' } })
    const get = await json(['s3api', 'get-object', '--bucket', 'demo', '--key', 'api/one.txt', join(work, 'out.txt')]) as Record<string, unknown>
    t.match(get, { ContentLength: 9, ETag: put.ETag })
    t.equal(readFileSync(join(work, 'out.txt'), 'utf8'), 'api body\n')
    const copy = await json(['s3api', 'copy-object', '--bucket', 'demo', '--key', 'api/two.txt', '--copy-source', 'demo/api/one.txt']) as { CopyObjectResult: { ETag: string } }
    t.equal(copy.CopyObjectResult.ETag, put.ETag)
    const copied = await json(['s3api', 'head-object', '--bucket', 'demo', '--key', 'api/two.txt']) as Record<string, unknown>
    t.match(copied, { ContentLength: 9, ContentType: 'text/plain', Metadata: { color: 'blue' } }, 'copy keeps type and metadata by default')
    const missing = await run(['s3api', 'head-object', '--bucket', 'demo', '--key', 'api/none.txt'])
    t.not(missing.code, 0)
    t.match(missing.stderr, /404|Not Found/)
  })

  t.test('aws s3api delete-objects deletes several keys and reports missing ones as deleted', {
  }, async t => {
    const { run, json, s3 } = await setup(t)
    for (const key of ['api/one.txt', 'api/two.txt']) await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: key, Body: key }))
    const del = await json(['s3api', 'delete-objects', '--bucket', 'demo', '--delete',
      JSON.stringify({ Objects: [{ Key: 'api/one.txt' }, { Key: 'api/two.txt' }, { Key: 'api/never.txt' }] })]) as { Deleted: Array<{ Key: string }> }
    t.same(del.Deleted.map(d => d.Key).sort(), ['api/never.txt', 'api/one.txt', 'api/two.txt'])
    const after = await run(['s3api', 'head-object', '--bucket', 'demo', '--key', 'api/two.txt'])
    t.not(after.code, 0)
    t.match(after.stderr, /404|Not Found/)
  })

  t.test('aws s3api list-objects and list-objects-v2 paginate 7 keys two at a time', async t => {
    const { json, s3, logLines } = await setup(t)
    const keys = ['k/1', 'k/2', 'k/3', 'k/4', 'k/5', 'k/6', 'k/7']
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: key, Body: key }))
    // The two operations run side by side; each is told apart in the access log by its name.
    await Promise.all(([['list-objects', 'ListObjects'], ['list-objects-v2', 'ListObjectsV2']] as const).map(async ([op, name]) => {
      const before = logLines.length
      const all = await json(['s3api', op, '--bucket', 'demo', '--prefix', 'k/', '--page-size', '2'])
      t.same(keysOf(all), keys, `${op} --page-size 2 gathers all keys`)
      const requests = logLines.slice(before).filter(l => l.includes(`"operation":"${name}"`)).length
      t.equal(requests, 4, `${op} fetched 4 pages of at most 2 keys`)
      const paged: string[] = ['s3api', op, '--bucket', 'demo', '--prefix', 'k/', '--page-size', '2', '--max-items', '3']
      const page1 = await json(paged) as { NextToken?: string }
      t.same(keysOf(page1), keys.slice(0, 3), `${op} first 3 items`)
      t.type(page1.NextToken, 'string')
      const page2 = await json([...paged, '--starting-token', String(page1.NextToken)]) as { NextToken?: string }
      t.same(keysOf(page2), keys.slice(3, 6), `${op} next 3 items`)
      const page3 = await json([...paged, '--starting-token', String(page2.NextToken)]) as { NextToken?: string }
      t.same(keysOf(page3), keys.slice(6), `${op} last item`)
      t.equal(page3.NextToken, undefined)
    }))
  })

  t.test('aws s3api get-object --range bytes=2-5 returns four bytes and a Content-Range', async t => {
    const { json, s3, work } = await setup(t)
    await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'r.txt', Body: '0123456789' }))
    const got = await json(['s3api', 'get-object', '--bucket', 'demo', '--key', 'r.txt', '--range', 'bytes=2-5', join(work, 'part')]) as Record<string, unknown>
    t.match(got, { ContentLength: 4, ContentRange: 'bytes 2-5/10' })
    t.equal(readFileSync(join(work, 'part'), 'utf8'), '2345')
  })

  t.test('aws s3api get-object --if-none-match with the current ETag answers 304', async t => {
    const { run, s3, work } = await setup(t)
    const put = await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'c.txt', Body: 'cached' }))
    const r = await run(['s3api', 'get-object', '--bucket', 'demo', '--key', 'c.txt', '--if-none-match', String(put.ETag), join(work, 'c')])
    t.not(r.code, 0)
    t.match(r.stderr, /\(304\)|Not Modified/)
    const other = await run(['s3api', 'get-object', '--bucket', 'demo', '--key', 'c.txt', '--if-none-match', '"0000"', join(work, 'c')])
    assertExitZero(t, other, 'awscli other')
    t.equal(readFileSync(join(work, 'c'), 'utf8'), 'cached')
  })

  t.test('a URL from aws s3 presign fetches the object without credentials', async t => {
    const { run, s3 } = await setup(t)
    await s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'shared/doc one.txt', Body: 'presigned content' }))
    const r = await run(['s3', 'presign', 's3://demo/shared/doc one.txt', '--expires-in', '300'])
    assertExitZero(t, r, 'awscli r')
    const url = r.stdout.trim()
    t.match(url, /X-Amz-Signature=/)
    const res = await fetch(url)
    t.equal(res.status, 200)
    t.equal(await res.text(), 'presigned content')
    const tampered = await fetch(url.replace('doc%20one', 'doc%20two'))
    t.equal(tampered.status, 403, 'the signature covers the key')
  })

  t.test('aws reports NoSuchKey and NoSuchBucket with a failing exit code', async t => {
    const { run, work } = await setup(t)
    const [key, bucket, ls, cp] = await Promise.all([
      run(['s3api', 'get-object', '--bucket', 'demo', '--key', 'missing.txt', join(work, 'x')]),
      run(['s3api', 'list-objects-v2', '--bucket', 'nobucket']),
      run(['s3', 'ls', 's3://nobucket/']),
      run(['s3', 'cp', 's3://demo/missing.txt', join(work, 'y')]),
    ])
    t.equal(key.code, 254)
    t.match(key.stderr, /NoSuchKey/)
    t.equal(bucket.code, 254)
    t.match(bucket.stderr, /NoSuchBucket/)
    t.not(ls.code, 0)
    t.match(ls.stderr, /NoSuchBucket/)
    t.not(cp.code, 0)
    t.match(cp.stderr, /404|Not Found/)
  })

  t.test('aws s3api create-bucket with a LocationConstraint of another region is refused', {
  }, async t => {
    const { run, json } = await setup(t)
    const r = await run(['s3api', 'create-bucket', '--bucket', 'elsewhere', '--create-bucket-configuration', 'LocationConstraint=eu-west-1'])
    t.equal(r.code, 254)
    t.match(r.stderr, /IllegalLocationConstraintException/)
    t.same(await json(['s3api', 'list-buckets', '--query', 'Buckets[].Name']), ['demo'])
  })

  t.test('a wrong secret gets SignatureDoesNotMatch and an unknown key gets InvalidAccessKeyId', async t => {
    const { run, creds } = await setup(t)
    const [wrong, unknown] = await Promise.all([
      run(['s3api', 'list-objects-v2', '--bucket', 'demo'], { accessKeyId: creds.accessKeyId, secretAccessKey: 'x'.repeat(40) }),
      run(['s3api', 'list-objects-v2', '--bucket', 'demo'], { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: creds.secretAccessKey }),
    ])
    t.equal(wrong.code, 254)
    t.match(wrong.stderr, /SignatureDoesNotMatch/)
    t.equal(unknown.code, 254)
    t.match(unknown.stderr, /InvalidAccessKeyId/)
  })
}
