// CORS rules: the model a bucket or the config holds, and its validation (AWS's checks); PutBucketCors XML and the
// config's defaultCors JSON both end here, so a bad defaultCors is refused while the config is parsed.
import { S3Error } from '../errors/s3-error.js'

export const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const
export type CorsMethod = typeof CORS_METHODS[number]

export const MAX_CORS_RULES = 100
export const MAX_CORS_ID_CHARS = 255

export interface CorsRule {
  id?: string
  allowedOrigins: string[]
  allowedMethods: CorsMethod[]
  allowedHeaders: string[]
  exposeHeaders: string[]
  maxAgeSeconds?: number
}

/** What BucketRecord.cors holds once validated. */
export interface CorsConfiguration { rules: CorsRule[] }

/** One rule as a client wrote it, before validation (element texts, unchecked). */
export interface RawCorsRule {
  id?: string
  origins: string[]
  methods: string[]
  headers: string[]
  expose: string[]
  maxAge?: string
}

function isCorsMethod (m: string): m is CorsMethod {
  return (CORS_METHODS as readonly string[]).includes(m)
}

function wildcards (s: string): number {
  return s.split('*').length - 1
}

function invalid (message: string): S3Error {
  return new S3Error('InvalidRequest', {}, { message })
}

function validateRule (raw: RawCorsRule): CorsRule {
  if (raw.origins.length === 0 || raw.methods.length === 0) throw new S3Error('MalformedXML')
  if (raw.id !== undefined && raw.id.length > MAX_CORS_ID_CHARS) throw new S3Error('MalformedXML')
  for (const m of raw.methods) if (!isCorsMethod(m)) throw invalid(`Found unsupported HTTP method in CORS config. Unsupported method is ${m}`)
  for (const o of raw.origins) if (wildcards(o) > 1) throw invalid(`AllowedOrigin "${o}" can not have more than one wildcard.`)
  for (const h of raw.headers) if (wildcards(h) > 1) throw invalid(`AllowedHeader "${h}" can not have more than one wildcard.`)
  for (const h of raw.expose) {
    if (h.includes('*')) throw invalid(`ExposeHeader ${h} contains a wildcard. Wildcards are currently not supported for ExposeHeader.`)
  }
  let maxAgeSeconds: number | undefined
  if (raw.maxAge !== undefined) {
    if (!/^\d{1,10}$/.test(raw.maxAge.trim())) throw new S3Error('MalformedXML')
    maxAgeSeconds = Number(raw.maxAge.trim())
  }
  const rule: CorsRule = {
    allowedOrigins: raw.origins,
    allowedMethods: raw.methods.filter(isCorsMethod),
    allowedHeaders: raw.headers,
    exposeHeaders: raw.expose,
  }
  if (raw.id !== undefined && raw.id !== '') rule.id = raw.id
  if (maxAgeSeconds !== undefined) rule.maxAgeSeconds = maxAgeSeconds
  return rule
}

/** Validates rules in AWS's order of checks: count first, then each rule. */
export function validateCorsRules (rules: RawCorsRule[]): CorsConfiguration {
  if (rules.length === 0) throw new S3Error('MalformedXML')
  if (rules.length > MAX_CORS_RULES) throw invalid(`The number of CORS rules should not exceed allowed limit of ${MAX_CORS_RULES} rules.`)
  return { rules: rules.map(validateRule) }
}

function stringList (v: unknown): string[] {
  if (v === undefined) return []
  if (!Array.isArray(v) || v.some(x => typeof x !== 'string')) throw new S3Error('MalformedXML')
  return v as string[]
}

/** Parses rules in the AWS CLI's JSON shape ([{AllowedOrigins: [...], AllowedMethods: [...], ...}]), as the config uses. */
export function parseCorsJson (rules: readonly unknown[]): CorsConfiguration {
  return validateCorsRules(rules.map((r): RawCorsRule => {
    if (typeof r !== 'object' || r === null) throw new S3Error('MalformedXML')
    const o = r as Record<string, unknown>
    if (o.ID !== undefined && typeof o.ID !== 'string') throw new S3Error('MalformedXML')
    if (o.MaxAgeSeconds !== undefined && typeof o.MaxAgeSeconds !== 'number') throw new S3Error('MalformedXML')
    return {
      id: o.ID as string | undefined,
      origins: stringList(o.AllowedOrigins),
      methods: stringList(o.AllowedMethods),
      headers: stringList(o.AllowedHeaders),
      expose: stringList(o.ExposeHeaders),
      maxAge: o.MaxAgeSeconds === undefined ? undefined : String(o.MaxAgeSeconds),
    }
  }))
}
