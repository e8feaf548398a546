// SigV4 signature verification: try each secret against each tolerated canonical form, in constant time.
import { timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { S3Error } from '../../errors/s3-error.js'
import {
  buildCanonicalRequest, canonicalQueryString, canonicalUriCandidates, parseRawQuery,
} from './canonical-request.js'
import type { ParsedSigV4 } from './parse.js'
import { signHex, signingKey } from './signing-key.js'
import { credentialScope, requestStringToSign, wireBytes } from './string-to-sign.js'

export interface SigV4VerifyInput {
  method: string
  rawPath: string
  rawQuery: string
  headers: IncomingHttpHeaders
  parsed: ParsedSigV4
  payloadHash: string
  /** Each header's values as sent; tried when `headers` (repeats joined with ", ") do not verify. */
  headersDistinct?: () => NodeJS.Dict<string[]>
}

export interface SigV4Match {
  signingKey: Buffer
  scope: string
  /** Which of the secrets verified it (0: the current one; 1: an old secret inside its rotation window). */
  secretIndex: number
}

interface Attempt { canonicalRequest: string, stringToSign: string }

/** Constant-time comparison of two signature strings. */
export function signaturesEqual(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8')
  const b = Buffer.from(provided, 'utf8')
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Canonical queries worth trying: '+' taken literally first, then as a space (form-encoding clients). */
function canonicalQueryCandidates(rawQuery: string, excludeName: string | undefined): string[] {
  const options = excludeName === undefined ? {} : { excludeName }
  const literal = canonicalQueryString(parseRawQuery(rawQuery), options)
  if (!rawQuery.includes('+')) return [literal]
  return [literal, canonicalQueryString(parseRawQuery(rawQuery, { plusAsSpace: true }), options)]
}

function attempts(input: SigV4VerifyInput, scope: string): Attempt[] {
  const exclude = input.parsed.authType === 'REST-QUERY-STRING' ? 'X-Amz-Signature' : undefined
  const result: Attempt[] = []
  for (const canonicalUri of canonicalUriCandidates(input.rawPath)) {
    for (const canonicalQuery of canonicalQueryCandidates(input.rawQuery, exclude)) {
      const canonicalRequest = buildCanonicalRequest({
        method: input.method, canonicalUri, canonicalQuery,
        headers: input.headers, signedHeaders: input.parsed.signedHeaders, payloadHash: input.payloadHash,
      })
      result.push({ canonicalRequest, stringToSign: requestStringToSign(input.parsed.amzDate, scope, canonicalRequest) })
    }
  }
  return result
}

/**
 * The attempts again with a signed header that was sent more than once canonicalised as SigV4 says (its values
 * joined by ","), when there is one; node:http's joined value has ", ". Empty otherwise, at no cost.
 */
function repeatedHeaderAttempts(input: SigV4VerifyInput, scope: string): Attempt[] {
  const distinct = input.headersDistinct?.()
  if (distinct === undefined || !input.parsed.signedHeaders.some(h => (distinct[h]?.length ?? 0) > 1)) return []
  const headers: IncomingHttpHeaders = { ...input.headers }
  for (const h of input.parsed.signedHeaders) {
    const values = distinct[h]
    if (values !== undefined && values.length > 1) (headers as Record<string, string | string[]>)[h] = values
  }
  return attempts({ ...input, headers }, scope)
}

/** Returns the signing key that verified the request; throws SignatureDoesNotMatch with AWS's diagnostic fields. */
export function verifySigV4Signature(input: SigV4VerifyInput, secrets: readonly string[]): SigV4Match {
  const { credential, signature } = input.parsed
  const scope = credentialScope(credential.date, credential.region, credential.service)
  const tried = attempts(input, scope)
  const match = (candidates: Attempt[]): SigV4Match | undefined => {
    for (const [secretIndex, secret] of secrets.entries()) {
      const key = signingKey(secret, credential.date, credential.region, credential.service)
      for (const attempt of candidates) {
        if (signaturesEqual(signHex(key, attempt.stringToSign), signature)) return { signingKey: key, scope, secretIndex }
      }
    }
    return undefined
  }
  const found = match(tried) ?? match(repeatedHeaderAttempts(input, scope))
  if (found !== undefined) return found
  const first = tried[0]
  throw new S3Error('SignatureDoesNotMatch', {
    AWSAccessKeyId: credential.accessKeyId,
    StringToSign: first?.stringToSign,
    SignatureProvided: signature,
    StringToSignBytes: first === undefined ? undefined : hexBytes(first.stringToSign),
    CanonicalRequest: first?.canonicalRequest,
    CanonicalRequestBytes: first === undefined ? undefined : hexBytes(first.canonicalRequest),
  })
}

function hexBytes(text: string): string {
  return wireBytes(text).toString('hex').replace(/(..)(?!$)/g, '$1 ')
}

/** Host must be signed, and so must every x-amz-* header the request carries (header or query signature). */
export function assertRequiredHeadersSigned(parsed: ParsedSigV4, headers: IncomingHttpHeaders): void {
  const signed = new Set(parsed.signedHeaders)
  const missing: string[] = signed.has('host') ? [] : ['host']
  // Header and query signatures alike (AWS refuses both): an x-amz-* header outside the signature would let anyone
  // who saw a signed request replay it with, say, x-amz-copy-source and x-amz-acl added. x-amz-content-sha256 is
  // the payload hash the canonical request already carries, so it is covered either way.
  for (const name of Object.keys(headers)) {
    if (name.startsWith('x-amz-') && name !== 'x-amz-content-sha256' && !signed.has(name)) missing.push(name)
  }
  if (missing.length === 0) return
  throw new S3Error('AccessDenied', { HeadersNotSigned: missing.join(', ') }, {
    message: 'There were headers present in the request which were not signed',
  })
}
