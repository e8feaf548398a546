// When a response is over for good, including one that never got its socket.
import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * Calls `fn` once when `res` closes, or when the connection does: a response queued behind another on a pipelined
 * connection never emits 'close' when the client leaves (review 16), so the request stayed "in flight" for good
 * (a stop then waited its whole grace period) and its log line was never written. The listener on the connection
 * is removed again once the response closed, so a keep-alive connection does not gather one per request.
 */
export function onResponseClosed (req: IncomingMessage, res: ServerResponse, fn: () => void): void {
  const socket = req.socket
  let called = false
  const once = (): void => {
    if (called) return
    called = true
    socket.off('close', once)
    fn()
  }
  res.once('close', once)
  if (socket.destroyed) queueMicrotask(once)
  else socket.once('close', once)
}
