// boto3 against a real bridge, for behaviours a conformance sweep found missing or wrong: SigV2 bucket requests,
// object and bucket tagging, RFC 2047 metadata, AWS's answers for unkept bucket configurations, conditional PUT, max-keys=0.
import t from 'tap'
import type { Test } from 'tap'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { getAttribute } from '../../lib/storage/xattr.js'
import { META_XATTR } from '../../lib/storage/xattrs.js'
import { awsEnv, findBoto3Python, runClient } from '../fixtures/clients/run-client.js'

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/clients/boto3_conformance.py')

const PYTHON = findBoto3Python()

async function scenario (t: Test, python: string, name: string): Promise<Record<string, unknown>> {
  return scenarioOn(t, await startBridge(t), python, name)
}

async function scenarioOn (t: Test, bridge: Bridge, python: string, name: string): Promise<Record<string, unknown>> {
  const work = join(bridge.dir, 'client')
  mkdirSync(work, { recursive: true })
  const env = { ...awsEnv(work, bridge.creds), S3_ENDPOINT: bridge.endpoint, PYTHONIOENCODING: 'utf-8' }
  const r = await runClient(python, [SCRIPT, name], { env, cwd: work })
  if (r.code !== 0) throw new Error(`boto3 scenario ${name} exited ${r.code}:\n${r.stderr}`)
  return JSON.parse(r.stdout) as Record<string, unknown>
}

if (PYTHON === undefined) {
  t.plan(0, 'python3 with boto3 is not installed')
} else {
  t.test('boto3 with signature_version s3 (SigV2) lists, reads ACLs and location of a path-style bucket', async t => {
    const out = await scenario(t, PYTHON, 'sigv2')
    t.same(out, { list: ['v2/a'], list_v2: ['v2/a'], acl_owner: 'tester', location: null, get: 'a' })
  })

  t.test('boto3 object and bucket tagging', async t => {
    const out = await scenario(t, PYTHON, 'tagging')
    const ten = Array.from({ length: 10 }, (_, i) => ({ Key: `key${i}`, Value: `val${i}` }))
    t.same(out, {
      first: [{ Key: 'color', Value: 'blue' }, { Key: 'size', Value: 'x l' }],
      count: 2,
      ten,
      excess: [400, 'InvalidTag'],
      long_key: [400, 'InvalidTag'],
      long_value: [400, 'InvalidTag'],
      after_delete: [],
      no_bucket_tags: [404, 'NoSuchTagSet'],
      bucket_tags: [{ Key: 'env', Value: 'test' }],
      bucket_tags_deleted: [404, 'NoSuchTagSet'],
    })
  })

  t.test('boto3: non-ASCII metadata comes back RFC 2047-encoded, and encoded values are stored decoded', async t => {
    const bridge = await startBridge(t)
    const out = await scenarioOn(t, bridge, PYTHON, 'unicode_metadata')
    t.same(out, {
      raw: '=?UTF-8?Q?Hello_World=C3=A9?=',
      raw_decoded: 'Hello World\u00e9',
      head: { title: '=?UTF-8?B?w7Y=?=', plain: 'blue' },
      nbsp: 'voil\u00e0 \u9801',
    })
    const stored = JSON.parse((await getAttribute(join(bridge.bucketDir, 'm/encoded'), META_XATTR)).toString('utf8')) as { user: Record<string, string> }
    t.equal(stored.user.title, '\u00f6', 'the xattr holds the decoded value')
  })

  t.test('boto3: a presigned POST signed with STS session credentials uploads within the session policy only', async t => {
    const out = await scenario(t, PYTHON, 'post_with_session')
    t.same(out, {
      token_field: true,
      inside: [204, null],
      stored: 'from the browser',
      outside_policy: [403, 'AccessDenied'],
      other_listed: [],
      bad_token: [400, 'InvalidToken'],
    })
  })

  t.test('python-requests sending a whole over-limit body first gets the 400 at once, and the connection closes', async t => {
    const out = await scenario(t, PYTHON, 'early_error_body')
    t.same(out, { status: 400, code: 'MaxMessageLengthExceeded', connection: 'close', prompt: true })
  })

  t.test('boto3 reads of unkept bucket configurations get AWS\'s answers', async t => {
    const out = await scenario(t, PYTHON, 'bucket_configs')
    t.same(out, {
      get_bucket_lifecycle_configuration: [404, 'NoSuchLifecycleConfiguration'],
      get_bucket_encryption: [404, 'ServerSideEncryptionConfigurationNotFoundError'],
      get_bucket_website: [404, 'NoSuchWebsiteConfiguration'],
      get_public_access_block: [404, 'NoSuchPublicAccessBlockConfiguration'],
      get_object_lock_configuration: [404, 'ObjectLockConfigurationNotFoundError'],
      get_bucket_ownership_controls: [404, 'OwnershipControlsNotFoundError'],
      get_bucket_replication: [404, 'ReplicationConfigurationNotFoundError'],
      request_payment: 'BucketOwner',
      logging: false,
      versioning: false,
      delete_lifecycle: 204,
    })
  })

  t.test('boto3 conditional PUT and max-keys=0 listings', async t => {
    const out = await scenario(t, PYTHON, 'conditional_and_listing')
    t.same(out, {
      zero: [false, 0],
      zero_v2: [false, 0],
      if_none_match_existing: [412, 'PreconditionFailed'],
      if_none_match_new: 'ok',
      if_match_wrong: [412, 'PreconditionFailed'],
      if_match_right: 'ok',
      if_match_missing: [404, 'NoSuchKey'],
      foo: 'newer',
    })
  })
}
