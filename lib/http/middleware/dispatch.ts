// Picks the operation from the route table, builds the S3Request, runs the handler and writes its reply.
import type { State } from '../../state/types.js'
import type { TLSSocket } from 'node:tls'
import type { Context, Next } from 'koa'
import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { ACCOUNT_ID, type LabelledPolicy } from '../../access/authorize.js'
import { verifiedBody, type Authenticated } from '../../auth/authenticate.js'
import type { VerifiedBody } from '../../auth/verified-body.js'
import type { Principal } from '../../auth/principal.js'
import { S3Error } from '../../errors/s3-error.js'
import type { S3ErrorCode } from '../../errors/s3-errors.js'
import { matchOperation } from '../operations.js'
import type { S3Reply, S3Request, Services } from '../types.js'
import type { ResolvedTarget } from './resolve-target.js'
import { continueIfExpected } from '../continue.js'
import { onResponseClosed } from '../response-closed.js'
import { parseCopySource } from '../handlers/copy-object.js'
import { useRoot } from '../../storage/paths.js'
import { FileBody } from '../../storage/file-body.js'

/** Request bodies read as text (XML, JSON, forms): bytes that are not UTF-8 are refused, never replaced. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

const ALLOWED_METHODS = new Set(['GET', 'PUT', 'POST', 'DELETE', 'HEAD'])

/** Node's protocol name as s3:TlsVersion's number: "TLSv1.3" is "1.3", and "TLSv1" (TLS 1.0) "1.0". */
function tlsVersionOf (protocol: string | null | undefined): string | undefined {
  const m = /^TLSv(\d)(?:\.(\d))?$/.exec(protocol ?? '')
  return m === null ? undefined : `${m[1] as string}.${m[2] ?? '0'}`
}

export function buildRequest (ctx: Context, operation: string, s: Services, query = new URLSearchParams(ctx.querystring)): S3Request {
  const target = ctx.state.target as ResolvedTarget
  const auth = ctx.state.auth as Authenticated | null
  let verified: VerifiedBody | undefined
  // The query API's form body was read (and hashed) during authentication.
  const formBody = ctx.state.formBody as Buffer | undefined
  // CompleteMultipartUpload's x-amz-checksum-* headers are the whole object's checksum, not its XML body's.
  const bodyHeaders = operation === 'CompleteMultipartUpload'
    ? Object.fromEntries(Object.entries(ctx.req.headers).filter(([name]) => !name.startsWith('x-amz-checksum-')))
    : ctx.req.headers
  const getBody = (): Readable => {
    continueIfExpected(ctx.req, ctx.res)
    verified ??= verifiedBody(formBody === undefined ? ctx.req : Readable.from([formBody]), auth, bodyHeaders, { idleTimeoutMs: s.config.requestIdleTimeoutMs })
    return verified.body
  }
  return {
    requestId: ctx.state.requestId as string,
    hostId: ctx.state.hostId as string | undefined,
    operation,
    method: ctx.method,
    bucketName: target.bucketName,
    rawKey: target.rawKey,
    query,
    headers: ctx.req.headers,
    principal: ctx.state.principal as Principal,
    auth,
    judgedState: (ctx.state.judgedState as State | undefined) ?? s.state.snapshot(),
    sessionPolicy: ctx.state.sessionPolicy as LabelledPolicy | undefined,
    tokenIssuedAt: ctx.state.tokenIssuedAt as Date | undefined,
    sourceIp: ctx.ip,
    isSecure: ctx.secure,
    tlsVersion: ctx.secure ? tlsVersionOf((ctx.req.socket as TLSSocket).getProtocol?.()) : undefined,
    isVirtualHost: target.isVirtualHost === true,
    body: getBody,
    trailerChecksum: () => verified?.trailerChecksum(),
    readText: async (maxBytes: number, invalid: S3ErrorCode = 'MalformedXML'): Promise<string> => {
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of getBody()) {
        size += (chunk as Buffer).length
        if (size > maxBytes) throw new S3Error('MaxMessageLengthExceeded')
        chunks.push(chunk as Buffer)
      }
      // Fatal decoding: a byte that is not UTF-8 must not become U+FFFD and name another key (DeleteObjects).
      try {
        return strictUtf8.decode(Buffer.concat(chunks))
      } catch {
        throw new S3Error(invalid)
      }
    },
  }
}

