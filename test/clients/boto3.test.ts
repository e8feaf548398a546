// boto3 against a real bridge: objects, both listing paginators, copy, batch delete, presigned URLs and transfers.
import t from 'tap'
import type { Test } from 'tap'
import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { awsEnv, findBoto3Python, runClient } from '../fixtures/clients/run-client.js'

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/clients/boto3_scenarios.py')

const PYTHON = findBoto3Python()

/** Starts a bridge and runs one scenario of boto3_scenarios.py against it, returning its JSON output. */
async function scenario (t: Test, python: string, name: string): Promise<{ bridge: Bridge, out: Record<string, unknown> }> {
  const bridge = await startBridge(t)
  const work = join(bridge.dir, 'client')
  mkdirSync(work, { recursive: true })
  const env = { ...awsEnv(work, bridge.creds), S3_ENDPOINT: bridge.endpoint, PYTHONIOENCODING: 'utf-8' }
  const r = await runClient(python, [SCRIPT, name, work], { env, cwd: work })
  if (r.code !== 0) throw new Error(`boto3 scenario ${name} exited ${r.code}:\n${r.stderr}`)
  return { bridge, out: JSON.parse(r.stdout) as Record<string, unknown> }
}

const md5 = (s: string): string => `"${createHash('md5').update(s).digest('hex')}"`

if (PYTHON === undefined) {
  t.plan(0, 'python3 with boto3 is not installed')
} else {
  t.test('boto3 put_object and get_object round-trip, and both list paginators return 7 keys in pages of 2', async t => {
    const { out } = await scenario(t, PYTHON, 'put_get_list')
    const keys = [1, 2, 3, 4, 5, 6, 7].map(n => `page/${n}`)
    t.same(out.etags, keys.map(md5), 'ETags are the MD5 of each body, even with CRC32 checksums on')
    t.equal(out.body, 'page/3')
    t.same(out.metadata, { n: '3' })
    const pages = [keys.slice(0, 2), keys.slice(2, 4), keys.slice(4, 6), keys.slice(6)]
    t.same(out.v1, pages, 'ListObjects v1 pages by Marker')
    t.same(out.v2, pages, 'ListObjectsV2 pages by ContinuationToken')
    t.same(out.v2_delimited, [[{ Prefix: 'page/' }]], 'a delimited listing rolls keys up into one common prefix')
  })

  t.test('boto3 copy_object keeps metadata by default and replaces it with MetadataDirective REPLACE', async t => {
    const { out } = await scenario(t, PYTHON, 'copy')
    t.equal(out.kept_etag, md5('copy me'))
    t.equal(out.replaced_etag, md5('copy me'))
    t.equal(out.body, 'copy me')
    t.same(out.heads, {
      'dst/kept.txt': { type: 'text/plain', meta: { k: 'v' } },
      'dst/replaced.txt': { type: 'application/x-new', meta: { k: 'new' } },
    })
  })

  t.test('boto3 delete_objects deletes listed keys and counts a missing key as deleted', {
  }, async t => {
    const { out } = await scenario(t, PYTHON, 'delete_objects')
    t.same(out.deleted, ['d/1', 'd/2', 'd/missing'])
    t.same(out.errors, [])
    t.same(out.left, ['d/3'])
  })

  t.test('boto3 presigned PUT and GET URLs work from urllib under SigV2 and SigV4, and altered or ten-year ones are refused', async t => {
    const { out } = await scenario(t, PYTHON, 'presign')
    // Past a week: SigV4 refuses X-Amz-Expires as a malformed query (400), SigV2's Expires is AccessDenied.
    for (const [version, signedWith, tenYears] of [['default', 'v2', 403], ['s3v4', 'v4', 400]] as const) {
      t.match(out[version], {
        signed_with: signedWith,
        put_status: 200,
        body: 'sent with a presigned PUT',
        content_type: 'text/plain',
        refused: { forged: 403, other_key: 403, ten_years: tenYears, put_with_other_type: 403 },
      }, `presigned with ${version} settings`)
    }
  })

  t.test('a boto3 SigV2 presigned URL made with STS session credentials fetches the object', async t => {
    const { out } = await scenario(t, PYTHON, 'presign_session')
    t.match(out, { signed_with: 'v2', has_token: true, body: 'presigned with a session' })
  })

  t.test('boto3 upload_file and download_file move 3 MiB without changing a byte', async t => {
    const { out } = await scenario(t, PYTHON, 'transfer')
    t.equal(out.size, 3 * 1024 * 1024)
    t.equal(out.down, out.up)
  })

  t.test('boto3 upload_file with ChecksumAlgorithm SHA256 goes multipart and the object keeps the COMPOSITE checksum', async t => {
    const { out } = await scenario(t, PYTHON, 'multipart_checksum')
    t.equal(out.etag_parts, '3', 'three parts')
    t.equal(out.checksum, out.expected, 'HEAD with checksum mode returns SHA256 of the part SHA256s, -3')
  })

  t.test('boto3 upload_file with a whole-file ChecksumCRC32 makes a FULL_OBJECT upload the bridge verifies', async t => {
    const { out } = await scenario(t, PYTHON, 'full_object_checksum')
    t.equal(out.parts, '3', 'three parts')
    t.equal(out.checksum, out.expected, 'the object keeps the CRC32 of the whole file, combined from the parts')
    t.equal(out.type, 'FULL_OBJECT')
    t.equal(out.wrong, 'BadDigest', 'a wrong whole-file CRC32 is refused at Complete')
    t.same(out.wrong_listed, [], 'and nothing is published')
  })

  t.test('boto3 stores, lists and reads nested unicode keys, with and without url encoding', async t => {
    const { out, bridge } = await scenario(t, PYTHON, 'unicode_keys')
    const sorted = [...(out.keys as string[])].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    t.same(out.listed, sorted, 'listed in UTF-8 byte order')
    t.same(out.bodies, Object.fromEntries((out.keys as string[]).map(k => [k, k])))
    const decoded = (out.url_listed as string[]).map(k => decodeURIComponent(k.replace(/\+/g, ' ')))
    t.same(decoded, sorted, 'EncodingType=url keys decode to the same keys')
    t.ok((out.url_listed as string[]).every(k => !/[^\x21-\x7e]/.test(k)), 'url-encoded keys are plain ASCII')
    t.ok(bridge.logLines.length > 0)
  })
}
