// AWS behaviours a third conformance sweep (listing, multipart listing, ranges, conditions, copy) found missing,
// checked through the AWS SDK and raw signed requests.
import t from 'tap'
import {
  CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, ListBucketsCommand,
  ListMultipartUploadsCommand, ListObjectVersionsCommand, PutObjectCommand, UploadPartCommand, CompleteMultipartUploadCommand,
} from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { sendSigned } from '../fixtures/clients/raw-request.js'

const codeOf = (body: string): string | undefined => /<Code>([^<]*)<\/Code>/.exec(body)?.[1]
const field = (body: string, name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1]

t.test('ListBuckets honours prefix, max-buckets and continuation-token (API reference, ListBuckets)', async t => {
  const b = await startBridge(t)
  for (const name of ['alpha1', 'beta1', 'beta2', 'gamma1']) await b.s3.send(new CreateBucketCommand({ Bucket: name }))
  const names = (r: { Buckets?: Array<{ Name?: string }> }): Array<string | undefined> => (r.Buckets ?? []).map(x => x.Name)
  const all = await b.s3.send(new ListBucketsCommand({}))
  t.same(names(all), ['alpha1', 'beta1', 'beta2', 'demo', 'gamma1'])
  t.equal(all.ContinuationToken, undefined, 'no token when everything fits')
  t.equal(all.Buckets?.[0]?.BucketRegion, 'us-east-1')
  const beta = await b.s3.send(new ListBucketsCommand({ Prefix: 'beta' }))
  t.same(names(beta), ['beta1', 'beta2'])
  t.equal(beta.Prefix, 'beta', 'the prefix is echoed')
  const seen: Array<string | undefined> = []
  let token: string | undefined
  let pages = 0
  do {
    const page = await b.s3.send(new ListBucketsCommand({ MaxBuckets: 2, ContinuationToken: token }))
    t.ok((page.Buckets ?? []).length <= 2)
    seen.push(...names(page))
    token = page.ContinuationToken
    pages++
  } while (token !== undefined)
  t.same(seen, names(all), 'pages of two give every bucket once')
  t.equal(pages, 3)
  for (const [query, message] of [
    ['max-buckets=0', 'Argument max-buckets must be an integer between 1 and 10000.'],
    ['max-buckets=10001', 'Argument max-buckets must be an integer between 1 and 10000.'],
    ['max-buckets=abc', 'Provided max-buckets not an integer or within integer range.'],
    ['continuation-token=%21%21', 'The continuation token provided is incorrect'],
  ] as const) {
    const r = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: `/?${query}` })
    t.equal(r.status, 400, query)
    t.equal(codeOf(r.body), 'InvalidArgument', query)
    t.equal(field(r.body, 'Message'), message, query)
  }
})

t.test('ranges: a suffix range of an empty object is the empty object; a 416 names the size in Content-Range', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'empty', Body: '' }))
  const tail = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'empty', Range: 'bytes=-8' }))
  t.equal(tail.$metadata.httpStatusCode, 200, 'bytes=-8 of nothing is 200')
  t.equal(await tail.Body?.transformToString(), '')
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'ten', Body: '0123456789' }))
  const r = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/demo/ten', headers: { range: 'bytes=10-20' } })
  t.equal(r.status, 416)
  t.equal(codeOf(r.body), 'InvalidRange')
  t.equal(r.headers['content-range'], 'bytes */10')
  const empty = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/demo/empty', headers: { range: 'bytes=0-0' } })
  t.equal(empty.status, 416, 'a first-byte range of an empty object stays unsatisfiable')
  t.equal(empty.headers['content-range'], 'bytes */0')
})

t.test('304 Not Modified keeps ETag, Last-Modified, Cache-Control and Expires', async t => {
  const b = await startBridge(t)
  const put = await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'cached', Body: 'x', CacheControl: 'max-age=60', Expires: new Date('2030-01-01T00:00:00Z') }))
  for (const method of ['GET', 'HEAD']) {
    const r = await sendSigned(b.endpoint, b.creds, { method, path: '/demo/cached', headers: { 'if-none-match': String(put.ETag) } })
    t.equal(r.status, 304, method)
    t.equal(r.headers.etag, put.ETag)
    t.match(r.headers['last-modified'], /GMT$/)
    t.equal(r.headers['cache-control'], 'max-age=60')
    t.equal(r.headers.expires, 'Tue, 01 Jan 2030 00:00:00 GMT')
    t.equal(r.body, '')
  }
})

