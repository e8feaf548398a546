// Gives every request an id, echoed as x-amz-request-id on every response.
import { randomBytes } from 'node:crypto'
import type { Context, Next } from 'koa'

export function requestId () {
  return async (ctx: Context, next: Next): Promise<void> => {
    const id = randomBytes(8).toString('hex').toUpperCase()
    ctx.state.requestId = id
    ctx.set('x-amz-request-id', id)
    ctx.set('x-amz-id-2', randomBytes(24).toString('base64'))
    ctx.set('Server', 's3bridge')
    await next()
  }
}
