// AWS CLI and boto3 against a real bridge: bucket policy commands, STS temporary credentials, a narrowed service account.
import t from 'tap'
import { findBoto3Python } from '../fixtures/clients/run-client.js'
import type { Test } from 'tap'
import { execFile } from 'node:child_process'
import { accessSync, chmodSync, constants, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { main } from '../../lib/admin/main.js'
import { startBridge, type Bridge, type Credentials } from '../fixtures/daemon.js'

const AWS = '/usr/bin/aws'

interface Result { code: number, stdout: string, stderr: string }
interface SessionCredentials extends Credentials { sessionToken?: string }

function hasProgram (path: string): boolean {
  try { accessSync(path, constants.X_OK); return true } catch { return false }
}

/** Only PATH, a private HOME and the keys: no user configuration or instance metadata leaks in. */
function clientEnv (home: string, creds: SessionCredentials): Record<string, string> {
  return {
    PATH: '/usr/bin:/bin:/usr/local/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    ...(creds.sessionToken === undefined ? {} : { AWS_SESSION_TOKEN: creds.sessionToken }),
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  }
}

function run (file: string, args: string[], env: Record<string, string>, cwd: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') { reject(err); return }
      resolve({ code: err === null ? 0 : Number(err.code), stdout: String(stdout), stderr: String(stderr) })
    })
  })
}

interface Cli { aws (args: string[], creds?: SessionCredentials): Promise<Result>, json (args: string[], creds?: SessionCredentials): Promise<Record<string, unknown>>, work: string, clock: { offsetMs: number } }

async function setup (t: Test): Promise<Bridge & Cli> {
  const bridge = await startBridge(t, { maxClockSkewMinutes: 24 * 60 })
  const clock = { offsetMs: 0 }
  bridge.daemon.services.now = () => new Date(Date.now() + clock.offsetMs)
  const work = join(bridge.dir, 'client')
  mkdirSync(join(work, 'home'), { recursive: true })
  const aws = (args: string[], creds: SessionCredentials = bridge.creds): Promise<Result> =>
    run(AWS, ['--endpoint-url', bridge.endpoint, '--no-cli-pager', '--output', 'json', ...args], clientEnv(join(work, 'home'), creds), work)
  const json = async (args: string[], creds?: SessionCredentials): Promise<Record<string, unknown>> => {
    const r = await aws(args, creds)
    if (r.code !== 0) throw new Error(`aws ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return r.stdout.trim() === '' ? {} : JSON.parse(r.stdout) as Record<string, unknown>
  }
  return { ...bridge, aws, json, work, clock }
}

function credentialsOf (out: Record<string, unknown>): SessionCredentials {
  const c = out.Credentials as { AccessKeyId: string, SecretAccessKey: string, SessionToken: string }
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken }
}

const prefixPolicy = (prefix: string): string => JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::demo/${prefix}*` },
    { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::demo', Condition: { StringLike: { 's3:prefix': `${prefix}*` } } },
  ],
})

