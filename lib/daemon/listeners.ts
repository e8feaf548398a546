// The S3 listeners: plain HTTP and HTTPS at once (or HTTPS only), with certificates that can be swapped live.
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import { randomBytes } from 'node:crypto'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { fieldFailure, type Config, type ListenerConfig, type TlsConfig } from '../config/schema.js'
import { markBodyTruncated } from '../auth/verified-body.js'

export interface Listeners {
  servers: Array<Server | TlsServer>
  /** http://host:port, or undefined when no plain listener is open. */
  httpEndpoint?: string
  httpsEndpoint?: string
  /** Re-reads certFile and keyFile; new TLS connections use them, open ones keep theirs. */
  reloadCertificates (tls: TlsConfig): void
}

type Handler = Parameters<typeof createServer>[1]

/** Reads and parses one PEM file on its own, so a failure names certFile or keyFile. */
function pem (path: string, field: 'certFile' | 'keyFile'): Buffer {
  try {
    const text = readFileSync(path)
    createSecureContext(field === 'certFile' ? { cert: text } : { key: text })
    return text
  } catch (err) {
    throw fieldFailure(`https.${field}`, path, err)
  }
}

/** Throws what starting an https listener with these files would (a missing file, a key that does not match). */
export function checkTlsFiles (tls: TlsConfig): void {
  tlsOptions(tls)
}

function tlsOptions (tls: TlsConfig): { cert: Buffer, key: Buffer } {
  const options = { cert: pem(tls.certFile, 'certFile'), key: pem(tls.keyFile, 'keyFile') }
  try {
    createSecureContext(options)
  } catch (err) {
    throw fieldFailure('https.keyFile', `${tls.keyFile} for ${tls.certFile}`, err) // the key does not match the certificate
  }
  return options
}

/** Listens on at; field names the config entry in the error (a busy port or an unknown host). */
export function listen (server: Server | TlsServer, at: ListenerConfig, field: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => reject(fieldFailure(field, `${at.host}:${at.port}`, err))
    server.once('error', fail)
    server.listen(at.port, at.host, () => {
      server.off('error', fail)
      resolve(server.address() as AddressInfo)
    })
  })
}

/** A connection that sends and receives nothing this long is closed. */
export const SOCKET_IDLE_TIMEOUT_MS = 30 * 60_000

/**
 * Requests Node's HTTP parser refuses never reach Koa; answer them in S3's XML rather than a bare status.
 */
function answerClientError (err: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage
  if (inFlight && socket.writable && !inFlight.headersSent && inFlight.req?.complete !== true) {
    // The request's own body is broken: cut short (HPE_INVALID_EOF_STATE) or badly framed (a chunk size that is
    // not hex, ...). Its handler fails with 400 IncompleteBody, answered on the socket, which then closes.
    answerTruncatedBody(inFlight, socket)
    return
  }
  if (inFlight && socket.writable && inFlight.req?.complete === true) {
    // Its body was read whole, so the error is in what follows it: bytes past the request's Content-Length that
    // do not parse as a next request. Answer the request the client sent (its body was what it declared, so an
    // MD5 check says BadDigest, as AWS answers), then close.
    finishThenClose(inFlight, socket)
    return
  }
  if (!socket.writable || inFlight) {
    socket.destroy()
    return
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW'
  const code = tooLarge ? 'RequestHeaderSectionTooLarge' : 'BadRequest'
  const message = tooLarge ? 'Your request header section exceeds the maximum allowed size.' : 'An error occurred when parsing the HTTP request.'
  const id = randomBytes(8).toString('hex').toUpperCase()
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${id}</RequestId></Error>`
  socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nx-amz-request-id: ${id}\r\nConnection: close\r\n\r\n${body}`)
}

/** How long a request whose client half-closed mid-body may take to answer before the socket is dropped. */
const TRUNCATED_ANSWER_MS = 30_000

/**
 * The request's body cannot be read to its end: the client half-closed its connection before the body it
 * declared was complete (a Content-Length that lies), or its chunked framing does not parse. The request is
 * already with its handler: let it fail with 400 IncompleteBody, as AWS answers a short body, and close the
 * connection once that answer is written.
 */
function answerTruncatedBody (res: ServerResponse, socket: Duplex): void {
  finishThenClose(res, socket)
  markBodyTruncated(res.req)
}

/** Responses already set to close: the parser reports every later chunk of garbage again. */
const closing = new WeakSet<ServerResponse>()

/** Lets the response in flight be written, then closes the connection (or drops it after TRUNCATED_ANSWER_MS). */
function finishThenClose (res: ServerResponse, socket: Duplex): void {
  if (closing.has(res)) return
  closing.add(res);
  (res as ServerResponse & { shouldKeepAlive: boolean }).shouldKeepAlive = false
  const timer = setTimeout(() => socket.destroy(), TRUNCATED_ANSWER_MS)
  timer.unref()
  res.once('close', () => clearTimeout(timer))
}

function tune (server: Server | TlsServer, handler: Handler): void {
  server.requestTimeout = 0 // large uploads; stalled clients are bounded by the socket idle timeout below
  server.keepAliveTimeout = 65_000
  // Stalled bodies are timed out by the body reader (requestIdleTimeoutSeconds → 400 RequestTimeout); a
  // socket that sends and receives nothing for much longer is dropped (a long Complete still sends nothing).
  server.setTimeout(SOCKET_IDLE_TIMEOUT_MS)
  server.on('clientError', answerClientError)
  // An Expect header other than 100-continue is served like any request, as S3 does (s3-tests'
  // bad_expect_mismatch and expect_empty cases), instead of Node's bare 417.
  if (handler) {
    server.on('checkExpectation', handler)
    // 100 Continue is sent when a handler starts reading the body (lib/http/continue.ts), after authentication
    // and authorization, not by Node on arrival.
    server.on('checkContinue', handler)
  }
}

function urlHost (host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

export async function openListeners (config: Config, handler: Handler): Promise<Listeners> {
  const servers: Array<Server | TlsServer> = []
  let httpEndpoint: string | undefined
  let httpsEndpoint: string | undefined
  let tlsServer: TlsServer | undefined
  const firstContext = config.https ? tlsOptions(config.https) : undefined // a bad cert fails before any port opens
  try {
    if (config.http && !config.httpsOnly) {
      const server = createServer(handler)
      tune(server, handler)
      servers.push(server)
      const addr = await listen(server, config.http, 'http')
      httpEndpoint = `http://${urlHost(config.http.host)}:${addr.port}`
    }
    if (config.https && firstContext) {
      tlsServer = createTlsServer(firstContext, handler)
      tune(tlsServer, handler)
      servers.push(tlsServer)
      const addr = await listen(tlsServer, config.https, 'https')
      httpsEndpoint = `https://${urlHost(config.https.host)}:${addr.port}`
    }
  } catch (err) {
    for (const s of servers) s.close()
    throw err
  }
  return {
    servers,
    httpEndpoint,
    httpsEndpoint,
    reloadCertificates: tls => tlsServer?.setSecureContext(tlsOptions(tls)),
  }
}
