// PostObject: browser form uploads signed with SigV4 or SigV2 policies, their conditions, limits and success answers.
import t from 'tap'
import type { Test } from 'tap'
import { chmodSync, existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHash, createHmac } from 'node:crypto'
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { postForm, send, signedPostFields, type FormPairs, type PolicyOptions, type Reply } from '../fixtures/post-form.js'

const MiB = 1024 * 1024

function url (b: Bridge, bucket = 'demo'): string {
  return `${b.endpoint}/${bucket}`
}

/** Nothing published and no temp file left in the bucket's staging folder. */
function assertNothingStored (t: Test, b: Bridge, key: string): void {
  t.notOk(existsSync(join(b.bucketDir, key)), `no ${key} in the bucket`)
  const tmp = join(b.bucketDir, '.s3bridge', 'tmp')
  t.same(existsSync(tmp) ? readdirSync(tmp) : [], [], 'no temp file left')
}

function errorOf (r: Reply): { code?: string, message?: string } {
  return { code: /<Code>([^<]*)<\/Code>/.exec(r.body)?.[1], message: /<Message>([^<]*)<\/Message>/.exec(r.body)?.[1]?.replace(/&quot;/g, '"').replace(/&apos;/g, "'") }
}

t.test('a SigV4 POST stores the file with its metadata and answers 204 by default', async t => {
  const b = await startBridge(t)
  const fields: FormPairs = [['key', 'uploads/${filename}'], ['Content-Type', 'text/plain'], ['x-amz-meta-origin', 'browser']]
  const pairs = signedPostFields(b.creds, {
    fields,
    conditions: [{ bucket: 'demo' }, ['starts-with', '$key', 'uploads/'], ['eq', '$Content-Type', 'text/plain'], { 'x-amz-meta-origin': 'browser' }, ['content-length-range', 1, 1024]],
  })
  const r = await postForm(url(b), pairs, { data: 'hello from a form', filename: 'note.txt' })
  t.equal(r.status, 204, r.body)
  t.match(r.headers.get('etag'), /^"[0-9a-f]{32}"$/, 'an ETag is returned')
  t.equal(readFileSync(join(b.bucketDir, 'uploads/note.txt'), 'utf8'), 'hello from a form')
  const head = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'uploads/note.txt' }))
  t.equal(head.ContentType, 'text/plain')
  t.same(head.Metadata, { origin: 'browser' })
  t.equal(`"${head.ETag?.replace(/"/g, '')}"`, r.headers.get('etag'))
})

// Browsers, curl and requests send a file name outside ASCII as raw UTF-8 in the part's Content-Disposition;
// busboy read it as latin-1 by default, so ${filename} made a mojibake key ("GrÃ¼ÃŸe.txt") (sweep 14b F2).
t.test('${filename} takes a UTF-8 file name as the characters sent', async t => {
  const b = await startBridge(t)
  const pairs = signedPostFields(b.creds, { fields: [['key', 'uploads/${filename}']], conditions: [{ bucket: 'demo' }, ['starts-with', '$key', 'uploads/']] })
  const r = await postForm(url(b), pairs, { data: 'grüße', filename: 'Grüße 日本.txt' })
  t.equal(r.status, 204, r.body)
  t.equal(readFileSync(join(b.bucketDir, 'uploads', 'Grüße 日本.txt'), 'utf8'), 'grüße')
  const head = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'uploads/Grüße 日本.txt' }))
  t.equal(head.ContentLength, Buffer.byteLength('grüße'))
})

t.test('success_action_status 201 returns PostResponse XML; 200 an empty body', async t => {
  const b = await startBridge(t)
  const post = (status: string, key: string): Promise<Reply> => postForm(url(b), signedPostFields(b.creds, {
    fields: [['key', key], ['success_action_status', status]],
    conditions: [{ bucket: 'demo' }, { key }, { success_action_status: status }],
  }), { data: 'x' })
  const created = await post('201', 'a b.txt')
  t.equal(created.status, 201)
  t.match(created.body, /<PostResponse><Location>http:\/\/127\.0\.0\.1:\d+\/demo\/a%20b\.txt<\/Location><Bucket>demo<\/Bucket><Key>a b\.txt<\/Key><ETag>&quot;9dd4e461268c8034f5c8564e155c67a6&quot;<\/ETag><\/PostResponse>/)
  const ok = await post('200', 'two.txt')
  t.equal(ok.status, 200)
  t.equal(ok.body, '')
})

