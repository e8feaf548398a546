// SigV2 (the legacy S3 "AWS AKID:signature" scheme): header and query forms, string to sign, verification.
import { createHmac } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { S3Error } from '../errors/s3-error.js'
import type { Authenticated, AuthOptions, SecretLookup } from './authenticate.js'
import { assertPresignedV2Valid, assertWithinSkew } from './request-time.js'
import { type QueryPair, safeDecode, uriEncode } from './sigv4/canonical-request.js'
import { parseHttpDate } from './sigv4/parse.js'
import { signaturesEqual } from './sigv4/verify.js'

/** The sub-resources S3 documents as part of the SigV2 CanonicalizedResource. */
export const SIGV2_SUBRESOURCES: readonly string[] = [
  'acl', 'cors', 'delete', 'lifecycle', 'location', 'logging', 'notification', 'partNumber', 'policy',
  'requestPayment', 'tagging', 'torrent', 'uploadId', 'uploads', 'versionId', 'versioning', 'versions', 'website',
  'response-cache-control', 'response-content-disposition', 'response-content-encoding',
  'response-content-language', 'response-content-type', 'response-expires',
]
// Newer clients (botocore, s3cmd) also sign these; tried only when the documented list fails.
const EXTENDED_SUBRESOURCES: readonly string[] = [
  ...SIGV2_SUBRESOURCES, 'accelerate', 'analytics', 'encryption', 'inventory', 'legal-hold', 'metrics',
  'object-lock', 'ownershipControls', 'publicAccessBlock', 'replication', 'restore', 'retention', 'select',
  'select-type', 'storageClass',
]

export interface SigV2Input {
  method: string
  rawPath: string
  query: readonly QueryPair[]
  headers: IncomingHttpHeaders
  /** Set when the bucket came from the Host header (virtual-hosted style): it prefixes the resource. */
  virtualHostedBucket?: string
}

interface SigV2Credentials { accessKeyId: string, signature: string, authType: Authenticated['authType'], timeLine: string, signedAt: Date }

function headerString(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(',') : value
}

function parseHeaderForm(authorization: string, headers: IncomingHttpHeaders, opts: AuthOptions): SigV2Credentials {
  const rest = authorization.slice('AWS '.length).trim()
  const colon = rest.lastIndexOf(':')
  if (colon <= 0 || colon === rest.length - 1) {
    throw new S3Error('InvalidArgument', { ArgumentName: 'Authorization', ArgumentValue: authorization }, {
      message: 'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature',
    })
  }
  const amzDate = headerString(headers, 'x-amz-date')
  const timeText = amzDate ?? headerString(headers, 'date')
  const signedAt = timeText === undefined ? undefined : parseHttpDate(timeText)
  // A date before the epoch is no valid date to AWS either (s3-tests' bad_date_before_epoch_aws2: AccessDenied).
  if (timeText === undefined || signedAt === undefined || signedAt.getTime() < 0) {
    throw new S3Error('AccessDenied', {}, { message: 'AWS authentication requires a valid Date or x-amz-date header' })
  }
  assertWithinSkew(signedAt, timeText, opts.now, opts.maxClockSkewMs)
  // With x-amz-date present the Date line is empty and x-amz-date is signed as an amz header instead.
  const timeLine = amzDate === undefined ? timeText : ''
  return { accessKeyId: rest.slice(0, colon), signature: rest.slice(colon + 1), authType: 'REST-HEADER', timeLine, signedAt }
}

