// CORS rules: the model stored on a bucket, its validation (XML from PutBucketCors, JSON from config), and matching.
import { S3Error } from '../errors/s3-error.js'
import { renderXml } from './xml/render.js'
import { children, parseXml, texts } from './xml/parse.js'

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

/** Parses a PutBucketCors body. */
export async function parseCorsXml (text: string): Promise<CorsConfiguration> {
  const doc = await parseXml(text)
  const root = doc.CORSConfiguration
  if (root === undefined || Object.keys(doc).length !== 1) throw new S3Error('MalformedXML')
  const rules = children(root, 'CORSRule').map((r): RawCorsRule => {
    const ids = texts(r, 'ID')
    const maxAges = texts(r, 'MaxAgeSeconds')
    if (ids.length > 1 || maxAges.length > 1) throw new S3Error('MalformedXML')
    return { id: ids[0], origins: texts(r, 'AllowedOrigin'), methods: texts(r, 'AllowedMethod'), headers: texts(r, 'AllowedHeader'), expose: texts(r, 'ExposeHeader'), maxAge: maxAges[0] }
  })
  return validateCorsRules(rules)
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

/** Narrows what the state holds; anything unexpected counts as no configuration. */
export function storedCors (value: unknown): CorsConfiguration | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const rules = (value as { rules?: unknown }).rules
  return Array.isArray(rules) && rules.length > 0 ? value as CorsConfiguration : undefined
}

export function renderCorsXml (config: CorsConfiguration): string {
  return renderXml('CORSConfiguration', {
    CORSRule: config.rules.map(r => ({
      ID: r.id,
      AllowedOrigin: r.allowedOrigins,
      AllowedMethod: r.allowedMethods,
      AllowedHeader: r.allowedHeaders,
      ExposeHeader: r.exposeHeaders,
      MaxAgeSeconds: r.maxAgeSeconds,
    })),
  })
}

/** `*` matches any run of characters; at most one `*` per pattern (validation ensures it). */
function wildcardMatch (pattern: string, value: string): boolean {
  const star = pattern.indexOf('*')
  if (star < 0) return pattern === value
  const head = pattern.slice(0, star)
  const tail = pattern.slice(star + 1)
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail)
}

/** Origins compare exactly (scheme, host and port, case-sensitive); header names case-insensitively. */
export function originMatches (pattern: string, origin: string): boolean {
  return wildcardMatch(pattern, origin)
}

export function headerMatches (pattern: string, header: string): boolean {
  return wildcardMatch(pattern.toLowerCase(), header.toLowerCase())
}

export interface CorsQuery {
  origin: string
  method: string
  /** Names from Access-Control-Request-Headers (preflight only). */
  requestHeaders?: string[]
}

export interface CorsMatch { rule: CorsRule, matchedOrigin: string }

/** The first rule that allows the origin, the method and every requested header. */
export function findCorsRule (config: CorsConfiguration, q: CorsQuery): CorsMatch | undefined {
  for (const rule of config.rules) {
    const matchedOrigin = rule.allowedOrigins.find(p => originMatches(p, q.origin))
    if (matchedOrigin === undefined) continue
    if (!(rule.allowedMethods as string[]).includes(q.method)) continue
    if (!(q.requestHeaders ?? []).every(h => rule.allowedHeaders.some(p => headerMatches(p, h)))) continue
    return { rule, matchedOrigin }
  }
  return undefined
}

export const CORS_VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method'

/** Splits Access-Control-Request-Headers into trimmed, lower-cased names. */
export function requestedHeaders (value: string | undefined): string[] {
  return (value ?? '').split(',').map(h => h.trim().toLowerCase()).filter(h => h !== '')
}

/** The Access-Control-* headers for a match; Allow-Headers only answers a preflight that asked for some. */
export function corsResponseHeaders (match: CorsMatch, q: CorsQuery): Record<string, string> {
  const { rule } = match
  const isAnyOrigin = match.matchedOrigin === '*'
  const headers: Record<string, string> = {
    'Access-Control-Allow-Origin': isAnyOrigin ? '*' : q.origin,
    'Access-Control-Allow-Methods': rule.allowedMethods.join(', '),
  }
  // Credentials may never go with a literal "*" origin (the Fetch standard rejects the pair).
  if (!isAnyOrigin) headers['Access-Control-Allow-Credentials'] = 'true'
  if (q.requestHeaders !== undefined && q.requestHeaders.length > 0) headers['Access-Control-Allow-Headers'] = q.requestHeaders.join(', ')
  if (rule.exposeHeaders.length > 0) headers['Access-Control-Expose-Headers'] = rule.exposeHeaders.join(', ')
  if (rule.maxAgeSeconds !== undefined) headers['Access-Control-Max-Age'] = String(rule.maxAgeSeconds)
  headers.Vary = CORS_VARY
  return headers
}