t.test('success_action_redirect answers 303 with bucket, key and etag in the query', async t => {
  const b = await startBridge(t)
  const redirect = 'https://app.example.com/done?x=1'
  const r = await postForm(url(b), signedPostFields(b.creds, {
    fields: [['key', 'r.txt'], ['success_action_redirect', redirect]],
    conditions: [{ bucket: 'demo' }, ['starts-with', '$key', ''], ['starts-with', '$success_action_redirect', 'https://app.example.com/']],
  }), { data: 'x' })
  t.equal(r.status, 303)
  const loc = new URL(r.headers.get('location') ?? '')
  t.equal(loc.origin + loc.pathname, 'https://app.example.com/done')
  t.same(Object.fromEntries(loc.searchParams), { x: '1', bucket: 'demo', key: 'r.txt', etag: '"9dd4e461268c8034f5c8564e155c67a6"' })
})

t.test('a SigV2 POST (AWSAccessKeyId, signature) is accepted', async t => {
  const b = await startBridge(t)
  const r = await postForm(url(b), signedPostFields(b.creds, { version: 'v2', fields: [['key', 'v2.txt']], conditions: [{ bucket: 'demo' }, { key: 'v2.txt' }] }), { data: 'two' })
  t.equal(r.status, 204, r.body)
  t.equal(readFileSync(join(b.bucketDir, 'v2.txt'), 'utf8'), 'two')
})

t.test('fields after the file are ignored; a key given only after it is missing', async t => {
  const b = await startBridge(t)
  const pairs = signedPostFields(b.creds, { conditions: [{ bucket: 'demo' }, ['starts-with', '$key', '']] })
  const r = await postForm(url(b), pairs, { data: 'x' }, { after: [['key', 'late.txt']] })
  t.equal(r.status, 400)
  t.same(errorOf(r), { code: 'InvalidArgument', message: 'Bucket POST must contain a field named \'key\'.  If it is specified, please check the order of the fields.' })
  assertNothingStored(t, b, 'late.txt')
  const noFile = await postForm(url(b), signedPostFields(b.creds, { fields: [['key', 'k']], conditions: [{ bucket: 'demo' }, { key: 'k' }] }), undefined)
  t.same(errorOf(noFile), { code: 'InvalidArgument', message: 'POST requires exactly one file upload per request.' })
})

t.test('a form with two files is refused and stores neither, an existing object is kept', async t => {
  const b = await startBridge(t)
  await postForm(url(b), signedPostFields(b.creds, { fields: [['key', 'two.txt']], conditions: [{ bucket: 'demo' }, { key: 'two.txt' }] }), { data: 'old' })
  const twoFiles = (second: (form: FormData) => void): Promise<Reply> => {
    const form = new FormData()
    for (const [k, v] of signedPostFields(b.creds, { fields: [['key', 'two.txt']], conditions: [{ bucket: 'demo' }, { key: 'two.txt' }] })) form.append(k, v)
    form.append('file', new Blob(['first']), 'a.txt')
    second(form)
    return send(url(b), { method: 'POST', body: form })
  }
  for (const [what, second] of [
    ['a second file part', (f: FormData) => f.append('file', new Blob(['second']), 'b.txt')],
    ['a second file as a plain field', (f: FormData) => f.append('file', 'second')],
  ] as const) {
    const r = await twoFiles(second)
    t.equal(r.status, 400, what)
    t.same(errorOf(r), { code: 'InvalidArgument', message: 'POST requires exactly one file upload per request.' }, what)
    t.equal(readFileSync(join(b.bucketDir, 'two.txt'), 'utf8'), 'old', `${what}: the object is unchanged`)
    t.same(readdirSync(join(b.bucketDir, '.s3bridge', 'tmp')), [], `${what}: no temp file left`)
  }
  const one = await twoFiles(f => f.append('x-ignored', 'after the file'))
  t.equal(one.status, 204, 'a field after the one file is still ignored')
  t.equal(readFileSync(join(b.bucketDir, 'two.txt'), 'utf8'), 'first')
})

