// SigV4 canonical request: AWS UriEncode, canonical URI/query/headers, and the request text itself.
import type { IncomingHttpHeaders } from 'node:http'

export type QueryPair = readonly [name: string, value: string]

export interface CanonicalRequestParts {
  method: string
  canonicalUri: string
  canonicalQuery: string
  headers: IncomingHttpHeaders
  signedHeaders: readonly string[]
  payloadHash: string
}

const UNRESERVED = /[A-Za-z0-9\-._~]/

/** AWS UriEncode: unreserved characters kept, '/' kept only in paths, everything else as uppercase %XX of its UTF-8 bytes. */
export function uriEncode(text: string, options: { isPath: boolean }): string {
  let out = ''
  for (const char of text) {
    if (UNRESERVED.test(char) || (options.isPath && char === '/')) out += char
    else for (const byte of Buffer.from(char, 'utf8')) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

/** Percent-decodes, returning undefined when the text is not valid percent-encoded UTF-8. */
export function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

/** Splits a raw request URL at the first '?' into the raw path and raw query. */
export function splitRawUrl(rawUrl: string): { rawPath: string, rawQuery: string } {
  const at = rawUrl.indexOf('?')
  const rawPath = at === -1 ? rawUrl : rawUrl.slice(0, at)
  return { rawPath: rawPath === '' ? '/' : rawPath, rawQuery: at === -1 ? '' : rawUrl.slice(at + 1) }
}

/** Splits a raw query into decoded name/value pairs; '+' is kept literally unless plusAsSpace is set. */
export function parseRawQuery(rawQuery: string, options: { plusAsSpace: boolean } = { plusAsSpace: false }): QueryPair[] {
  const pairs: QueryPair[] = []
  for (const part of rawQuery.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const rawName = eq === -1 ? part : part.slice(0, eq)
    const rawValue = eq === -1 ? '' : part.slice(eq + 1)
    pairs.push([decodeQueryComponent(rawName, options), decodeQueryComponent(rawValue, options)])
  }
  return pairs
}

function decodeQueryComponent(raw: string, options: { plusAsSpace: boolean }): string {
  const text = options.plusAsSpace ? raw.replace(/\+/g, ' ') : raw
  return safeDecode(text) ?? text
}

/**
 * The canonical URI forms worth trying, most likely first: S3 clients encode each segment once and sign
 * the path as sent; some sign the AWS-UriEncoded form of the decoded path instead.
 */
export function canonicalUriCandidates(rawPath: string): string[] {
  const candidates = [rawPath]
  const decoded = safeDecode(rawPath)
  if (decoded !== undefined) {
    const reencoded = uriEncode(decoded, { isPath: true })
    if (reencoded !== rawPath) candidates.push(reencoded)
  }
  return candidates
}

/** Canonical query string: names and values UriEncoded, sorted by name then value, `excludeName` left out. */
export function canonicalQueryString(pairs: readonly QueryPair[], options: { excludeName?: string } = {}): string {
  return pairs
    .filter(([name]) => name !== options.excludeName)
    .map(([name, value]) => [uriEncode(name, { isPath: false }), uriEncode(value, { isPath: false })] as const)
    .sort(([an, av], [bn, bv]) => compareCodeUnits(an, bn) || compareCodeUnits(av, bv))
    .map(([name, value]) => `${name}=${value}`)
    .join('&')
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * A header value as SigV4 canonicalises it: trimmed, runs of spaces collapsed; repeated headers joined by ','.
 * Only ASCII spaces and tabs count: the value holds raw bytes as latin-1 characters, and 0xA0 (U+00A0 to a JS
 * regex's \s) is the second byte of many UTF-8 characters ("à" is C3 A0).
 */
export function canonicalHeaderValue(value: string | string[] | undefined): string {
  const values = Array.isArray(value) ? value : [value ?? '']
  return values.map(v => v.replace(/^[ \t]+|[ \t]+$/g, '').replace(/[ \t]+/g, ' ')).join(',')
}

/** The canonical request text, exactly as it is hashed into the string to sign. */
export function buildCanonicalRequest(parts: CanonicalRequestParts): string {
  const headerLines = parts.signedHeaders.map(name => `${name}:${canonicalHeaderValue(parts.headers[name])}\n`).join('')
  return [
    parts.method.toUpperCase(),
    parts.canonicalUri,
    parts.canonicalQuery,
    headerLines,
    parts.signedHeaders.join(';'),
    parts.payloadHash,
  ].join('\n')
}
