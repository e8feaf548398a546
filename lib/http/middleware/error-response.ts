// Renders every failure as AWS's XML error with its status; anything unexpected becomes InternalError and is logged.
import type { Context, Next } from 'koa'
import { S3Error, s3ErrorFromErrno } from '../../errors/s3-error.js'
import type { Logger } from '../../log.js'
import { renderXml } from '../xml/render.js'

export function errorResponse (log: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next()
    } catch (err) {
      const e = toS3Error(err, ctx)
      if (e.code === 'InternalError') log.error({ err, requestId: ctx.state.requestId }, 'internal error')
      ctx.state.errorCode = e.code
      if (ctx.headerSent) {
        ctx.req.socket.destroy()
        return
      }
      // Keep CORS and request-id headers; drop what the failed handler may have set.
      for (const h of ['etag', 'last-modified', 'content-range', 'content-disposition', 'content-encoding']) ctx.remove(h)
      for (const [k, v] of Object.entries(e.headers)) ctx.set(k, v)
      ctx.status = e.status
      if (ctx.method === 'HEAD' || e.status === 304) {
        ctx.body = null
        if (e.status !== 304) ctx.status = e.status
        return
      }
      ctx.type = 'application/xml'
      ctx.body = renderXml('Error', {
        Code: e.code,
        Message: e.message,
        ...e.fields,
        Resource: e.fields.Resource ?? ctx.path,
        RequestId: ctx.state.requestId as string,
        HostId: ctx.state.hostId as string | undefined, // as AWS's error bodies carry it, equal to x-amz-id-2
      }, null)
      ctx.status = e.status
    }
  }
}

function toS3Error (err: unknown, ctx: Context): S3Error {
  if (err instanceof S3Error) return err
  const mapped = s3ErrorFromErrno(err, { Resource: ctx.path })
  if (mapped) return mapped
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') return new S3Error('IncompleteBody')
  return new S3Error('InternalError')
}