t.test('policy violations give AWS\'s errors and leave no file behind', async t => {
  const b = await startBridge(t)
  const base = { fields: [['key', 'user/eric/photo.jpg']] as FormPairs }
  const cases: Array<[string, Parameters<typeof signedPostFields>[1], { status: number, code: string, message?: string }]> = [
    ['wrong bucket', { ...base, conditions: [{ bucket: 'other' }, ['starts-with', '$key', 'user/eric/']] },
      { status: 403, code: 'AccessDenied', message: 'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "other"]' }],
    ['key outside the prefix', { ...base, conditions: [{ bucket: 'demo' }, ['starts-with', '$key', 'user/alice/']] },
      { status: 403, code: 'AccessDenied', message: 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/alice/"]' }],
    ['a Content-Type other than the policy says', { fields: [...base.fields, ['Content-Type', 'text/plain']], conditions: [{ bucket: 'demo' }, ['starts-with', '$key', ''], ['starts-with', '$Content-Type', 'image/']] },
      { status: 403, code: 'AccessDenied', message: 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$Content-Type", "image/"]' }],
    ['expired policy', { ...base, expiration: new Date(Date.now() - 1000), conditions: [{ bucket: 'demo' }, ['starts-with', '$key', '']] },
      { status: 403, code: 'AccessDenied', message: 'Invalid according to Policy: Policy expired.' }],
    ['a field the policy does not name', { fields: [...base.fields, ['x-amz-meta-color', 'red']], conditions: [{ bucket: 'demo' }, ['starts-with', '$key', '']] },
      { status: 403, code: 'AccessDenied', message: 'Invalid according to Policy: Extra input fields: x-amz-meta-color' }],
    ['content-length-range below the file', { ...base, conditions: [{ bucket: 'demo' }, ['starts-with', '$key', ''], ['content-length-range', 0, 1024]] },
      { status: 400, code: 'EntityTooLarge' }],
    ['content-length-range above the file', { ...base, conditions: [{ bucket: 'demo' }, ['starts-with', '$key', ''], ['content-length-range', 4 * MiB, 8 * MiB]] },
      { status: 400, code: 'EntityTooSmall' }],
  ]
  for (const [what, opts, want] of cases) {
    const r = await postForm(url(b), signedPostFields(b.creds, opts), { data: Buffer.alloc(2 * MiB, 7) })
    t.equal(r.status, want.status, what)
    const e = errorOf(r)
    t.equal(e.code, want.code, what)
    if (want.message !== undefined) t.equal(e.message, want.message, what)
    assertNothingStored(t, b, 'user/eric/photo.jpg')
  }
})

t.test('a bad signature, an unknown key or a broken policy is refused', async t => {
  const b = await startBridge(t)
  const opts = { fields: [['key', 'k.txt']] as FormPairs, conditions: [{ bucket: 'demo' }, { key: 'k.txt' }] }
  const forged = signedPostFields({ ...b.creds, secretAccessKey: 'not-the-secret' }, opts)
  const bad = await postForm(url(b), forged, { data: 'x' })
  t.equal(bad.status, 403)
  t.equal(errorOf(bad).code, 'SignatureDoesNotMatch')
  const unknown = await postForm(url(b), signedPostFields({ accessKeyId: 'AKIDUNKNOWN000000000', secretAccessKey: 'x' }, opts), { data: 'x' })
  t.equal(errorOf(unknown).code, 'InvalidAccessKeyId')
  const tampered = signedPostFields(b.creds, opts).map(([k, v]): [string, string] => k === 'policy' ? [k, Buffer.from('{"expiration":"2099-01-01T00:00:00Z","conditions":[]}').toString('base64')] : [k, v])
  t.equal(errorOf(await postForm(url(b), tampered, { data: 'x' })).code, 'SignatureDoesNotMatch', 'a swapped policy fails the signature')
  const garbage = signedPostFields(b.creds, opts)
  const policyAt = garbage.findIndex(([k]) => k === 'policy')
  garbage[policyAt] = ['policy', Buffer.from('not json').toString('base64')]
  const sigAt = garbage.findIndex(([k]) => k === 'x-amz-signature')
  const { signingKey } = await import('../../lib/auth/sigv4/signing-key.js')
  const { createHmac } = await import('node:crypto')
  const cred = garbage.find(([k]) => k === 'x-amz-credential')?.[1] ?? ''
  garbage[sigAt] = ['x-amz-signature', createHmac('sha256', signingKey(b.creds.secretAccessKey, cred.split('/')[1] ?? '', 'us-east-1', 's3')).update(garbage[policyAt]?.[1] ?? '').digest('hex')]
  const broken = await postForm(url(b), garbage, { data: 'x' })
  t.same(errorOf(broken), { code: 'InvalidPolicyDocument', message: 'Invalid Policy: Invalid JSON.' })
  assertNothingStored(t, b, 'k.txt')
})

t.test('the signer needs write access: a user without it gets AccessDenied', async t => {
  const b = await startBridge(t)
  const other = await b.addUser('mallory', 3000, 3000)
  const r = await postForm(url(b), signedPostFields(other, { fields: [['key', 'm.txt']], conditions: [{ bucket: 'demo' }, { key: 'm.txt' }] }), { data: 'x' })
  t.equal(r.status, 403)
  t.same(errorOf(r), { code: 'AccessDenied', message: 'Access Denied' })
  assertNothingStored(t, b, 'm.txt')
})

t.test('an unsigned POST is anonymous: denied unless the bucket ACL lets everyone write', async t => {
  const b = await startBridge(t)
  const denied = await postForm(url(b), [['key', 'anon.txt']], { data: 'x' })
  t.equal(denied.status, 403)
  assertNothingStored(t, b, 'anon.txt')
  chmodSync(b.bucketDir, 0o777)
  await b.daemon.services.state.mutate(s => { s.buckets.demo?.acl.push({ name: 'everyone', type: 'wellknown', permission: 'WRITE' }) })
  const allowed = await postForm(url(b), [['key', 'anon.txt']], { data: 'x' })
  t.equal(allowed.status, 204, allowed.body)
  t.ok(existsSync(join(b.bucketDir, 'anon.txt')))
})

t.test('a POST that is not multipart/form-data is refused; a 20 MiB upload streams through', async t => {
  const b = await startBridge(t)
  const r = await fetch(url(b), { method: 'POST', body: 'key=x', headers: { 'content-type': 'text/plain' } })
  t.equal(r.status, 412)
  await r.text()
  const big = Buffer.alloc(20 * MiB, 1)
  const ok = await postForm(url(b), signedPostFields(b.creds, { fields: [['key', 'big.bin']], conditions: [{ bucket: 'demo' }, { key: 'big.bin' }, ['content-length-range', 0, 32 * MiB]] }), { data: big })
  t.equal(ok.status, 204, ok.body)
  t.equal(readFileSync(join(b.bucketDir, 'big.bin')).length, big.length)
})

// RESTObjectPOST: the acl, tagging, x-amz-server-side-encryption and x-amz-storage-class fields mean what the
// PutObject headers mean. A POST with acl=private was stored world-readable, and aws:kms was stored in the clear.
t.test('the acl, tagging, encryption and storage class fields act as PutObject\'s headers do', async t => {
  const b = await startBridge(t)
  const { anonymousClient } = await import('../fixtures/daemon.js')
  const { GetObjectCommand, GetObjectTaggingCommand } = await import('@aws-sdk/client-s3')
  const post = (key: string, extra: FormPairs): Promise<Reply> => postForm(url(b), signedPostFields(b.creds, {
    fields: [['key', key], ...extra],
    conditions: [{ bucket: 'demo' }, { key }, ...extra.map(([k, v]) => ({ [k]: v }))],
  }), { data: 'form data' })
  const anon = anonymousClient(b.endpoint, t)
  const open = await post('public.txt', [['acl', 'public-read']])
  t.equal(open.status, 204, open.body)
  t.equal(await (await anon.send(new GetObjectCommand({ Bucket: 'demo', Key: 'public.txt' }))).Body?.transformToString(), 'form data', 'acl=public-read: anyone reads it')
  const closed = await post('private.txt', [['acl', 'private']])
  t.equal(closed.status, 204, closed.body)
  await t.rejects(anon.send(new GetObjectCommand({ Bucket: 'demo', Key: 'private.txt' })), { name: 'AccessDenied' }, 'acl=private: only the owner')
  const bogus = await post('bogus.txt', [['acl', 'bogus']])
  t.equal(bogus.status, 400)
  t.equal(errorOf(bogus).code, 'InvalidArgument')
  assertNothingStored(t, b, 'bogus.txt')
  const kms = await post('kms.txt', [['x-amz-server-side-encryption', 'aws:kms']])
  t.equal(kms.status, 501, 'KMS encryption cannot be honoured, so it is refused as on PutObject')
  assertNothingStored(t, b, 'kms.txt')
  const cold = await post('cold.txt', [['x-amz-storage-class', 'NOT_A_CLASS']])
  t.equal(errorOf(cold).code, 'InvalidStorageClass')
  const tagged = await post('tagged.txt', [['tagging', '<Tagging><TagSet><Tag><Key>project</Key><Value>blue</Value></Tag></TagSet></Tagging>']])
  t.equal(tagged.status, 204, tagged.body)
  const tags = await b.s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'tagged.txt' }))
  t.same(tags.TagSet, [{ Key: 'project', Value: 'blue' }])
})

t.test('the Location of a POST to a virtual-hosted bucket is the object\'s virtual-hosted URL', async t => {
  const b = await startBridge(t, { baseDomains: ['s3.localhost'] })
  const { request } = await import('node:http')
  const port = new URL(b.endpoint).port
  const pairs = signedPostFields(b.creds, { fields: [['key', 'v h.txt'], ['success_action_status', '201']], conditions: [{ bucket: 'demo' }, { key: 'v h.txt' }, { success_action_status: '201' }] })
  // fetch will not send another Host: a hand-made multipart body over node:http.
  const boundary = 'vhostboundary'
  const parts = [...pairs, ['file', 'x']].map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"${k === 'file' ? '; filename="x.txt"' : ''}\r\n\r\n${v}\r\n`)
  const body = parts.join('') + `--${boundary}--\r\n`
  const r = await new Promise<{ status: number, location?: string, text: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { host: `demo.s3.localhost:${port}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': Buffer.byteLength(body) } }, res => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, text }))
    })
    req.on('error', reject)
    req.end(body)
  })
  t.equal(r.status, 201, r.text)
  t.equal(r.location, `http://demo.s3.localhost:${port}/v%20h.txt`)
  t.match(r.text, `<Location>http://demo.s3.localhost:${port}/v%20h.txt</Location>`)
})

t.test('form fields outside ASCII are stored as text and come back RFC 2047-encoded, never as a 500', async t => {
  const b = await startBridge(t)
  const fields: FormPairs = [['key', 'intl.txt'], ['x-amz-meta-title', '\u65e5\u672c\u8a9e'], ['x-amz-meta-note', 'caf\u00e9 au lait'],
    ['Content-Disposition', 'attachment; filename="r\u00e9sum\u00e9 \u2713.txt"']]
  const r = await postForm(url(b), signedPostFields(b.creds, { fields, conditions: [{ bucket: 'demo' }, ['starts-with', '$key', ''], ['starts-with', '$x-amz-meta-title', ''], ['starts-with', '$x-amz-meta-note', ''], ['starts-with', '$Content-Disposition', '']] }), { data: 'x' })
  t.equal(r.status, 204, r.body)
  const head = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'intl.txt' }))
  t.same(head.Metadata, { title: '=?UTF-8?B?5pel5pys6Kqe?=', note: '=?UTF-8?Q?caf=C3=A9_au_lait?=' })
  // U+2713 cannot travel in a header at all; it is encoded rather than failing the read
  t.equal(head.ContentDisposition, '=?UTF-8?Q?attachment;_filename=3D"r=C3=A9sum=C3=A9_=E2=9C=93.txt"?=')
  const get = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'intl.txt' }))
  t.equal(await get.Body?.transformToString(), 'x')
})

