// SigV2 header and query forms: string to sign, sub-resources, x-amz-date precedence and expiry.
import { createHmac } from 'node:crypto'
import t from 'tap'
import { authenticate } from '../../../lib/auth/authenticate.js'
import { sigV2StringToSign } from '../../../lib/auth/sigv2.js'

const AKID = 'AKIDV2'
const SECRET = 'v2-secret'
const lookup = async (key: string): Promise<string[] | undefined> => (key === AKID ? [SECRET] : undefined)
const now = new Date('2024-03-10T12:00:00Z')
const opts = { now, maxClockSkewMs: 15 * 60_000, maxPresignExpirySeconds: 604800 }
const sign = (sts: string): string => createHmac('sha1', SECRET).update(sts).digest('base64')

t.test('the string to sign lists amz headers sorted and sub-resources only', async t => {
  const sts = sigV2StringToSign('put', { 'content-md5': 'MD5', 'content-type': 'text/plain', 'x-amz-meta-b': ' two ', 'x-amz-acl': 'private' }, 'DATE', '/b/k?uploadId=1')
  t.equal(sts, 'PUT\nMD5\ntext/plain\nDATE\nx-amz-acl:private\nx-amz-meta-b:two\n/b/k?uploadId=1')
})

t.test('a header-signed request with sub-resources verifies and ignores other query parameters', async t => {
  const date = now.toUTCString()
  const sts = `GET\n\n\n${date}\n/b/my%20key?acl&versionId=v 1`
  const req = { method: 'GET', rawUrl: '/b/my%20key?versionId=v%201&acl&prefix=zz', headers: { host: 'h', date, authorization: `AWS ${AKID}:${sign(sts)}` } }
  t.match(await authenticate(req, lookup, opts), { signatureVersion: 'AWS', authType: 'REST-HEADER' })
  await t.rejects(authenticate({ ...req, rawUrl: '/b/my%20key?versionId=v%202&acl' }, lookup, opts), { code: 'SignatureDoesNotMatch', fields: { AWSAccessKeyId: AKID } })
})

t.test('a path-style bucket request signed over "/bucket/" (as botocore signs it) verifies; other keys do not', async t => {
  const date = now.toUTCString()
  const sts = `GET\n\n\n${date}\n/b/?acl`
  const req = { method: 'GET', rawUrl: '/b?acl&max-keys=1', headers: { host: 'h', date, authorization: `AWS ${AKID}:${sign(sts)}` } }
  t.match(await authenticate(req, lookup, opts), { signatureVersion: 'AWS', authType: 'REST-HEADER' })
  await t.rejects(authenticate({ ...req, rawUrl: '/c?acl' }, lookup, opts), { code: 'SignatureDoesNotMatch' })
  const onKey = `GET\n\n\n${date}\n/b/k/`
  await t.rejects(authenticate({ method: 'GET', rawUrl: '/b/k', headers: { host: 'h', date, authorization: `AWS ${AKID}:${sign(onKey)}` } }, lookup, opts),
    { code: 'SignatureDoesNotMatch' }, 'only the bucket form gains a slash')
})

t.test('x-amz-date takes precedence over Date and leaves the Date line empty', async t => {
  const amzDate = now.toUTCString()
  const sts = `GET\n\n\n\nx-amz-date:${amzDate}\n/b/k`
  const req = { method: 'GET', rawUrl: '/b/k', headers: { host: 'h', date: 'Mon, 01 Jan 2001 00:00:00 GMT', 'x-amz-date': amzDate, authorization: `AWS ${AKID}:${sign(sts)}` } }
  t.ok(await authenticate(req, lookup, opts))
})

t.test('a header-signed request outside the clock skew is RequestTimeTooSkewed', async t => {
  const date = new Date(now.getTime() - 16 * 60_000).toUTCString()
  const req = { method: 'GET', rawUrl: '/b/k', headers: { host: 'h', date, authorization: `AWS ${AKID}:${sign(`GET\n\n\n${date}\n/b/k`)}` } }
  await t.rejects(authenticate(req, lookup, opts), { code: 'RequestTimeTooSkewed' })
})

t.test('a query-signed URL verifies until its Expires and is AccessDenied after', async t => {
  const expires = Math.floor(now.getTime() / 1000) + 60
  const signature = encodeURIComponent(sign(`GET\n\n\n${expires}\n/b/k`))
  const req = { method: 'GET', rawUrl: `/b/k?AWSAccessKeyId=${AKID}&Expires=${expires}&Signature=${signature}`, headers: { host: 'h' } }
  t.match(await authenticate(req, lookup, opts), { authType: 'REST-QUERY-STRING', signatureVersion: 'AWS' })
  await t.rejects(authenticate(req, lookup, { ...opts, now: new Date(now.getTime() + 61_000) }), { code: 'AccessDenied', message: 'Request has expired' })
  await t.rejects(authenticate({ ...req, rawUrl: `/b/k?AWSAccessKeyId=${AKID}&Signature=${signature}` }, lookup, opts), { code: 'AccessDenied' })
})

