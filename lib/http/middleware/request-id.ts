// Gives every request an id, echoed as x-amz-request-id on every response.
import { randomBytes } from 'node:crypto'
import type { Context, Next } from 'koa'

/**
 * A random per-process prefix plus a counter: unique across workers and hosts without drawing random bytes
 * on every request (that showed up in the small-object profile).
 */
export function requestId () {
  const prefix = randomBytes(4).toString('hex').toUpperCase()
  const hostId = randomBytes(24).toString('base64')
  let counter = 0
  return async (ctx: Context, next: Next): Promise<void> => {
    counter = (counter + 1) >>> 0
    const id = prefix + counter.toString(16).toUpperCase().padStart(8, '0')
    ctx.state.requestId = id
    ctx.state.hostId = hostId
    ctx.set('x-amz-request-id', id)
    ctx.set('x-amz-id-2', hostId)
    ctx.set('Server', 's3bridge')
    await next()
  }
}