t.test('fields sent as file parts (as Python requests sends every entry of files=, s3-tests among them) are read as the fields', async t => {
  const b = await startBridge(t)
  const pairs = signedPostFields(b.creds, {
    fields: [['key', 'as-files.txt'], ['Content-Type', 'text/plain']],
    conditions: [{ bucket: 'demo' }, ['eq', '$key', 'as-files.txt'], ['eq', '$Content-Type', 'text/plain']],
  })
  const asFiles = (entries: FormPairs): FormData => {
    const form = new FormData()
    for (const [k, v] of entries) form.append(k, new Blob([v]), k) // Content-Disposition: form-data; name="k"; filename="k"
    form.append('file', new Blob(['bar']), 'file')
    return form
  }
  const r = await send(url(b), { method: 'POST', body: asFiles(pairs) })
  t.equal(r.status, 204, r.body)
  t.equal(readFileSync(join(b.bucketDir, 'as-files.txt'), 'utf8'), 'bar')
  t.equal((await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'as-files.txt' }))).ContentType, 'text/plain')
  // The fields are really checked: a bad signature sent the same way is 403, not a 400 about the form.
  const forged = pairs.map(([k, v]): [string, string] => [k, k.toLowerCase() === 'x-amz-signature' ? '0'.repeat(64) : v])
  const bad = await send(url(b), { method: 'POST', body: asFiles(forged) })
  t.equal(bad.status, 403, bad.body)
  t.equal(errorOf(bad).code, 'SignatureDoesNotMatch')
  // And they count toward the 20 KB of form data before the file.
  const long = await send(url(b), { method: 'POST', body: asFiles([...pairs, ['x-amz-meta-big', 'x'.repeat(30_000)]]) })
  t.equal(long.status, 400, long.body)
  t.equal(errorOf(long).code, 'MaxPostPreDataLengthExceededError')
  // So do more fields than are read (1,000) before the file: the error says so, not "one file per request".
  const many = await postForm(url(b), [...pairs, ...Array.from({ length: 1500 }, (_, i): [string, string] => [`x-ignore-${i}`, 'v'])], { data: 'x' })
  t.equal(many.status, 400, many.body)
  t.equal(errorOf(many).code, 'MaxPostPreDataLengthExceededError')
})

