// Feeds each request's operation, status, latency and bytes to the Prometheus metrics when its response ends.
import type { Context, Next } from 'koa'
import type { Metrics } from '../../metrics.js'
import { onResponseClosed } from '../response-closed.js'
import { bytesSentByKernel } from '../../storage/file-body.js'

/**
 * Body bytes received: the announced Content-Length once the body was read whole (a small body arrives with
 * the headers, before any counter could start), else what the socket read while the request ran.
 */
export function bodyBytesIn (ctx: Context, socketBytesBefore: number): number {
  const length = Number(ctx.req.headers['content-length'])
  if (ctx.req.complete && Number.isFinite(length)) return length
  return Math.max(0, ctx.req.socket.bytesRead - socketBytesBefore)
}

/**
 * Body bytes of the response: what Content-Length announced once it was all sent, none for HEAD and 304; for a
 * response cut short (the client left, a file shrank under a streamed GET) what left the socket less the head,
 * where it counted the announced length as sent (sweep 24c F7).
 */
export function bodyBytesOut (ctx: Context, socketBytesBefore: number): number {
  if (ctx.method === 'HEAD' || ctx.status === 304) return 0
  const length = Number(ctx.res.getHeader('content-length'))
  if (ctx.res.writableFinished && Number.isFinite(length)) return length
  const head = (ctx.res as unknown as { _header?: string | null })._header?.length ?? 0
  const sent = Math.max(0, ctx.req.socket.bytesWritten - socketBytesBefore - head) + bytesSentByKernel(ctx.res)
  return Number.isFinite(length) ? Math.min(sent, length) : sent
}

/** The request's error code, or ResponseIncomplete for an answer that never went out whole. */
export function outcomeCode (ctx: Context): string | undefined {
  if (typeof ctx.state.errorCode === 'string') return ctx.state.errorCode
  return ctx.res.writableFinished ? undefined : 'ResponseIncomplete'
}

/**
 * Runs `done` once the response is over: its last byte sent or the client gone, and any work it streamed the
 * answer of (ctx.state.pending: a kept-alive Complete, which goes on after a client leaves; ctx.state.settling:
 * a kernel-sent body's job in flight) settled, so the access log and metrics see the outcome, the whole duration
 * and every byte sent.
 */
export function whenResponseDone (ctx: Context, done: () => void): void {
  const settled = (): void => {
    const pending = ctx.state.pending as Promise<unknown> | undefined
    // Work still sending the body (a kernel-sent GET's job in flight), asked now: its bytes are only known after.
    const sending = (ctx.state.settling as (() => Promise<void> | undefined) | undefined)?.()
    if (pending === undefined && sending === undefined) done()
    else void Promise.all([pending, sending]).then(done, done)
  }
  if (ctx.res.writableFinished) settled()
  else onResponseClosed(ctx.req, ctx.res, settled)
}

export function requestMetrics (metrics: Metrics) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const started = process.hrtime.bigint()
    const bytesInBefore = ctx.req.socket.bytesRead
    const bytesOutBefore = ctx.req.socket.bytesWritten
    metrics.requestStarted()
    try {
      await next()
    } finally {
      // Counted when the last byte left (or the client went away), so streamed GETs time their whole transfer.
      const done = (): void => {
        metrics.requestFinished({
          operation: typeof ctx.state.operation === 'string' ? ctx.state.operation : 'unknown',
          status: ctx.res.headersSent ? ctx.res.statusCode : ctx.status,
          errorCode: outcomeCode(ctx),
          durationSeconds: Number(process.hrtime.bigint() - started) / 1e9,
          bytesIn: bodyBytesIn(ctx, bytesInBefore),
          bytesOut: bodyBytesOut(ctx, bytesOutBefore),
        })
      }
      whenResponseDone(ctx, done)
    }
  }
}