/**
 * A body that fails, or ends short of its Content-Length (a file truncated over NFS while it was read), once its
 * headers are out cannot be answered any more: the connection is cut, so the client sees the failure at once
 * instead of waiting for bytes that will not come (Koa only logs an error, and a short end looks like success).
 */
function cutIfIncomplete (ctx: Context, body: Readable): void {
  // Object streams fail when the file ended short or changed under the read (storage/objects.ts readStream).
  body.once('error', () => { ctx.req.socket.destroy() })
  // A response queued behind another on a pipelined connection gets no 'close' when the client leaves, so Koa never
  // destroyed its body and the file stayed open until garbage collection (review 16).
  onResponseClosed(ctx.req, ctx.res, () => { body.destroy() })
  // A body the kernel sends may still have a job in flight when the connection closes: its bytes count in the
  // access log and metrics once it returned (review 31 F2). Asked when the response is over, since the kernel path
  // is chosen only when Koa pipes the body, and a streamed body's slow read must not hold the line back (31b N3).
  if (body instanceof FileBody) ctx.state.settling = () => body.kernelDone()
}

/** Any byte past US-ASCII in a header value. */
const NON_ASCII = /[\x80-\xff]/

/**
 * The body to hand Koa. Node re-decodes a Content-Disposition value as UTF-8 when it knows the body's length
 * before it writes the headers (`res.end(buffer)`; nodejs/node#46528), so the header's bytes (a latin-1 "ü", or
 * UTF-8 as boto3 sends it) went out changed on small GETs only. Such a body is handed over as a stream instead,
 * whose headers go out as given, as HEAD's and large objects' do. Rare (non-ASCII dispositions), so its cost is too.
 */
function bodyKeepingHeaders (ctx: Context, body: NonNullable<S3Reply['body']>): NonNullable<S3Reply['body']> {
  if (!Buffer.isBuffer(body) || body.length === 0) return body
  const disposition = ctx.response.get('Content-Disposition')
  return typeof disposition === 'string' && NON_ASCII.test(disposition) ? Readable.from([body]) : body
}

export function writeReply (ctx: Context, reply: S3Reply): void {
  for (const [k, v] of Object.entries(reply.headers ?? {})) if (v !== undefined) ctx.set(k, String(v))
  const status = reply.status ?? 200
  if (reply.body) {
    const body = bodyKeepingHeaders(ctx, reply.body)
    ctx.body = body
    if (reply.length !== undefined) ctx.length = reply.length
    else if (body !== reply.body && Buffer.isBuffer(reply.body)) ctx.length = reply.body.length
    if (ctx.method === 'HEAD' && reply.body instanceof Readable) reply.body.destroy()
    else if (reply.body instanceof Readable) cutIfIncomplete(ctx, reply.body)
  } else if (reply.xml !== undefined) {
    ctx.body = reply.xml
    ctx.type = 'application/xml'
  } else if (ctx.method === 'HEAD') {
    if (reply.length !== undefined) ctx.set('Content-Length', String(reply.length))
  } else {
    ctx.body = ''
    // An empty answer has no type (Koa would call it text/plain; AWS sends none).
    ctx.remove('Content-Type')
  }
  ctx.status = status
}

/**
 * Objects here have one version, "null" (an unversioned bucket's). Any other versionId names a version that
 * does not exist: reads are NoSuchVersion, never the current object. DeleteObject decides for itself (a
 * delete of a version that does not exist succeeds and must leave the current object alone).
 */
function checkVersionId (operation: string, target: ResolvedTarget, query: URLSearchParams): void {
  const version = query.get('versionId')
  if (target.target === 'object' && version === '') {
    throw new S3Error('InvalidArgument', { ArgumentName: 'versionId', ArgumentValue: '' }, { message: 'Version id cannot be the empty string' })
  }
  if (target.target !== 'object' || version === null || version === 'null' || operation === 'DeleteObject') return
  throw new S3Error('NoSuchVersion', { Key: target.rawKey, VersionId: version })
}

/**
 * x-amz-expected-bucket-owner (and x-amz-source-expected-bucket-owner for a copy's source): a request that
 * names another account as the bucket's owner is refused with 403, as AWS does; every bucket here belongs to
 * the bridge's one account.
 */
