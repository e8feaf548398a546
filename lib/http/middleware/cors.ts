// Answers CORS preflights (OPTIONS, no auth) and adds Access-Control-* headers to actual cross-origin responses.
import type { Context, Next } from 'koa'
import { ConfigError } from '../../config/schema.js'
import { S3Error } from '../../errors/s3-error.js'
import { CORS_METHODS, corsResponseHeaders, findCorsRule, parseCorsJson, requestedHeaders, storedCors, type CorsConfiguration } from '../cors.js'
import type { Services } from '../types.js'
import type { ResolvedTarget } from './resolve-target.js'

/**
 * The daemon-wide rules for buckets that have none; null config means no cross-origin access.
 * Parsed once per config object (SIGHUP swaps s.config); a reload with bad rules keeps the last good ones.
 */
function defaultRules (): (s: Services) => CorsConfiguration | undefined {
  let seen: readonly unknown[] | null | undefined
  let parsed: CorsConfiguration | undefined
  return s => {
    const raw = s.config.defaultCors
    if (raw === seen) return parsed
    seen = raw
    try {
      parsed = raw === null ? undefined : parseCorsJson(raw)
    } catch (err) {
      const bad = new ConfigError('defaultCors', `valid CORS rules (${(err as Error).message})`, raw)
      if (parsed === undefined && raw !== null) throw bad
      s.log.error({ err: bad }, 'defaultCors ignored; keeping the previous rules')
    }
    return parsed
  }
}

function configFor (s: Services, bucketName: string | undefined, fallback: CorsConfiguration | undefined): CorsConfiguration | undefined {
  if (bucketName === undefined) return fallback
  const record = s.state.snapshot().buckets[bucketName]
  return record ? storedCors(record.cors) ?? fallback : undefined
}

/**
 * A preflight's answer, in the order S3 decides it (LocalStack's test_s3_cors snapshots, recorded against AWS):
 * no Origin is 400; a missing bucket or a bucket without CORS is 403 AccessForbidden whatever the
 * Access-Control-Request-Method (absent included), with ResourceType BUCKET even when the URL names an object;
 * then the method must be one CORS knows; then a rule must allow the request, or 403 with the URL's ResourceType.
 * <Method> in a refusal is the method the preflight asks about, OPTIONS when it names none.
 */
function preflight (ctx: Context, s: Services, target: ResolvedTarget, fallback: CorsConfiguration | undefined): void {
  const origin = ctx.get('origin')
  if (origin === '') throw new S3Error('BadRequest', {}, { message: 'Insufficient information. Origin request header needed.' })
  const method = ctx.get('access-control-request-method')
  const asked = { Method: method === '' ? 'OPTIONS' : method }
  if (target.bucketName !== undefined && !s.state.snapshot().buckets[target.bucketName]) {
    throw new S3Error('AccessForbidden', { ...asked, ResourceType: 'BUCKET' }, { message: 'CORSResponse: Bucket not found' })
  }
  const config = configFor(s, target.bucketName, fallback)
  if (!config) throw new S3Error('AccessForbidden', { ...asked, ResourceType: 'BUCKET' }, { message: 'CORSResponse: CORS is not enabled for this bucket.' })
  if (!(CORS_METHODS as readonly string[]).includes(method)) throw new S3Error('BadRequest', {}, { message: `Invalid Access-Control-Request-Method: ${method}` })
  const query = { origin, method, requestHeaders: requestedHeaders(ctx.get('access-control-request-headers')) }
  const match = findCorsRule(config, query)
  if (!match) throw new S3Error('AccessForbidden', { ...asked, ResourceType: target.rawKey === undefined ? 'BUCKET' : 'OBJECT' })
  ctx.set(corsResponseHeaders(match, query))
  ctx.status = 200
  ctx.body = ''
}

export function cors (s: Services) {
  const rulesFor = defaultRules()
  rulesFor(s) // a bad defaultCors fails at start-up, not on the first request
  return async (ctx: Context, next: Next): Promise<void> => {
    const fallback = rulesFor(s)
    const target = ctx.state.target as ResolvedTarget
    if (ctx.method === 'OPTIONS') {
      ctx.state.operation = 'PreflightRequest'
      preflight(ctx, s, target, fallback)
      return
    }
    const origin = ctx.get('origin')
    const config = origin === '' ? undefined : configFor(s, target.bucketName, fallback)
    const query = { origin, method: ctx.method }
    const match = config ? findCorsRule(config, query) : undefined
    // Set before the handler runs, so error responses carry them too (errorResponse keeps these headers).
    if (match) ctx.set(corsResponseHeaders(match, query))
    await next()
  }
}