t.test('an unknown SigV2 access key is InvalidAccessKeyId and a malformed header is InvalidArgument', async t => {
  const date = now.toUTCString()
  await t.rejects(authenticate({ method: 'GET', rawUrl: '/', headers: { date, authorization: 'AWS nobody:c2ln' } }, lookup, opts), { code: 'InvalidAccessKeyId' })
  await t.rejects(authenticate({ method: 'GET', rawUrl: '/', headers: { date, authorization: 'AWS nocolon' } }, lookup, opts), { code: 'InvalidArgument' })
})

t.test('a date before the epoch is no valid date: AccessDenied, not RequestTimeTooSkewed (s3-tests bad_date_before_epoch_aws2)', async t => {
  const date = 'Tue, 07 Jul 1950 21:53:04 GMT'
  const req = { method: 'GET', rawUrl: '/b/k', headers: { host: 'h', date, authorization: `AWS ${AKID}:${sign(`GET\n\n\n${date}\n/b/k`)}` } }
  await t.rejects(authenticate(req, lookup, opts), { code: 'AccessDenied' })
  const epoch = 'Thu, 01 Jan 1970 00:00:00 GMT'
  const late = { method: 'GET', rawUrl: '/b/k', headers: { host: 'h', date: epoch, authorization: `AWS ${AKID}:${sign(`GET\n\n\n${epoch}\n/b/k`)}` } }
  await t.rejects(authenticate(late, lookup, opts), { code: 'RequestTimeTooSkewed' }, 'a valid but old date is still skew')
})

t.test('x-amz-* query parameters of a query-signed URL are signed as amz headers (botocore HmacV1QueryAuth)', async t => {
  const expires = Math.floor(now.getTime() / 1000) + 60
  const query = (signature: string): string =>
    `/b/k?AWSAccessKeyId=${AKID}&Expires=${expires}&Signature=${encodeURIComponent(signature)}&x-amz-security-token=T%2Bok`
  const signedWithToken = sign(`GET\n\n\n${expires}\nx-amz-security-token:T+ok\n/b/k`)
  t.match(await authenticate({ method: 'GET', rawUrl: query(signedWithToken), headers: { host: 'h' } }, lookup, opts),
    { authType: 'REST-QUERY-STRING', securityToken: 'T+ok' })
  await t.rejects(authenticate({ method: 'GET', rawUrl: query(sign(`GET\n\n\n${expires}\n/b/k`)), headers: { host: 'h' } }, lookup, opts),
    { code: 'SignatureDoesNotMatch', fields: { StringToSign: `GET\n\n\n${expires}\nx-amz-security-token:T+ok\n/b/k` } }, 'the token cannot be added to a URL signed without it')
})

t.test('a query-signed URL whose Expires is more than a week ahead is AccessDenied, even correctly signed', async t => {
  const week = 604800
  const url = (expires: number): string =>
    `/b/k?AWSAccessKeyId=${AKID}&Expires=${expires}&Signature=${encodeURIComponent(sign(`GET\n\n\n${expires}\n/b/k`))}`
  const nowS = Math.floor(now.getTime() / 1000)
  t.ok(await authenticate({ method: 'GET', rawUrl: url(nowS + week), headers: { host: 'h' } }, lookup, opts), 'a week is fine')
  t.ok(await authenticate({ method: 'GET', rawUrl: url(nowS + week + 60), headers: { host: 'h' } }, lookup, opts), 'so is a client clock a minute ahead')
  await t.rejects(authenticate({ method: 'GET', rawUrl: url(nowS + 10 * 365 * 86400), headers: { host: 'h' } }, lookup, opts),
    { code: 'AccessDenied', message: 'Expires must be at most 604800 seconds after the request time', fields: { MaxExpirySeconds: week } })
  await t.rejects(authenticate({ method: 'GET', rawUrl: url(nowS + week + 16 * 60), headers: { host: 'h' } }, lookup, opts), { code: 'AccessDenied' })
  // Past JavaScript's date range: still AccessDenied, not a RangeError (a 500 with a stack trace, sweep 24a #4).
  for (const expires of ['8640000000001', '99999999999999999999']) {
    await t.rejects(authenticate({ method: 'GET', rawUrl: `/b/k?AWSAccessKeyId=x&Expires=${expires}&Signature=x`, headers: { host: 'h' } }, lookup, opts),
      { code: 'AccessDenied', message: 'Expires must be at most 604800 seconds after the request time' }, expires)
  }
})