t.test('a simple condition names exactly one field: {} or two at once is a malformed policy (400), as AWS answers', async t => {
  const b = await startBridge(t)
  for (const conditions of [[{ bucket: 'demo' }, {}], [{ bucket: 'demo', key: 'k.txt' }]]) {
    const pairs = signedPostFields(b.creds, { fields: [['key', 'k.txt']], conditions: conditions as PolicyOptions['conditions'] })
    const r = await postForm(url(b), pairs, { data: 'x' })
    t.equal(r.status, 400, JSON.stringify(conditions))
    t.same(errorOf(r), { code: 'InvalidPolicyDocument', message: 'Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.' })
  }
  assertNothingStored(t, b, 'k.txt')
})

t.test('the form\'s Content-MD5 and x-amz-checksum-* fields are checked against the file (BadDigest stores nothing) and a matching checksum is kept', async t => {
  const b = await startBridge(t)
  const data = 'form body'
  const md5 = createHash('md5').update(data).digest('base64')
  const sha256 = createHash('sha256').update(data).digest('base64')
  const post = (key: string, digest: [string, string]): Promise<Reply> => postForm(url(b), signedPostFields(b.creds, {
    fields: [['key', key], digest],
    conditions: [{ bucket: 'demo' }, { key }, { [digest[0]]: digest[1] }],
  }), { data, filename: 'f.txt' })
  const wrongMd5 = await post('md5-wrong', ['Content-MD5', createHash('md5').update('other').digest('base64')])
  t.equal(wrongMd5.status, 400)
  t.equal(errorOf(wrongMd5).code, 'BadDigest', 'a Content-MD5 of other bytes')
  assertNothingStored(t, b, 'md5-wrong')
  const badMd5 = await post('md5-bad', ['Content-MD5', 'not-base64!'])
  t.equal(errorOf(badMd5).code, 'InvalidDigest', 'a Content-MD5 that is no MD5')
  assertNothingStored(t, b, 'md5-bad')
  const wrongSha = await post('sha-wrong', ['x-amz-checksum-sha256', createHash('sha256').update('other').digest('base64')])
  t.equal(errorOf(wrongSha).code, 'BadDigest', 'a wrong x-amz-checksum-sha256')
  assertNothingStored(t, b, 'sha-wrong')
  t.equal((await post('md5-right', ['Content-MD5', md5])).status, 204, 'the right Content-MD5 stores the file')
  t.equal(readFileSync(join(b.bucketDir, 'md5-right'), 'utf8'), data)
  t.equal((await post('sha-right', ['x-amz-checksum-sha256', sha256])).status, 204, 'the right checksum stores it')
  const head = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'sha-right', ChecksumMode: 'ENABLED' }))
  t.equal(head.ChecksumSHA256, sha256, 'and the checksum is kept, as a PUT\'s is')
})

