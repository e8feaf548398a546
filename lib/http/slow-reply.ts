// An XML answer that may take minutes to make, kept alive with white space the way AWS keeps CompleteMultipartUpload's.
import { Readable } from 'node:stream'
import type { Logger } from '../log.js'
import { errorDocument, toS3Error } from './middleware/error-response.js'
import type { S3Reply } from './types.js'

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

export interface SlowReplyOptions {
  /** Answer normally if the work is done within this long of `started`; past it, 200 and white space (0: at once). */
  keepAliveMs: number
  /** For a late error's document and log line. */
  resource: string
  requestId: string
  hostId?: string
  log: Logger
}

/**
 * AWS (API reference, CompleteMultipartUpload): "After Amazon S3 begins processing the request, it sends an HTTP
 * response header that specifies a 200 OK response. While processing is in progress, Amazon S3 periodically sends
 * white space characters to keep the connection from timing out. [...] a 200 OK response can contain either a
 * success or an error." The SDKs read an <Error> in such a 200 as the error (botocore retries it as a server
 * error). So the 200 goes out only once the work has `started` what takes long, after checking what it can refuse
 * with a 4xx, and keepAliveMs after that: work that ends sooner is answered as usual. Then the XML declaration goes
 * out at once, a space every keepAliveMs (at least 1 s), then the document `work` made, or its failure's <Error>.
 */
export async function slowXmlReply (work: Promise<string>, started: Promise<void>, o: SlowReplyOptions): Promise<S3Reply> {
  let timer: NodeJS.Timeout | undefined
  const late = started.then(() => new Promise<'late'>(resolve => { timer = setTimeout(() => resolve('late'), o.keepAliveMs) }))
  const first = await Promise.race([work, late]).finally(() => clearTimeout(timer))
  if (first !== 'late') return { xml: first as string }

  let ticker: NodeJS.Timeout | undefined
  const body = new Readable({
    read () {},
    destroy (err, cb) { clearInterval(ticker); cb(err) },
  })
  body.push(DECLARATION)
  ticker = setInterval(() => body.push(' '), Math.max(1000, o.keepAliveMs))
  const pending = work.then(
    xml => { finish(xml); return undefined },
    (err: unknown) => {
      const e = toS3Error(err, o.resource)
      if (e.code === 'InternalError') o.log.error({ err, requestId: o.requestId }, 'internal error')
      finish(errorDocument(e, { resource: o.resource, requestId: o.requestId, hostId: o.hostId }))
      return e.code as string
    })
  /** Sends the document's root element (its declaration went out first). */
  function finish (doc: string): void {
    clearInterval(ticker)
    if (body.destroyed) return // the client went away; the work finished regardless
    body.push(doc.startsWith('<?xml') ? doc.slice(doc.indexOf('?>') + 2).trimStart() : doc)
    body.push(null)
  }
  return { status: 200, headers: { 'content-type': 'application/xml' }, body, pending }
}
