// HTTPS beside HTTP with a certificate made at test time: the AWS CLI and boto3 over TLS, cert reload, httpsOnly.
import t from 'tap'
import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'
import { ConfigError } from '../../lib/config/schema.js'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import type { Test } from 'tap'
import { connect } from 'node:tls'
import { join } from 'node:path'
import { parseConfig } from '../../lib/config/schema.js'
import { startBridge } from '../fixtures/daemon.js'
import { signedRequest } from '../fixtures/bridged-process.js'

const OPENSSL = '/usr/bin/openssl'
const AWS = '/usr/bin/aws'

function makeCert (dir: string, cn: string): { certFile: string, keyFile: string } {
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  execFileSync(OPENSSL, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', keyFile, '-out', certFile, '-days', '1'], { stdio: 'ignore' })
  return { certFile, keyFile }
}

/** A directory outside the bridge's testdir (startBridge empties that one). */
function certDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 's3bridge-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function peerCommonName (endpoint: string): Promise<string> {
  const url = new URL(endpoint)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false, servername: 'localhost' }, () => {
      const cn = socket.getPeerCertificate().subject.CN
      socket.end()
      resolve(String(cn ?? ''))
    })
    socket.on('error', reject)
  })
}

const execFileAsync = promisify(execFile)

/** Runs a client without blocking the event loop (the bridge under test runs in this process). */
async function run (file: string, args: string[], env: Record<string, string>): Promise<{ status: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { env, encoding: 'utf8', timeout: 120_000 })
    return { status: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number, stdout?: string, stderr?: string }
    return { status: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) }
  }
}

/** The python3 on PATH that can import boto3, if any. */
async function boto3Python (): Promise<string | undefined> {
  const r = await run('python3', ['-c', 'import boto3, sys; print(sys.executable)'], { PATH: process.env.PATH ?? '/usr/bin:/bin' })
  return r.status === 0 ? r.stdout.trim() : undefined
}

