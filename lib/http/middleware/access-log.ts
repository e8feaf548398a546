// One structured line per request: id, principal, operation, bucket, key, status, bytes, duration.
import type { Context, Next } from 'koa'
import { accessLogWriter, redactUrl, type Logger } from '../../log.js'
import { bodyBytesIn, bodyBytesOut, outcomeCode, whenResponseDone } from './metrics.js'

export function accessLog (log: Logger) {
  const write = accessLogWriter(log)
  return async (ctx: Context, next: Next): Promise<void> => {
    const started = process.hrtime.bigint()
    const bytesInBefore = ctx.req.socket.bytesRead
    const bytesOutBefore = ctx.req.socket.bytesWritten
    try {
      await next()
    } finally {
      const done = (): void => {
        write({
          requestId: ctx.state.requestId,
          principal: ctx.state.principalName ?? 'anonymous',
          operation: ctx.state.operation ?? 'unknown',
          bucket: ctx.state.bucketName,
          key: ctx.state.rawKey,
          method: ctx.method,
          url: redactUrl(ctx.url),
          status: ctx.status,
          error: outcomeCode(ctx),
          bytesIn: bodyBytesIn(ctx, bytesInBefore),
          bytesOut: bodyBytesOut(ctx, bytesOutBefore),
          ms: Number(process.hrtime.bigint() - started) / 1e6,
          sourceIp: ctx.ip,
        })
      }
      whenResponseDone(ctx, done)
    }
  }
}
