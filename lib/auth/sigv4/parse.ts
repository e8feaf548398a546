// Parsing SigV4 credentials: the Authorization header form and the X-Amz-* presigned query form.
import type { IncomingHttpHeaders } from 'node:http'
import { S3Error } from '../../errors/s3-error.js'
import type { QueryPair } from './canonical-request.js'
import { SIGV4_ALGORITHM } from './string-to-sign.js'

export interface SigV4Credential { accessKeyId: string, date: string, region: string, service: string }

export interface ParsedSigV4 {
  authType: 'REST-HEADER' | 'REST-QUERY-STRING'
  credential: SigV4Credential
  signedHeaders: string[]
  signature: string
  /** The request time in ISO8601 basic format, as it appears in the string to sign. */
  amzDate: string
  signedAt: Date
  /** Presigned only. */
  expiresSeconds?: number
  securityToken?: string
}

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/
const CREDENTIAL_SHAPE = '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request"'

/** Parses `20130524T000000Z`; undefined if malformed. */
export function parseAmzDate(text: string): Date | undefined {
  const m = AMZ_DATE.exec(text)
  if (m === null) return undefined
  const [, y, mo, d, h, mi, s] = m.map(Number)
  const date = new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 0, h ?? 0, mi ?? 0, s ?? 0))
  return Number.isNaN(date.getTime()) ? undefined : date
}

export function formatAmzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
}

function headerString(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** SigV4 header-form request time: x-amz-date, else the Date header. */
function headerRequestTime(headers: IncomingHttpHeaders): { amzDate: string, signedAt: Date } {
  const amz = headerString(headers, 'x-amz-date')
  if (amz !== undefined) {
    const parsed = parseAmzDate(amz.trim()) ?? parseHttpDate(amz)
    if (parsed !== undefined) return { amzDate: AMZ_DATE.test(amz.trim()) ? amz.trim() : formatAmzDate(parsed), signedAt: parsed }
  } else {
    // AWS (Common Request Headers, Date): signing with Date in ISO 8601 basic form needs no x-amz-date.
    const http = headerString(headers, 'date')?.trim()
    const parsed = http === undefined ? undefined : parseAmzDate(http) ?? parseHttpDate(http)
    if (parsed !== undefined) return { amzDate: http !== undefined && AMZ_DATE.test(http) ? http : formatAmzDate(parsed), signedAt: parsed }
  }
  throw new S3Error('AccessDenied', {}, { message: 'AWS authentication requires a valid Date or x-amz-date header' })
}

export function parseHttpDate(text: string): Date | undefined {
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? undefined : new Date(ms)
}

function parseCredential(text: string, fail: (detail: string) => S3Error): SigV4Credential {
  const parts = text.split('/')
  if (parts.length < 5) throw fail(`the Credential is mal-formed; expecting ${CREDENTIAL_SHAPE}.`)
  const [terminal, service, region, date] = parts.splice(-4).reverse() as [string, string, string, string]
  const accessKeyId = parts.join('/')
  if (accessKeyId === '' || !/^\d{8}$/.test(date) || region === '' || service === '') {
    throw fail(`the Credential is mal-formed; expecting ${CREDENTIAL_SHAPE}.`)
  }
  if (terminal !== 'aws4_request') throw fail(`incorrect terminal "${terminal}". This endpoint uses "aws4_request".`)
  return { accessKeyId, date, region, service }
}

function headerMalformed(detail: string): S3Error {
  return new S3Error('AuthorizationHeaderMalformed', {}, { message: `The authorization header is malformed; ${detail}` })
}

function queryError(message: string): S3Error {
  return new S3Error('AuthorizationQueryParametersError', {}, { message })
}

/** Parses `AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=..`. */
export function parseAuthorizationHeader(value: string, headers: IncomingHttpHeaders): ParsedSigV4 {
  const fields = new Map<string, string>()
  for (const part of value.slice(SIGV4_ALGORITHM.length).split(',')) {
    const eq = part.indexOf('=')
    if (eq !== -1) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  const credential = fields.get('Credential')
  const signedHeaders = fields.get('SignedHeaders')
  const signature = fields.get('Signature')
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw headerMalformed('the authorization header requires three components: Credential, SignedHeaders, and Signature.')
  }
  const parsedCredential = parseCredential(credential, headerMalformed)
  const time = headerRequestTime(headers)
  if (!time.amzDate.startsWith(parsedCredential.date)) {
    throw headerMalformed(`Invalid credential date "${parsedCredential.date}". This date is not the same as X-Amz-Date: "${time.amzDate.slice(0, 8)}".`)
  }
  const securityToken = headerString(headers, 'x-amz-security-token')
  return {
    authType: 'REST-HEADER',
    credential: parsedCredential,
    signedHeaders: signedHeaders.split(';').map(h => h.trim().toLowerCase()).filter(h => h !== ''),
    signature,
    ...time,
    ...(securityToken === undefined ? {} : { securityToken }),
  }
}

const REQUIRED_QUERY = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires']

/** Parses the X-Amz-* presigned-URL parameters. */
export function parsePresignedQuery(pairs: readonly QueryPair[], maxExpirySeconds: number): ParsedSigV4 {
  const params = new Map<string, string>()
  for (const [name, value] of pairs) if (!params.has(name)) params.set(name, value)
  const get = (name: string): string => params.get(name) ?? ''
  if (REQUIRED_QUERY.some(name => !params.has(name))) {
    throw queryError('Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.')
  }
  if (get('X-Amz-Algorithm') !== SIGV4_ALGORITHM) throw queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
  const credential = parseCredential(get('X-Amz-Credential'), d => queryError(`Error parsing the X-Amz-Credential parameter; ${d}`))
  const amzDate = get('X-Amz-Date')
  const signedAt = parseAmzDate(amzDate)
  if (signedAt === undefined) throw queryError('X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"')
  if (!amzDate.startsWith(credential.date)) {
    throw queryError(`Invalid credential date "${credential.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`)
  }
  const expiresSeconds = parseExpires(get('X-Amz-Expires'), maxExpirySeconds)
  const securityToken = params.get('X-Amz-Security-Token')
  return {
    authType: 'REST-QUERY-STRING',
    credential,
    signedHeaders: get('X-Amz-SignedHeaders').split(';').map(h => h.trim().toLowerCase()).filter(h => h !== ''),
    signature: get('X-Amz-Signature'),
    amzDate,
    signedAt,
    expiresSeconds,
    ...(securityToken === undefined ? {} : { securityToken }),
  }
}

function parseExpires(text: string, maxExpirySeconds: number): number {
  if (!/^-?\d+$/.test(text)) throw queryError('X-Amz-Expires should be a number')
  const seconds = Number(text)
  if (seconds < 0) throw queryError('X-Amz-Expires must be non-negative')
  if (seconds > maxExpirySeconds) {
    throw queryError(`X-Amz-Expires must be less than a week (in seconds) that is ${maxExpirySeconds}`)
  }
  return seconds
}