if (!hasProgram(AWS)) {
  t.skip('AWS CLI is not installed at /usr/bin/aws', async () => {})
} else {
  t.test('aws s3api put-bucket-policy, get-bucket-policy and get-bucket-policy-status', async t => {
    const b = await setup(t)
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::demo/*' }] })
    writeFileSync(join(b.work, 'policy.json'), policy)
    const missing = await b.aws(['s3api', 'get-bucket-policy', '--bucket', 'demo'])
    t.not(missing.code, 0)
    t.match(missing.stderr, /NoSuchBucketPolicy/)
    await b.json(['s3api', 'put-bucket-policy', '--bucket', 'demo', '--policy', 'file://policy.json'])
    t.same(await b.json(['s3api', 'get-bucket-policy', '--bucket', 'demo']), { Policy: policy })
    t.same(await b.json(['s3api', 'get-bucket-policy-status', '--bucket', 'demo']), { PolicyStatus: { IsPublic: true } })
    writeFileSync(join(b.work, 'bad.json'), '{"Statement": [')
    const bad = await b.aws(['s3api', 'put-bucket-policy', '--bucket', 'demo', '--policy', 'file://bad.json'])
    t.not(bad.code, 0)
    t.match(bad.stderr, /MalformedPolicy/)
    await b.json(['s3api', 'delete-bucket-policy', '--bucket', 'demo'])
    t.match((await b.aws(['s3api', 'get-bucket-policy-status', '--bucket', 'demo'])).stderr, /NoSuchBucketPolicy/)
  })

  t.test('aws s3api put-public-access-block, get-public-access-block, delete-public-access-block, and what the block refuses', async t => {
    const b = await setup(t)
    t.match((await b.aws(['s3api', 'get-public-access-block', '--bucket', 'demo'])).stderr, /NoSuchPublicAccessBlockConfiguration/)
    await b.json(['s3api', 'put-public-access-block', '--bucket', 'demo', '--public-access-block-configuration',
      'BlockPublicAcls=true,IgnorePublicAcls=false,BlockPublicPolicy=true,RestrictPublicBuckets=false'])
    t.same(await b.json(['s3api', 'get-public-access-block', '--bucket', 'demo']), {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false },
    })
    writeFileSync(join(b.work, 'f.txt'), 'x')
    const upload = await b.aws(['s3', 'cp', 'f.txt', 's3://demo/f.txt', '--acl', 'public-read'])
    t.not(upload.code, 0, 'aws s3 cp --acl public-read is refused')
    t.match(upload.stderr, /AccessDenied/)
    writeFileSync(join(b.work, 'public.json'), JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::demo/*' }] }))
    t.match((await b.aws(['s3api', 'put-bucket-policy', '--bucket', 'demo', '--policy', 'file://public.json'])).stderr, /AccessDenied/, 'a public policy is refused')
    await b.json(['s3api', 'delete-public-access-block', '--bucket', 'demo'])
    t.match((await b.aws(['s3api', 'get-public-access-block', '--bucket', 'demo'])).stderr, /NoSuchPublicAccessBlockConfiguration/)
    t.equal((await b.aws(['s3', 'cp', 'f.txt', 's3://demo/f.txt', '--acl', 'public-read'])).code, 0, 'with the block gone the upload passes')
  })

  t.test('aws s3api put-bucket-ownership-controls BucketOwnerEnforced: ACL uploads refused, plain ones taken; a tag-conditioned Deny holds', async t => {
    const b = await setup(t)
    t.match((await b.aws(['s3api', 'get-bucket-ownership-controls', '--bucket', 'demo'])).stderr, /OwnershipControlsNotFoundError/)
    await b.json(['s3api', 'put-bucket-ownership-controls', '--bucket', 'demo', '--ownership-controls', 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'])
    t.same(await b.json(['s3api', 'get-bucket-ownership-controls', '--bucket', 'demo']), { OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } })
    writeFileSync(join(b.work, 'f.txt'), 'x')
    const refused = await b.aws(['s3', 'cp', 'f.txt', 's3://demo/f.txt', '--acl', 'public-read'])
    t.not(refused.code, 0)
    t.match(refused.stderr, /AccessControlListNotSupported/, 'aws s3 cp --acl public-read: the bucket does not allow ACLs')
    t.equal((await b.aws(['s3', 'cp', 'f.txt', 's3://demo/f.txt'])).code, 0, 'without --acl the upload is taken')
    t.match((await b.aws(['s3api', 'put-object-acl', '--bucket', 'demo', '--key', 'f.txt', '--acl', 'private'])).stderr, /AccessControlListNotSupported/)
    // A Deny conditioned on the object's tags, through the CLI's own tagging calls.
    await b.json(['s3api', 'put-object-tagging', '--bucket', 'demo', '--key', 'f.txt', '--tagging', 'TagSet=[{Key=hold,Value=yes}]'])
    writeFileSync(join(b.work, 'hold.json'), JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::demo/*', Condition: { StringEquals: { 's3:ExistingObjectTag/hold': 'yes' } } }] }))
    await b.json(['s3api', 'put-bucket-policy', '--bucket', 'demo', '--policy', 'file://hold.json'])
    t.match((await b.aws(['s3', 'cp', 's3://demo/f.txt', 'back.txt'])).stderr, /403|Forbidden|AccessDenied/, 'a held object cannot be read')
    await b.json(['s3api', 'delete-object-tagging', '--bucket', 'demo', '--key', 'f.txt'])
    t.equal((await b.aws(['s3', 'cp', 's3://demo/f.txt', 'back.txt'])).code, 0, 'released, it can')
  })

  t.test('aws s3api put-bucket-lifecycle-configuration and get-bucket-lifecycle-configuration round-trip the rules', async t => {
    const b = await setup(t)
    const rules = [
      { ID: 'scratch', Filter: { Prefix: 'scratch/' }, Status: 'Enabled', Expiration: { Days: 7 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } },
      { ID: 'archive', Filter: { And: { Prefix: 'old/', Tags: [{ Key: 'tier', Value: 'cold' }] } }, Status: 'Disabled', Transitions: [{ Days: 90, StorageClass: 'GLACIER' }] },
    ]
    writeFileSync(join(b.work, 'lifecycle.json'), JSON.stringify({ Rules: rules }))
    await b.json(['s3api', 'put-bucket-lifecycle-configuration', '--bucket', 'demo', '--lifecycle-configuration', 'file://lifecycle.json'])
    const got = await b.json(['s3api', 'get-bucket-lifecycle-configuration', '--bucket', 'demo'])
    t.same(got.Rules, rules)
    writeFileSync(join(b.work, 'bad.json'), JSON.stringify({ Rules: [{ ID: 'r', Filter: { Prefix: '' }, Status: 'Enabled', Expiration: { Days: 0 } }] }))
    t.match((await b.aws(['s3api', 'put-bucket-lifecycle-configuration', '--bucket', 'demo', '--lifecycle-configuration', 'file://bad.json'])).stderr, /InvalidArgument/)
    await b.json(['s3api', 'delete-bucket-lifecycle', '--bucket', 'demo'])
    t.match((await b.aws(['s3api', 'get-bucket-lifecycle-configuration', '--bucket', 'demo'])).stderr, /NoSuchLifecycleConfiguration/)
  })

  t.test('aws sts get-session-token credentials work on S3 until they expire', async t => {
    const b = await setup(t)
    const session = credentialsOf(await b.json(['sts', 'get-session-token', '--duration-seconds', '900']))
    t.match(session.accessKeyId, /^ASIA/)
    writeFileSync(join(b.work, 'up.txt'), 'uploaded with a session')
    await b.json(['s3api', 'put-object', '--bucket', 'demo', '--key', 'up.txt', '--body', 'up.txt'], session)
    const listed = await b.json(['s3api', 'list-objects-v2', '--bucket', 'demo'], session)
    t.same((listed.Contents as Array<{ Key: string }>).map(c => c.Key), ['up.txt'])
    b.clock.offsetMs = 901_000
    const expired = await b.aws(['s3api', 'list-objects-v2', '--bucket', 'demo'], session)
    t.not(expired.code, 0)
    t.match(expired.stderr, /ExpiredToken/)
    const bad = await b.aws(['sts', 'get-session-token', '--duration-seconds', '129601'])
    t.not(bad.code, 0)
    t.match(bad.stderr, /ValidationError/)
  })

  t.test('aws sts assume-role with a session policy narrows S3 access to one prefix', async t => {
    const b = await setup(t)
    mkdirSync(join(b.bucketDir, 'shared'))
    chmodSync(join(b.bucketDir, 'shared'), 0o777)
    writeFileSync(join(b.work, 'session.json'), prefixPolicy('shared/'))
    const out = await b.json(['sts', 'assume-role', '--role-arn', 'arn:aws:iam::000000000000:role/x', '--role-session-name', 'nightly', '--policy', 'file://session.json'])
    t.match(out.AssumedRoleUser, { Arn: 'arn:aws:sts::000000000000:assumed-role/x/nightly' })
    const session = credentialsOf(out)
    writeFileSync(join(b.work, 'f.txt'), 'f')
    await b.json(['s3api', 'put-object', '--bucket', 'demo', '--key', 'shared/f.txt', '--body', 'f.txt'], session)
    const inside = await b.json(['s3api', 'list-objects-v2', '--bucket', 'demo', '--prefix', 'shared/'], session)
    t.same((inside.Contents as Array<{ Key: string }>).map(c => c.Key), ['shared/f.txt'])
    const outside = await b.aws(['s3api', 'put-object', '--bucket', 'demo', '--key', 'top.txt', '--body', 'f.txt'], session)
    t.not(outside.code, 0)
    t.match(outside.stderr, /AccessDenied/)
    const whole = await b.aws(['s3api', 'list-objects-v2', '--bucket', 'demo'], session)
    t.match(whole.stderr, /AccessDenied/)
    const plain = await b.json(['sts', 'assume-role', '--role-arn', 'arn:aws:iam::000000000000:role/x', '--role-session-name', 'nightly'])
    await b.json(['s3api', 'put-object', '--bucket', 'demo', '--key', 'top.txt', '--body', 'f.txt'], credentialsOf(plain))
    t.pass('without a session policy the session has the user\'s full rights')
  })
}

const BOTO3_SCRIPT = `
import json, os, boto3
from botocore.config import Config
from botocore.exceptions import ClientError
s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'], region_name='us-east-1',
                  config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
def code(fn):
    try:
        fn()
        return 'ok'
    except ClientError as e:
        return e.response['Error']['Code']
s3.put_object(Bucket='demo', Key='team/a.txt', Body=b'a')
out = {
    'get_inside': s3.get_object(Bucket='demo', Key='team/a.txt')['Body'].read().decode(),
    'list_inside': [o['Key'] for o in s3.list_objects_v2(Bucket='demo', Prefix='team/').get('Contents', [])],
    'put_outside': code(lambda: s3.put_object(Bucket='demo', Key='other.txt', Body=b'x')),
    'get_outside': code(lambda: s3.get_object(Bucket='demo', Key='owner.txt')),
    'list_all': code(lambda: s3.list_objects_v2(Bucket='demo')),
}
print(json.dumps(out))
`

const PYTHON = findBoto3Python()

if (PYTHON === undefined) {
  t.skip('python3 with boto3 is not installed', async () => {})
} else {
  t.test('boto3 with a service account narrowed to one prefix acts as its user only inside the prefix', async t => {
    const b = await startBridge(t)
    mkdirSync(join(b.bucketDir, 'team'))
    chmodSync(join(b.bucketDir, 'team'), 0o777)
    writeFileSync(join(b.bucketDir, 'owner.txt'), 'owner only')
    const work = join(b.dir, 'client')
    mkdirSync(work, { recursive: true })
    writeFileSync(join(work, 'team.json'), prefixPolicy('team/'))
    writeFileSync(join(work, 'bridge.conf'), JSON.stringify({ http: { host: '127.0.0.1', port: 0 }, stateDir: b.config.stateDir, rootPath: b.config.rootPath }))
    let printed = ''
    const code = await main(['--config', join(work, 'bridge.conf'), 'users', 'svcacct', 'add', 'tester', '--policy-file', join(work, 'team.json'), '--json'],
      { stdout: s => { printed += s }, stderr: () => undefined })
    t.equal(code, 0)
    const made = JSON.parse(printed) as { accessKeyId: string, secretAccessKey: string }
    await b.daemon.services.state.refresh()
    const env = { ...clientEnv(work, { accessKeyId: made.accessKeyId, secretAccessKey: made.secretAccessKey }), S3_ENDPOINT: b.endpoint, PYTHONIOENCODING: 'utf-8' }
    const r = await run(PYTHON, ['-c', BOTO3_SCRIPT], env, work)
    t.equal(r.code, 0, r.stderr)
    t.same(JSON.parse(r.stdout), { get_inside: 'a', list_inside: ['team/a.txt'], put_outside: 'AccessDenied', get_outside: 'AccessDenied', list_all: 'AccessDenied' })
    t.equal(statSync(join(b.bucketDir, 'team/a.txt')).uid, 2000, 'the file belongs to the parent user\'s uid')
  })
}
