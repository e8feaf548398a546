// Expect: 100-continue. The listeners (lib/daemon/listeners.ts) take the 100 out of Node's hands, so it is sent
// only when a handler starts reading the body, after the signature and the permissions were checked: a client
// refused with 403 (or any other error) gets that answer without having uploaded its body first.
import type { IncomingMessage, ServerResponse } from 'node:http'

const sent = new WeakSet<IncomingMessage>()

/** Sends "100 Continue" if the client asked for it and nothing has been sent yet; once per request. */
export function continueIfExpected (req: IncomingMessage, res: ServerResponse): void {
  if (sent.has(req)) return
  sent.add(req)
  const expect = req.headers.expect
  if (typeof expect === 'string' && expect.toLowerCase() === '100-continue' && !res.headersSent && !res.writableEnded) res.writeContinue()
}