if (!existsSync(OPENSSL)) {
  t.plan(0, 'openssl is not installed')
} else {
  t.test('HTTP and HTTPS listen at once; the AWS CLI and boto3 work over TLS with a self-signed certificate', async t => {
    const dir = certDir(t)
    const tls = makeCert(dir, 'localhost')
    const bridge = await startBridge(t, { https: { host: '127.0.0.1', port: 0, ...tls } })
    const https = bridge.daemon.httpsEndpoint ?? ''
    t.match(bridge.endpoint, /^http:\/\//)
    t.match(https, /^https:\/\//)
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      AWS_ACCESS_KEY_ID: bridge.creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: bridge.creds.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      PYTHONWARNINGS: 'ignore',
    }
    if (existsSync(AWS)) {
      writeFileSync(join(dir, 'up.txt'), 'sent over TLS by the AWS CLI')
      const cp = await run(AWS, ['--no-verify-ssl', '--endpoint-url', https, 's3', 'cp', join(dir, 'up.txt'), 's3://demo/cli.txt'], env)
      t.equal(cp.status, 0, `aws s3 cp over https: ${cp.stderr}`)
      const ls = await run(AWS, ['--no-verify-ssl', '--endpoint-url', https, 's3', 'ls', 's3://demo/'], env)
      t.match(ls.stdout, /cli\.txt/, 'aws s3 ls over https')
      const overHttp = await signedRequest(bridge.endpoint, bridge.creds, { method: 'GET', path: '/demo/cli.txt' })
      t.equal(overHttp.body, 'sent over TLS by the AWS CLI', 'the same object over plain HTTP')
    } else {
      t.comment(`${AWS} is not installed: AWS CLI part skipped`)
    }
    const python = await boto3Python()
    if (python) {
      const script = [
        'import boto3, os, sys',
        "s3 = boto3.client('s3', endpoint_url=sys.argv[1], verify=False, region_name='us-east-1')",
        "s3.put_object(Bucket='demo', Key='boto3.txt', Body=b'sent over TLS by boto3')",
        "print(s3.get_object(Bucket='demo', Key='boto3.txt')['Body'].read().decode())",
        // Over TLS botocore sends its default CRC32 as the trailer of an aws-chunked body: it must be kept.
        'import base64, io, zlib',
        "data = b'checked by a trailer' * 1000",
        "put = s3.put_object(Bucket='demo', Key='trailer.bin', Body=io.BytesIO(data))",
        "head = s3.head_object(Bucket='demo', Key='trailer.bin', ChecksumMode='ENABLED')",
        "want = base64.b64encode(zlib.crc32(data).to_bytes(4, 'big')).decode()",
        "print('crc32', put.get('ChecksumCRC32') == want, head.get('ChecksumCRC32') == want)",
      ].join('\n')
      const r = await run(python, ['-c', script, https], env)
      const [roundTrip, crc] = r.stdout.trim().split('\n')
      t.equal(roundTrip, 'sent over TLS by boto3', `boto3 round trip over https: ${r.stderr}`)
      t.equal(crc, 'crc32 True True', 'the CRC32 botocore sent is echoed by the PUT and returned by HEAD with checksum mode')
    } else {
      t.comment('python3 with boto3 is not installed: boto3 part skipped')
    }
  })

  t.test('a reload swaps the certificate for new TLS connections', async t => {
    const dir = certDir(t)
    const tls = makeCert(dir, 'first.test')
    const fields = { http: { host: '127.0.0.1', port: 0 }, https: { host: '127.0.0.1', port: 0, ...tls }, stateDir: 'state', rootPath: 'buckets', statePollMs: 200 }
    const bridge = await startBridge(t, fields)
    const https = bridge.daemon.httpsEndpoint ?? ''
    t.equal(await peerCommonName(https), 'first.test')
    const before = readFileSync(tls.certFile, 'utf8')
    makeCert(dir, 'second.test')
    t.not(readFileSync(tls.certFile, 'utf8'), before)
    const needRestart = bridge.daemon.reload(parseConfig(fields, bridge.dir))
    t.same(needRestart, [], 'nothing needs a restart')
    t.equal(await peerCommonName(https), 'second.test', 'new connections see the new certificate')
  })

  t.test('httpsOnly opens no plain HTTP listener', async t => {
    const dir = certDir(t)
    const tls = makeCert(dir, 'localhost')
    const bridge = await startBridge(t, { httpsOnly: true, https: { host: '127.0.0.1', port: 0, ...tls } })
    t.match(bridge.endpoint, /^https:\/\//, 'the only endpoint is HTTPS')
    t.equal(bridge.daemon.httpsEndpoint, bridge.endpoint)
    const ok = await signedRequest(bridge.endpoint, bridge.creds, { method: 'PUT', path: '/demo/secure.txt', body: 'tls only', isInsecure: true })
    t.equal(ok.status, 200)
    let error: unknown
    try {
      parseConfig({ httpsOnly: true, http: { port: 0 }, stateDir: 's', rootPath: 'r' }, dir)
    } catch (err) {
      error = err
    }
    t.equal(error instanceof ConfigError ? error.field : undefined, 'https', 'httpsOnly without https is a config error naming the field')
  })

  t.test('s3:TlsVersion holds the connection\'s TLS version for policies ("require TLS 1.2 or later")', async t => {
    const tls = makeCert(certDir(t), 'localhost')
    const bridge = await startBridge(t, { https: { host: '127.0.0.1', port: 0, ...tls } })
    const https = bridge.daemon.httpsEndpoint ?? ''
    const denyBelow = (version: string): string => JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::demo', 'arn:aws:s3:::demo/*'], Condition: { NumericLessThan: { 's3:TlsVersion': version } } }],
    })
    const put = async (version: string): Promise<number> => {
      await bridge.daemon.services.state.mutate(s => { s.buckets.demo!.policy = denyBelow(version) })
      return (await signedRequest(https, bridge.creds, { method: 'PUT', path: '/demo/tls.txt', body: 'x', isInsecure: true })).status
    }
    t.equal(await put('1.2'), 200, 'TLS 1.3 passes a "below 1.2" Deny')
    t.equal(await put('1.4'), 403, 'and not a "below 1.4" one: the version is there')
  })
}