t.test('a browser POST is s3:authType POST to policies (not REST-HEADER)', async t => {
  const b = await startBridge(t)
  const bob = await b.addUser('bob', 2000, 2000)
  const deny = (type: string): string => JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:PutObject', Resource: 'arn:aws:s3:::demo/*' },
      { Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::demo/*', Condition: { StringEquals: { 's3:authType': type } } },
    ],
  })
  const post = (key: string): Promise<Reply> => postForm(url(b), signedPostFields(bob, { fields: [['key', key]], conditions: [{ bucket: 'demo' }, { key }] }), { data: 'x', filename: 'x' })
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.policy = deny('POST') })
  t.equal((await post('denied')).status, 403, 'a Deny on authType POST stops form uploads')
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'header-put', Body: 'x' }))
  t.pass('and not header-signed PUTs')
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.policy = deny('REST-HEADER') })
  t.equal((await post('allowed')).status, 204, 'a Deny on REST-HEADER does not')
})

t.test('a form signed for another service (sts, iam) is refused, as header and query signatures are', async t => {
  const b = await startBridge(t)
  const pairs = signedPostFields(b.creds, { fields: [['key', 'svc.txt']], conditions: [{ bucket: 'demo' }, { key: 'svc.txt' }] })
  // Re-sign the same form for "sts": a valid signature over another service's scope.
  const date = (pairs.find(([k]) => k === 'x-amz-date') as [string, string])[1]
  const credential = `${b.creds.accessKeyId}/${date.slice(0, 8)}/us-east-1/sts/aws4_request`
  const policyJson = { expiration: new Date(Date.now() + 600_000).toISOString(), conditions: [{ bucket: 'demo' }, { key: 'svc.txt' }, { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': date }] }
  const policy = Buffer.from(JSON.stringify(policyJson)).toString('base64')
  const kDate = createHmac('sha256', 'AWS4' + b.creds.secretAccessKey).update(date.slice(0, 8)).digest()
  const kRegion = createHmac('sha256', kDate).update('us-east-1').digest()
  const kService = createHmac('sha256', kRegion).update('sts').digest()
  const key = createHmac('sha256', kService).update('aws4_request').digest()
  const signature = createHmac('sha256', key).update(policy).digest('hex')
  const form: FormPairs = [['key', 'svc.txt'], ['x-amz-algorithm', 'AWS4-HMAC-SHA256'], ['x-amz-credential', credential], ['x-amz-date', date], ['policy', policy], ['x-amz-signature', signature]]
  const r = await postForm(url(b), form, { data: 'x', filename: 'x' })
  t.equal(r.status, 400, r.body)
  t.match(errorOf(r).message, /incorrect service "sts"/)
  assertNothingStored(t, b, 'svc.txt')
})
