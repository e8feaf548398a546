import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, mkdirSync, writeFileSync, openSync, writeSync, closeSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { awsEnv, hasProgram, isolatedEnv, runClient } from '../fixtures/clients/run-client.js'

async function sha256File (path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** Writes size bytes of random data without holding them in memory. */
function randomFile (path: string, sizeBytes: number): void {
  const fd = openSync(path, 'w')
  const block = 8 * 1024 * 1024
  for (let done = 0; done < sizeBytes; done += block) writeSync(fd, randomBytes(Math.min(block, sizeBytes - done)))
  closeSync(fd)
}

function work (b: Bridge, name: string): string {
  const dir = join(b.dir, name)
  mkdirSync(dir, { recursive: true })
  return dir
}

async function checkMultipart (t: Test, b: Bridge, key: string, src: string, parts: number): Promise<void> {
  const head = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: key }))
  t.match(head.ETag ?? '', new RegExp(`-${parts}"$`), `${key} was stored as a ${parts}-part upload`)
  t.equal(await sha256File(join(b.bucketDir, key)), await sha256File(src), `${key}: the file in the bucket matches`)
  t.same(readdirSync(join(b.bucketDir, '.s3bridge', 'uploads')).filter(n => !n.startsWith('.') && !n.endsWith('.done')), [], 'no upload left behind')
}

t.test('aws s3 cp uploads a 1 GiB file in 8 MiB parts and downloads it intact', { skip: hasProgram('/usr/bin/aws') ? false : 'AWS CLI missing' }, async t => {
  const b = await startBridge(t)
  const dir = work(b, 'aws')
  const src = join(dir, 'big.bin')
  randomFile(src, 1024 ** 3)
  const env = awsEnv(dir, b.creds)
  const up = await runClient('/usr/bin/aws', ['--endpoint-url', b.endpoint, 's3', 'cp', src, 's3://demo/big/1gib.bin'], { env, timeoutMs: 600_000 })
  t.equal(up.code, 0, up.stderr)
  await checkMultipart(t, b, 'big/1gib.bin', src, 128)
  const down = await runClient('/usr/bin/aws', ['--endpoint-url', b.endpoint, 's3', 'cp', 's3://demo/big/1gib.bin', join(dir, 'back.bin')], { env, timeoutMs: 600_000 })
  t.equal(down.code, 0, down.stderr)
  t.equal(await sha256File(join(dir, 'back.bin')), await sha256File(src), 'downloaded copy matches')
})

t.test('s3cmd, rclone and boto3 upload 48 MiB in parts and the object matches', async t => {
  const b = await startBridge(t)
  const dir = work(b, 'clients')
  const src = join(dir, 'mid.bin')
  randomFile(src, 48 * 1024 * 1024)
  if (hasProgram('/usr/bin/s3cmd')) {
    const port = new URL(b.endpoint).port
    const cfg = join(dir, 's3cfg')
    writeFileSync(cfg, `[default]\naccess_key = ${b.creds.accessKeyId}\nsecret_key = ${b.creds.secretAccessKey}\nhost_base = 127.0.0.1:${port}\nhost_bucket = 127.0.0.1:${port}\nuse_https = False\n`)
    const r = await runClient('/usr/bin/s3cmd', ['-c', cfg, '--multipart-chunk-size-mb=8', 'put', src, 's3://demo/s3cmd.bin'], { env: isolatedEnv(dir), timeoutMs: 300_000 })
    t.equal(r.code, 0, r.stderr)
    await checkMultipart(t, b, 's3cmd.bin', src, 6)
  }
  if (hasProgram('/usr/bin/rclone')) {
    const env = isolatedEnv(dir, {
      RCLONE_CONFIG: join(dir, 'rclone.conf'), RCLONE_CONFIG_B_TYPE: 's3', RCLONE_CONFIG_B_PROVIDER: 'Other', RCLONE_CONFIG_B_ENDPOINT: b.endpoint,
      RCLONE_CONFIG_B_ACCESS_KEY_ID: b.creds.accessKeyId, RCLONE_CONFIG_B_SECRET_ACCESS_KEY: b.creds.secretAccessKey, RCLONE_CONFIG_B_REGION: 'us-east-1', RCLONE_CONFIG_B_FORCE_PATH_STYLE: 'true',
    })
    const r = await runClient('/usr/bin/rclone', ['copyto', src, 'b:demo/rclone.bin', '--s3-upload-cutoff', '8M', '--s3-chunk-size', '8M', '--retries', '1'], { env, timeoutMs: 300_000 })
    t.equal(r.code, 0, r.stderr)
    await checkMultipart(t, b, 'rclone.bin', src, 6)
  }
  const script = join(dir, 'up.py')
  writeFileSync(script, [
    'import boto3, sys',
    'from boto3.s3.transfer import TransferConfig',
    'from botocore.config import Config',
    "s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', config=Config(s3={'addressing_style': 'path'}))",
    "s3.upload_file(sys.argv[2], 'demo', 'boto3.bin', Config=TransferConfig(multipart_threshold=8*1024*1024, multipart_chunksize=8*1024*1024))",
    "s3.download_file('demo', 'boto3.bin', sys.argv[3])",
  ].join('\n'))
  const py = await runClient('/bin/sh', ['-c', `exec "$(command -v python3)" "$@"`, 'sh', script, b.endpoint, src, join(dir, 'boto3.back')], { env: { ...awsEnv(dir, b.creds), PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeoutMs: 300_000 })
  t.equal(py.code, 0, py.stderr)
  await checkMultipart(t, b, 'boto3.bin', src, 6)
  t.equal(await sha256File(join(dir, 'boto3.back')), await sha256File(src), 'boto3 download_file matches')
})