t.test('copy-source preconditions name the x-amz-copy-source- header in <Condition>', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'src', Body: 'x' }))
  const cases = [
    ['x-amz-copy-source-if-match', '"00000000000000000000000000000000"', 'x-amz-copy-source-If-Match'],
    ['x-amz-copy-source-if-unmodified-since', 'Mon, 01 Jan 2001 00:00:00 GMT', 'x-amz-copy-source-If-Unmodified-Since'],
  ] as const
  for (const [header, value, condition] of cases) {
    const r = await sendSigned(b.endpoint, b.creds, { method: 'PUT', path: '/demo/dst', headers: { 'x-amz-copy-source': '/demo/src', [header]: value } })
    t.equal(r.status, 412, header)
    t.equal(field(r.body, 'Condition'), condition)
  }
  await t.rejects(b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'dst', CopySource: 'demo/src', CopySourceIfNoneMatch: '*' })), { name: 'PreconditionFailed' })
  const get = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/demo/src', headers: { 'if-match': '"00000000000000000000000000000000"' } })
  t.equal(field(get.body, 'Condition'), 'If-Match', 'plain conditions keep their plain names')
})

t.test('x-amz-mp-parts-count only answers a request with partNumber', async t => {
  const b = await startBridge(t)
  const up = await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'mp', Metadata: {} }))
  const part = await b.s3.send(new UploadPartCommand({ Bucket: 'demo', Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: 'one' }))
  await b.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key: 'mp', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }))
  t.equal((await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'mp' }))).PartsCount, undefined, 'not on a plain HEAD')
  t.equal((await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'mp' }))).PartsCount, undefined, 'nor a plain GET')
  t.equal((await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'mp', PartNumber: 1 }))).PartsCount, 1, 'but with partNumber')
})

t.test('ListObjectVersions: a version-id marker needs a key marker and must name a version', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'a', Body: 'x' }))
  await t.rejects(b.s3.send(new ListObjectVersionsCommand({ Bucket: 'demo', VersionIdMarker: 'abc' })),
    { name: 'InvalidArgument', message: 'A version-id marker cannot be specified without a key marker.' })
  await t.rejects(b.s3.send(new ListObjectVersionsCommand({ Bucket: 'demo', KeyMarker: 'a', VersionIdMarker: 'abc' })),
    { name: 'InvalidArgument', message: 'Invalid version id specified' })
  const ok = await b.s3.send(new ListObjectVersionsCommand({ Bucket: 'demo', KeyMarker: 'a', VersionIdMarker: 'null' }))
  t.equal(ok.$metadata.httpStatusCode, 200)
})

t.test('ListMultipartUploads encodes keys as ListObjects does; max-uploads=0 is an empty, untruncated page', async t => {
  const b = await startBridge(t)
  await b.s3.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: "w x(1)+'!*" }))
  const r = await sendSigned(b.endpoint, b.creds, { method: 'GET', path: '/demo?uploads&encoding-type=url' })
  t.equal(field(r.body, 'Key'), 'w+x%281%29%2B%27%21%2A')
  const zero = await b.s3.send(new ListMultipartUploadsCommand({ Bucket: 'demo', MaxUploads: 0 }))
  t.equal(zero.IsTruncated, false)
  t.equal(zero.Uploads, undefined)
})

t.test('HeadBucket names the region on 200 and on 403', async t => {
  const b = await startBridge(t)
  const other = await b.addUser('outsider', 1009, 1009)
  const ok = await sendSigned(b.endpoint, b.creds, { method: 'HEAD', path: '/demo' })
  t.equal(ok.status, 200)
  t.equal(ok.headers['x-amz-bucket-region'], 'us-east-1')
  const refused = await sendSigned(b.endpoint, other, { method: 'HEAD', path: '/demo' })
  t.equal(refused.status, 403)
  t.equal(refused.headers['x-amz-bucket-region'], 'us-east-1')
  const missing = await sendSigned(b.endpoint, b.creds, { method: 'HEAD', path: '/nobucket' })
  t.equal(missing.status, 404)
})

t.test('x-amz-expected-bucket-owner naming another account is 403; the bridge account passes', async t => {
  const b = await startBridge(t)
  const { ACCOUNT_ID } = await import('../../lib/access/authorize.js')
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'owned', Body: 'x', ExpectedBucketOwner: ACCOUNT_ID }))
  await t.rejects(b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'sniped', Body: 'x', ExpectedBucketOwner: '111122223333' })), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })
  await t.rejects(b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'owned', ExpectedBucketOwner: '111122223333' })), { name: 'AccessDenied' })
  await t.rejects(b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'copy', CopySource: 'demo/owned', ExpectedSourceBucketOwner: '111122223333' })), { name: 'AccessDenied' })
  await b.s3.send(new CopyObjectCommand({ Bucket: 'demo', Key: 'copy', CopySource: 'demo/owned', ExpectedSourceBucketOwner: ACCOUNT_ID, ExpectedBucketOwner: ACCOUNT_ID }))
  await t.rejects(b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'sniped' })), { name: 'NotFound' }, 'the refused PUT stored nothing')
})
