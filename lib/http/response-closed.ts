// When a response is over for good, including one that never got its socket.
import type { IncomingMessage, ServerResponse } from 'node:http'

/** The callbacks waiting on a response: one pair of listeners serves them all. */
const waiting = new WeakMap<ServerResponse, Array<() => void>>()

/**
 * Calls `fn` once when `res` closes, or when the connection does: a response queued behind another on a pipelined
 * connection never emits 'close' when the client leaves (review 16), so the request stayed "in flight" for good
 * (a stop then waited its whole grace period) and its log line was never written. The listener on the connection
 * is removed again once the response closed, so a keep-alive connection does not gather one per request.
 * The drain, the metrics and the dispatcher each wait on every response; one 'close' listener each, beside Koa's,
 * the body pipeline's and the socket timer's, went past node's 10 and printed a MaxListenersExceededWarning
 * for every streamed GET, so the callbacks share one listener.
 */
export function onResponseClosed (req: IncomingMessage, res: ServerResponse, fn: () => void): void {
  const queued = waiting.get(res)
  if (queued !== undefined) {
    queued.push(fn)
    return
  }
  const fns = [fn]
  waiting.set(res, fns)
  const socket = req.socket
  let called = false
  const once = (): void => {
    if (called) return
    called = true
    socket.off('close', once)
    res.off('close', once)
    waiting.delete(res)
    for (const f of fns) {
      // Each ran in a listener of its own before: one that throws still must not keep the others from running.
      try { f() } catch (err) { queueMicrotask(() => { throw err }) }
    }
  }
  res.once('close', once)
  if (socket.destroyed) queueMicrotask(once)
  else socket.once('close', once)
}
