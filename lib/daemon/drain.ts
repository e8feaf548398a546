// Counts requests until their handler and their response are both done, so a stop can wait for them.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { onResponseClosed } from '../http/response-closed.js'

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void

export class RequestTracker {
  private pending = 0
  private done = 0
  private waiters = new Set<() => void>()
  /** Called each time a request settles (the stop uses it to close connections that just went idle). */
  onSettled: (() => void) | undefined

  get inFlight (): number {
    return this.pending
  }

  /** Requests settled since the process started. */
  get settled (): number {
    return this.done
  }

  /**
   * Wraps a handler. A request counts until the handler's promise settles (its cleanup, such as
   * removing a temp file, has run) and the response has closed (a streamed body has been sent).
   */
  wrap (handler: RequestHandler): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      this.pending++
      let outstanding = 2
      const settle = (): void => {
        if (--outstanding > 0) return
        this.pending--
        this.done++
        this.onSettled?.()
        if (this.pending === 0) for (const w of this.waiters) w()
      }
      onResponseClosed(req, res, settle)
      Promise.resolve().then(() => handler(req, res)).catch(() => undefined).finally(settle)
    }
  }

  /** Resolves true once no request is in flight, or false after timeoutMs. */
  waitIdle (timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true)
    return new Promise(resolve => {
      const done = (isIdle: boolean): void => {
        clearTimeout(timer)
        this.waiters.delete(onIdle)
        resolve(isIdle)
      }
      const onIdle = (): void => done(true)
      const timer = setTimeout(() => done(false), timeoutMs)
      this.waiters.add(onIdle)
    })
  }
}
