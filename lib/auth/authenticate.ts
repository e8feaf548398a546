// Entry point of request authentication: picks the signature form, verifies it, and plans body verification.
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { S3Error } from '../errors/s3-error.js'
import { assertPresignedV4Valid, assertWithinSkew } from './request-time.js'
import { authenticateSigV2 } from './sigv2.js'
import { type QueryPair, parseRawQuery, splitRawUrl } from './sigv4/canonical-request.js'
import { type ParsedSigV4, parseAuthorizationHeader, parsePresignedQuery } from './sigv4/parse.js'
import { EMPTY_SHA256_HEX, SIGV4_ALGORITHM } from './sigv4/string-to-sign.js'
import { assertRequiredHeadersSigned, verifySigV4Signature } from './sigv4/verify.js'
import { createVerifiedBody, type VerifiedBody } from './verified-body.js'

export interface SignedRequestInput {
  method: string
  /** req.url as received: raw path + optional '?' + raw query. */
  rawUrl: string
  headers: IncomingHttpHeaders
  /**
   * Each header's values as sent (node:http's headersDistinct), read only when the signature does not match:
   * node:http joins a repeated header with ", " where SigV4's canonical form joins the values with ",".
   */
  headersDistinct?: () => NodeJS.Dict<string[]>
  /** SigV2 only: the bucket taken from the Host header, which prefixes the canonicalized resource. */
  virtualHostedBucket?: string
  /** Hex SHA-256 of an already-read body, for SigV4 services (STS, IAM) whose clients omit x-amz-content-sha256. */
  bodySha256Hex?: string
}

/** Returns the candidate secrets for an access key (current first, then an old secret still inside its rotation window), or undefined if the key is unknown/disabled/expired. */
export type SecretLookup = (accessKeyId: string) => Promise<string[] | undefined>

export interface AuthOptions {
  now: Date
  maxClockSkewMs: number
  maxPresignExpirySeconds: number
  /** SigV4 credential-scope services accepted; default ['s3']. */
  services?: readonly string[]
  /** When set, the SigV4 credential-scope region must equal it. */
  region?: string
}

export type PayloadPlan =
  | { kind: 'none-declared' }
  | { kind: 'unsigned' }
  | { kind: 'signed', sha256Hex: string }
  | { kind: 'streaming-signed', trailer: boolean, seedSignature: string, signingKey: Buffer, scope: string, amzDate: string }
  | { kind: 'streaming-unsigned-trailer' }

export interface Authenticated {
  accessKeyId: string
  signatureVersion: 'AWS4-HMAC-SHA256' | 'AWS'
  /** s3:authType: header or query (presigned) signature, or a browser POST form's. */
  authType: 'REST-HEADER' | 'REST-QUERY-STRING' | 'POST'
  signedAt: Date
  region?: string
  /** SigV4 credential-scope service (absent for SigV2). */
  service?: string
  securityToken?: string
  /** Verified by a key's previous secret, still inside its rotation window (not by the current one). */
  isOldSecret?: true
  /**
   * Whether `secret` is the one that verified the signature: calls that change keys check the caller again against
   * the state under the lock (a daemon a poll behind verified it against the state it had). A function, so the
   * secret never sits in a field a log could print.
   */
  verifiedWith?: (secret: string) => boolean
  payload: PayloadPlan
}

type AuthForm = 'sigv4-header' | 'sigv4-query' | 'sigv2-header' | 'sigv2-query'

