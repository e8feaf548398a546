// Splits a request into bucket and key, from a virtual host (bucket.<base-domain>) or the path.
import type { Context, Next } from 'koa'
import { S3Error } from '../../errors/s3-error.js'
import type { Target } from '../operations.js'

export interface ResolvedTarget {
  target: Target
  bucketName?: string
  rawKey?: string
  /** The bucket came from the Host header (bucket.<base-domain>); SigV2 signs it into the resource. */
  isVirtualHost?: boolean
}

function rawPath (url: string): string {
  const q = url.indexOf('?')
  return q < 0 ? url : url.slice(0, q)
}

function decode (s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    throw new S3Error('InvalidURI')
  }
}

export function resolveTarget (baseDomains: readonly string[]) {
  return async (ctx: Context, next: Next): Promise<void> => {
    // RFC 9112 §3.2: more than one Host is a 400. Node keeps the first; a proxy in front may route on another,
    // and the bucket of a virtual-hosted request comes from it.
    if ((ctx.req.headersDistinct.host?.length ?? 0) > 1) throw new S3Error('InvalidArgument', { ArgumentName: 'Host' }, { message: 'A request must carry one Host header.' })
    // RFC 9112 §3.2.2: a request target in absolute form (`GET http://host/bucket/key`, as proxies send) is
    // accepted, and its authority is the host. The rest of the pipeline (routing, SigV4's canonical URI) reads the
    // origin form.
    const absolute = /^https?:\/\/([^/?#]*)/i.exec(ctx.req.url ?? '')
    if (absolute !== null) {
      const rest = (ctx.req.url ?? '').slice(absolute[0].length)
      ctx.req.url = rest.startsWith('/') ? rest : `/${rest}`
      if (absolute[1] !== '') ctx.req.headers.host = absolute[1]
    }
    const host = (ctx.get('host') || '').toLowerCase().replace(/:\d+$/, '')
    const base = baseDomains.find(d => host.endsWith('.' + d))
    const path = rawPath(ctx.url)
    let resolved: ResolvedTarget
    if (base) {
      const bucketName = host.slice(0, -(base.length + 1))
      const key = path.replace(/^\//, '')
      resolved = key === '' ? { target: 'bucket', bucketName, isVirtualHost: true } : { target: 'object', bucketName, rawKey: decode(key), isVirtualHost: true }
    } else {
      const trimmed = path.replace(/^\//, '')
      const slash = trimmed.indexOf('/')
      if (trimmed === '') resolved = { target: 'service' }
      else if (slash < 0 || slash === trimmed.length - 1) resolved = { target: 'bucket', bucketName: decode(slash < 0 ? trimmed : trimmed.slice(0, -1)) }
      else resolved = { target: 'object', bucketName: decode(trimmed.slice(0, slash)), rawKey: decode(trimmed.slice(slash + 1)) }
    }
    ctx.state.target = resolved
    ctx.state.bucketName = resolved.bucketName
    ctx.state.rawKey = resolved.rawKey
    await next()
  }
}
