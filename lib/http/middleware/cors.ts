// Answers CORS preflights (OPTIONS, no auth) and adds Access-Control-* headers to actual cross-origin responses.
import type { Context, Next } from 'koa'
import { S3Error } from '../../errors/s3-error.js'
import { corsResponseHeaders, findCorsRule, requestedHeaders, storedCors } from '../cors.js'
import { CORS_METHODS, type CorsConfiguration } from '../../config/cors-rules.js'
import type { Services } from '../types.js'
import type { ResolvedTarget } from './resolve-target.js'

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
  return async (ctx: Context, next: Next): Promise<void> => {
    // The daemon-wide rules for buckets that have none; parsing the config validated them.
    const fallback = s.config.defaultCors ?? undefined
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