function parseQueryForm(query: readonly QueryPair[], opts: AuthOptions): SigV2Credentials {
  const find = (name: string): string | undefined => query.find(([n]) => n === name)?.[1]
  const accessKeyId = find('AWSAccessKeyId')
  const signature = find('Signature')
  const expires = find('Expires')
  if (accessKeyId === undefined || signature === undefined || expires === undefined || !/^\d+$/.test(expires)) {
    throw new S3Error('AccessDenied', {}, { message: 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters' })
  }
  assertPresignedV2Valid(Number(expires), opts.now, { maxExpirySeconds: opts.maxPresignExpirySeconds, maxClockSkewMs: opts.maxClockSkewMs })
  // Some decoders turn a literal '+' of the base64 signature into a space.
  return { accessKeyId, signature: signature.replace(/ /g, '+'), authType: 'REST-QUERY-STRING', timeLine: expires, signedAt: opts.now }
}

function canonicalAmzHeaders(headers: IncomingHttpHeaders): string {
  return Object.keys(headers)
    .filter(name => name.startsWith('x-amz-'))
    .sort()
    .map(name => `${name}:${(headerString(headers, name) ?? '').replace(/\s*\r?\n\s*/g, ' ').trim()}\n`)
    .join('')
}

/**
 * The headers a query-signed request is signed over: x-amz-* query parameters (an STS session's
 * x-amz-security-token above all) count as amz headers, as botocore's HmacV1QueryAuth signs them and AWS checks them.
 */
function withAmzQueryParameters(headers: IncomingHttpHeaders, query: readonly QueryPair[]): IncomingHttpHeaders {
  const merged: IncomingHttpHeaders = { ...headers }
  for (const [name, value] of query) {
    const lower = name.toLowerCase()
    if (!lower.startsWith('x-amz-')) continue
    const sent = headerString(merged, lower)
    merged[lower] = sent === undefined ? value : `${sent},${value}`
  }
  return merged
}

function subresourceSuffix(query: readonly QueryPair[], names: readonly string[]): string {
  const kept = query.filter(([name]) => names.includes(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`))
  return kept.length === 0 ? '' : '?' + kept.join('&')
}

/** Resource forms worth trying: the path as sent, re-encoded per AWS rules, and fully decoded. */
function resourceCandidates(input: SigV2Input): string[] {
  const prefix = input.virtualHostedBucket === undefined ? '' : '/' + input.virtualHostedBucket
  const decoded = safeDecode(input.rawPath)
  const paths = new Set([input.rawPath, ...(decoded === undefined ? [] : [uriEncode(decoded, { isPath: true }), decoded])])
  // A path-style bucket request (/bucket) is signed as the bucket's resource, "/bucket/", by botocore and
  // AWS alike (the virtual-hosted form of the same request is "/" under the bucket).
  if (input.virtualHostedBucket === undefined && /^\/[^/]+$/.test(input.rawPath)) paths.add(input.rawPath + '/')
  const resources: string[] = []
  for (const subresources of [SIGV2_SUBRESOURCES, EXTENDED_SUBRESOURCES]) {
    for (const path of paths) resources.push(prefix + path + subresourceSuffix(input.query, subresources))
  }
  return [...new Set(resources)]
}

/** The SigV2 string to sign for one canonicalized resource. */
export function sigV2StringToSign(method: string, headers: IncomingHttpHeaders, timeLine: string, resource: string): string {
  return [
    method.toUpperCase(),
    headerString(headers, 'content-md5') ?? '',
    headerString(headers, 'content-type') ?? '',
    timeLine,
  ].join('\n') + '\n' + canonicalAmzHeaders(headers) + resource
}

export function sigV2Signature(secret: string, stringToSign: string): string {
  return createHmac('sha1', secret).update(stringToSign, 'utf8').digest('base64')
}

/** Verifies a SigV2 header or query request; `authorization` is the header value when the header form is used. */
export async function authenticateSigV2(
  input: SigV2Input, authorization: string | undefined, lookup: SecretLookup, opts: AuthOptions,
): Promise<Authenticated> {
  const creds = authorization === undefined ? parseQueryForm(input.query, opts) : parseHeaderForm(authorization, input.headers, opts)
  const secrets = await lookup(creds.accessKeyId)
  if (secrets === undefined || secrets.length === 0) throw new S3Error('InvalidAccessKeyId', { AWSAccessKeyId: creds.accessKeyId })
  const signedHeaders = authorization === undefined ? withAmzQueryParameters(input.headers, input.query) : input.headers
  const stringsToSign = resourceCandidates(input).map(r => sigV2StringToSign(input.method, signedHeaders, creds.timeLine, r))
  const secretIndex = secrets.findIndex(secret => stringsToSign.some(sts => signaturesEqual(sigV2Signature(secret, sts), creds.signature)))
  if (secretIndex < 0) {
    const first = stringsToSign[0] ?? ''
    throw new S3Error('SignatureDoesNotMatch', {
      AWSAccessKeyId: creds.accessKeyId,
      StringToSign: first,
      SignatureProvided: creds.signature,
      StringToSignBytes: Buffer.from(first, 'utf8').toString('hex').replace(/(..)(?!$)/g, '$1 '),
    })
  }
  const token = headerString(input.headers, 'x-amz-security-token') ?? input.query.find(([n]) => n === 'x-amz-security-token')?.[1]
  return {
    accessKeyId: creds.accessKeyId,
    signatureVersion: 'AWS',
    authType: creds.authType,
    signedAt: creds.signedAt,
    ...(token === undefined ? {} : { securityToken: token }),
    ...(secretIndex > 0 ? { isOldSecret: true as const } : {}),
    verifiedWith: secret => secret === secrets[secretIndex],
    payload: { kind: 'none-declared' },
  }
}
