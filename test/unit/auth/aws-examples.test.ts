// AWS's published SigV4/SigV2 examples (S3 API reference) must verify byte for byte.
import { Readable } from 'node:stream'
import t from 'tap'
import { authenticate, verifiedBody } from '../../../lib/auth/authenticate.js'

const AKID = 'AKIAIOSFODNN7EXAMPLE'
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
const lookup = async (key: string): Promise<string[] | undefined> => (key === AKID ? [SECRET] : undefined)
const opts = { now: new Date('2013-05-24T00:00:00Z'), maxClockSkewMs: 15 * 60_000, maxPresignExpirySeconds: 604800 }

t.test('the GET object header example verifies', async t => {
  const auth = await authenticate({
    method: 'GET', rawUrl: '/test.txt', headers: {
      host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9',
      'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'x-amz-date': '20130524T000000Z',
      authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41`,
    },
  }, lookup, opts)
  t.match(auth, { accessKeyId: AKID, signatureVersion: 'AWS4-HMAC-SHA256', authType: 'REST-HEADER', region: 'us-east-1', payload: { kind: 'signed' } })
})

t.test('the presigned GET example verifies and expires after 86400 seconds', async t => {
  const rawUrl = '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404'
  const req = { method: 'GET', rawUrl, headers: { host: 'examplebucket.s3.amazonaws.com' } }
  t.match(await authenticate(req, lookup, opts), { authType: 'REST-QUERY-STRING', payload: { kind: 'unsigned' } })
  await t.rejects(authenticate(req, lookup, { ...opts, now: new Date('2013-05-25T00:00:01Z') }), {
    code: 'AccessDenied', message: 'Request has expired', fields: { 'X-Amz-Expires': 86400, Expires: '2013-05-25T00:00:00.000Z' },
  })
})

t.test('the streaming PUT example verifies its seed and all three chunk signatures', async t => {
  const headers = {
    host: 's3.amazonaws.com', 'x-amz-date': '20130524T000000Z', 'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560', 'content-length': '66824',
    authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9`,
  }
  const auth = await authenticate({ method: 'PUT', rawUrl: '/examplebucket/chunkObject.txt', headers }, lookup, opts)
  t.match(auth?.payload, { kind: 'streaming-signed', trailer: false })
  const wire = Buffer.concat([
    Buffer.from('10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n'),
    Buffer.alloc(65536, 'a'), Buffer.from('\r\n'),
    Buffer.from('400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n'),
    Buffer.alloc(1024, 'a'), Buffer.from('\r\n'),
    Buffer.from('0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n'),
  ])
  t.equal(wire.length, 66824)
  const { body } = verifiedBody(Readable.from([wire]), auth, headers)
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  t.same(Buffer.concat(chunks), Buffer.alloc(66560, 'a'))
})

t.test('the SigV2 virtual-hosted GET example verifies', async t => {
  const auth = await authenticate({
    method: 'GET', rawUrl: '/photos/puppy.jpg', virtualHostedBucket: 'johnsmith',
    headers: { host: 'johnsmith.s3.amazonaws.com', date: 'Tue, 27 Mar 2007 19:36:42 +0000', authorization: `AWS ${AKID}:bWq2s1WEIj+Ydj0vQ697zp+IXMU=` },
  }, lookup, { ...opts, now: new Date('2007-03-27T19:40:00Z') })
  t.match(auth, { accessKeyId: AKID, signatureVersion: 'AWS', authType: 'REST-HEADER', payload: { kind: 'none-declared' } })
})
