// CORS on the wire: PutBucketCors XML in and out, and matching a request against the rules (lib/config/cors-rules.ts).
import { S3Error } from '../errors/s3-error.js'
import { validateCorsRules, type CorsConfiguration, type CorsRule, type RawCorsRule } from '../config/cors-rules.js'
import { renderXml } from './xml/render.js'
import { children, parseXml, texts } from './xml/parse.js'

/** Parses a PutBucketCors body. */
const RULE_ELEMENTS = ['ID', 'AllowedOrigin', 'AllowedMethod', 'AllowedHeader', 'ExposeHeader', 'MaxAgeSeconds']

function onlyElements (node: unknown, allowed: readonly string[]): void {
  if (typeof node !== 'object' || node === null) return
  for (const name of Object.keys(node)) if (name !== '$' && name !== '_' && !allowed.includes(name)) throw new S3Error('MalformedXML')
}

export async function parseCorsXml (text: string): Promise<CorsConfiguration> {
  const doc = await parseXml(text)
  const root = doc.CORSConfiguration
  if (root === undefined || Object.keys(doc).length !== 1) throw new S3Error('MalformedXML')
  // AWS validates the document against its schema: an element it does not know (a misspelt <AllowedHeaders>) is
  // MalformedXML, not silently dropped with the admin believing the headers allowed.
  onlyElements(root, ['CORSRule'])
  const rules = children(root, 'CORSRule').map((r): RawCorsRule => {
    onlyElements(r, RULE_ELEMENTS)
    const ids = texts(r, 'ID')
    const maxAges = texts(r, 'MaxAgeSeconds')
    if (ids.length > 1 || maxAges.length > 1) throw new S3Error('MalformedXML')
    return { id: ids[0], origins: texts(r, 'AllowedOrigin'), methods: texts(r, 'AllowedMethod'), headers: texts(r, 'AllowedHeader'), expose: texts(r, 'ExposeHeader'), maxAge: maxAges[0] }
  })
  return validateCorsRules(rules)
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