function headerString(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

function detectForm(authorization: string | undefined, query: readonly QueryPair[]): AuthForm | null {
  const has = (name: string): boolean => query.some(([n]) => n === name)
  const forms: AuthForm[] = []
  if (authorization !== undefined) {
    if (authorization.startsWith(SIGV4_ALGORITHM + ' ')) forms.push('sigv4-header')
    else if (authorization.startsWith('AWS ')) forms.push('sigv2-header')
    else {
      throw new S3Error('InvalidArgument', { ArgumentName: 'Authorization', ArgumentValue: authorization.split(' ')[0] }, {
        message: 'Unsupported Authorization Type',
      })
    }
  }
  if (has('X-Amz-Algorithm') || has('X-Amz-Credential') || has('X-Amz-Signature')) forms.push('sigv4-query')
  if (has('AWSAccessKeyId') || has('Signature')) forms.push('sigv2-query')
  if (forms.length > 1) {
    throw new S3Error('InvalidArgument', { ArgumentName: 'Authorization' }, {
      message: 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
    })
  }
  return forms[0] ?? null
}

/** null when the request carries no credentials at all (anonymous); otherwise the verified identity, or a thrown S3Error. */
export async function authenticate(req: SignedRequestInput, lookup: SecretLookup, opts: AuthOptions): Promise<Authenticated | null> {
  const { rawPath, rawQuery } = splitRawUrl(req.rawUrl)
  const query = parseRawQuery(rawQuery)
  const authorization = headerString(req.headers, 'authorization')
  const form = detectForm(authorization === '' ? undefined : authorization, query)
  if (form === null) return null
  if (form === 'sigv2-header' || form === 'sigv2-query') {
    const input = { method: req.method, rawPath, query, headers: req.headers, ...(req.virtualHostedBucket === undefined ? {} : { virtualHostedBucket: req.virtualHostedBucket }) }
    return authenticateSigV2(input, form === 'sigv2-header' ? authorization : undefined, lookup, opts)
  }
  const parsed = form === 'sigv4-header'
    ? parseAuthorizationHeader(authorization ?? '', req.headers)
    : parsePresignedQuery(query, opts.maxPresignExpirySeconds)
  return authenticateSigV4(req, parsed, { rawPath, rawQuery }, lookup, opts)
}

async function authenticateSigV4(
  req: SignedRequestInput, parsed: ParsedSigV4, url: { rawPath: string, rawQuery: string }, lookup: SecretLookup, opts: AuthOptions,
): Promise<Authenticated> {
  assertScope(parsed, opts)
  if (parsed.expiresSeconds === undefined) {
    assertWithinSkew(parsed.signedAt, headerString(req.headers, 'x-amz-date') ?? headerString(req.headers, 'date') ?? parsed.amzDate, opts.now, opts.maxClockSkewMs)
  } else {
    assertPresignedV4Valid(parsed.signedAt, parsed.expiresSeconds, opts.now, opts.maxClockSkewMs)
  }
  assertRequiredHeadersSigned(parsed, req.headers)
  const payloadHash = canonicalPayloadHash(req, parsed)
  const { accessKeyId } = parsed.credential
  const secrets = await lookup(accessKeyId)
  if (secrets === undefined || secrets.length === 0) throw new S3Error('InvalidAccessKeyId', { AWSAccessKeyId: accessKeyId })
  const match = verifySigV4Signature({ method: req.method, ...url, headers: req.headers, parsed, payloadHash, ...(req.headersDistinct ? { headersDistinct: req.headersDistinct } : {}) }, secrets)
  // A presigned request that sends a body hash it did not sign still gets the body checked against it: the client
  // asked for that integrity check (the signature itself covers UNSIGNED-PAYLOAD).
  const declared = headerString(req.headers, 'x-amz-content-sha256')
  const payload: PayloadPlan = payloadHash === 'UNSIGNED-PAYLOAD' && parsed.authType === 'REST-QUERY-STRING' && declared !== undefined && /^[0-9a-f]{64}$/.test(declared)
    ? { kind: 'signed', sha256Hex: declared }
    : payloadPlan(payloadHash, parsed, match)
  return {
    accessKeyId,
    signatureVersion: 'AWS4-HMAC-SHA256',
    authType: parsed.authType,
    signedAt: parsed.signedAt,
    region: parsed.credential.region,
    service: parsed.credential.service,
    ...(parsed.securityToken === undefined ? {} : { securityToken: parsed.securityToken }),
    ...(match.secretIndex > 0 ? { isOldSecret: true as const } : {}),
    verifiedWith: secret => secret === secrets[match.secretIndex],
    payload,
  }
}

function assertScope(parsed: ParsedSigV4, opts: AuthOptions): void {
  const { region, service } = parsed.credential
  const fail = (detail: string, fields: Record<string, string> = {}): S3Error => parsed.authType === 'REST-HEADER'
    ? new S3Error('AuthorizationHeaderMalformed', fields, { message: `The authorization header is malformed; ${detail}` })
    : new S3Error('AuthorizationQueryParametersError', fields, { message: `Error parsing the X-Amz-Credential parameter; ${detail}` })
  const services = opts.services ?? ['s3']
  if (!services.includes(service)) throw fail(`incorrect service "${service}". This endpoint belongs to "${services[0] ?? 's3'}".`)
  if (opts.region !== undefined && region !== opts.region) {
    throw fail(`the region '${region}' is wrong; expecting '${opts.region}'`, { Region: opts.region })
  }
}

const STREAMING_VALUES = new Set([
  'UNSIGNED-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
])

/** The payload hash the client signed: x-amz-content-sha256 (header form), UNSIGNED-PAYLOAD (presigned, unless signed). */
function canonicalPayloadHash(req: SignedRequestInput, parsed: ParsedSigV4): string {
  const declared = headerString(req.headers, 'x-amz-content-sha256')
  if (parsed.authType === 'REST-QUERY-STRING') {
    return declared !== undefined && parsed.signedHeaders.includes('x-amz-content-sha256') ? declared : 'UNSIGNED-PAYLOAD'
  }
  if (declared === undefined) {
    if (parsed.credential.service !== 's3') return req.bodySha256Hex ?? EMPTY_SHA256_HEX
    throw new S3Error('InvalidRequest', {}, { message: 'Missing required header for this request: x-amz-content-sha256' })
  }
  if (STREAMING_VALUES.has(declared) || /^[0-9a-f]{64}$/.test(declared)) return declared
  if (declared.startsWith('STREAMING-AWS4-ECDSA-P256-SHA256')) throw new S3Error('NotImplemented', { Header: 'x-amz-content-sha256' })
  throw new S3Error('InvalidArgument', { ArgumentName: 'x-amz-content-sha256', ArgumentValue: declared }, {
    message: 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
  })
}

function payloadPlan(payloadHash: string, parsed: ParsedSigV4, match: { signingKey: Buffer, scope: string }): PayloadPlan {
  const streaming = { seedSignature: parsed.signature, signingKey: match.signingKey, scope: match.scope, amzDate: parsed.amzDate }
  switch (payloadHash) {
    case 'UNSIGNED-PAYLOAD': return { kind: 'unsigned' }
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER': return { kind: 'streaming-unsigned-trailer' }
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD': return { kind: 'streaming-signed', trailer: false, ...streaming }
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER': return { kind: 'streaming-signed', trailer: true, ...streaming }
    default: return { kind: 'signed', sha256Hex: payloadHash }
  }
}

/** Wraps the raw request body: decodes aws-chunked framing and verifies every declared signature and checksum. Verification failures surface as a stream error emitted before 'end'. Header-level problems (malformed Content-MD5 or checksum header, missing x-amz-decoded-content-length) throw synchronously. */
export function verifiedBody(raw: Readable, auth: Authenticated | null, headers: IncomingHttpHeaders, opts: { idleTimeoutMs?: number } = {}): VerifiedBody {
  return createVerifiedBody(raw, auth?.payload ?? { kind: 'none-declared' }, headers, opts)
}