function checkExpectedOwners (headers: IncomingHttpHeaders): void {
  for (const name of ['x-amz-expected-bucket-owner', 'x-amz-source-expected-bucket-owner']) {
    const v = headers[name]
    if (v !== undefined && String(v).trim() !== ACCOUNT_ID) throw new S3Error('AccessDenied')
  }
}

/**
 * A bucket whose directory is missing or whose filesystem is not mounted is refused whole (503, which clients
 * retry), never served as an empty bucket (bucket-roots.ts). The reason goes to the log, not to the client.
 */
async function refuseUnavailableBucket (bucketName: string | undefined, s: Services, fresh: boolean): Promise<void> {
  const record = bucketName === undefined ? undefined : s.state.snapshot().buckets[bucketName]
  const pending = record && s.roots.problem(record, { fresh })
  if (pending !== undefined && await pending !== undefined) {
    throw new S3Error('ServiceUnavailable', { BucketName: bucketName }, { message: 'The bucket\'s storage is not available now; try again later.' })
  }
}

/**
 * Listings check the bucket's directory afresh, not from the last quarter second: an empty or short page of a
 * bare mount point is what makes a `sync --delete` delete.
 */
const COPY_OPERATIONS = new Set(['CopyObject', 'UploadPartCopy'])

const FRESH_CHECK_OPERATIONS = new Set(['ListObjects', 'ListObjectsV2', 'ListObjectVersions', 'ListMultipartUploads', 'ListParts'])

/** The bucket an x-amz-copy-source names, if it parses (CopyObject's own parser). */
function copySourceBucket (headers: IncomingHttpHeaders): string | undefined {
  try {
    return parseCopySource(headers['x-amz-copy-source']).bucket
  } catch {
    return undefined
  }
}

export function dispatch (s: Services) {
  return async (ctx: Context, _next: Next): Promise<void> => {
    if (!ALLOWED_METHODS.has(ctx.method)) throw new S3Error('MethodNotAllowed', { Method: ctx.method, ResourceType: 'OBJECT' })
    const target = ctx.state.target as ResolvedTarget
    const query = new URLSearchParams(ctx.querystring) // parsed once for routing, checks and the handler
    const op = matchOperation(ctx.method, target.target, query, ctx.req.headers)
    if (!op) throw new S3Error('NotImplemented', {}, { message: 'A header or query you provided implies functionality that is not implemented.' })
    ctx.state.operation = op.name
    checkVersionId(op.name, target, query)
    checkExpectedOwners(ctx.req.headers)
    await refuseUnavailableBucket(target.bucketName, s, FRESH_CHECK_OPERATIONS.has(op.name))
    // A copy reads another bucket: a hung one would hold the request (and a pool thread) for good.
    if (COPY_OPERATIONS.has(op.name)) await refuseUnavailableBucket(copySourceBucket(ctx.req.headers), s, false)
    let reply: S3Reply
    // The bucket's staging folder stays held while its requests run, even if the bucket is unmapped meanwhile.
    const root = target.bucketName === undefined ? undefined : s.state.snapshot().buckets[target.bucketName]?.path
    const release = root === undefined ? undefined : useRoot(root)
    let held = false
    try {
      reply = await op.handle(buildRequest(ctx, op.name, s, query), s)
      if (reply.pending !== undefined) {
        held = true
        ctx.state.pending = reply.pending.then(code => { if (code !== undefined) ctx.state.errorCode = code }).finally(() => release?.())
        s.background?.track(ctx.state.pending as Promise<unknown>)
      }
    } catch (err) {
      // "No such key" from a bucket whose filesystem went away in the last moments is the bare directory talking;
      // so is a raw ENOENT/ENOTDIR (a write's, answered NoSuchKey later by the error catalogue: sweep 24c F2).
      const code = (err as NodeJS.ErrnoException | undefined)?.code
      if ((err instanceof S3Error && err.code === 'NoSuchKey') || code === 'ENOENT' || code === 'ENOTDIR') {
        await refuseUnavailableBucket(target.bucketName, s, true)
        await refuseUnavailableBucket(copySourceBucket(ctx.req.headers), s, true)
      }
      throw err
    } finally {
      if (!held) release?.()
    }
    writeReply(ctx, reply)
  }
}
