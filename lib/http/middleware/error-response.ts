// Renders every failure as AWS's XML error with its status; anything unexpected becomes InternalError and is logged.
import type { Context, Next } from 'koa'
import { S3Error, s3ErrorFromErrno } from '../../errors/s3-error.js'
import { StateWriteError } from '../../state/store.js'
import type { Logger } from '../../log.js'
import { renderXml } from '../xml/render.js'

export function errorResponse (log: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next()
    } catch (err) {
      const e = toS3Error(err, ctx.path)
      if (e.code === 'InternalError') log.error({ err, requestId: ctx.state.requestId }, 'internal error')
      else if (err instanceof StateWriteError) log.error({ err, requestId: ctx.state.requestId }, 'the state cannot be saved')
      ctx.state.errorCode = e.code
      if (ctx.headerSent) {
        ctx.req.socket.destroy()
        return
      }
      if (!ctx.req.complete) discardRestOfBody(ctx)
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
      ctx.body = errorDocument(e, { resource: ctx.path, requestId: ctx.state.requestId as string, hostId: ctx.state.hostId as string | undefined })
      ctx.status = e.status
    }
  }
}

/** How much of an unwanted request body is read and thrown away, and for how long, before the socket is cut. */
const DISCARD_BYTES = 16 * 1024 * 1024
const DISCARD_MS = 5_000

/**
 * An error answered before the request body was read whole (a refused upload, a body over a limit): the
 * connection closes after the answer, as AWS's does, and the rest of the body is read and dropped for a moment so
 * a client still sending it (many send the whole body before reading) gets the answer instead of waiting for a
 * timeout; a client that keeps sending past the allowance is cut off.
 */
function discardRestOfBody (ctx: Context): void {
  ctx.set('Connection', 'close')
  const req = ctx.req
  ctx.res.once('finish', () => {
    if (req.complete) return
    let bytes = 0
    const cut = (): void => { req.socket.destroy() }
    const timer = setTimeout(cut, DISCARD_MS)
    timer.unref()
    req.on('data', (chunk: Buffer) => { bytes += chunk.length; if (bytes > DISCARD_BYTES) cut() })
    req.once('end', () => clearTimeout(timer))
    req.socket.once('close', () => clearTimeout(timer))
    req.resume()
  })
}

/** AWS's <Error> document for e (HostId as AWS's error bodies carry it, equal to x-amz-id-2). */
export function errorDocument (e: S3Error, where: { resource: string, requestId: string, hostId?: string }): string {
  return renderXml('Error', {
    Code: e.code,
    Message: e.message,
    ...e.fields,
    Resource: e.fields.Resource ?? where.resource,
    RequestId: where.requestId,
    HostId: where.hostId,
  }, null)
}

/** The S3 error a failure is answered with: errno errors mapped, a dropped client IncompleteBody, else InternalError. */
export function toS3Error (err: unknown, resource: string): S3Error {
  if (err instanceof S3Error) return err
  // The bridge's own state could not be saved: the request may succeed later; it was 403 from EROFS's mapping.
  if (err instanceof StateWriteError) return new S3Error('ServiceUnavailable', {}, { message: 'The bridge cannot save its configuration now; try again later.' })
  const mapped = s3ErrorFromErrno(err, { Resource: resource })
  if (mapped) return mapped
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') return new S3Error('IncompleteBody')
  return new S3Error('InternalError')
}
