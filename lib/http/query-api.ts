// The AWS query protocol (STS, IAM): a form-encoded POST naming an Action, answered in AWS's query XML envelopes.
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { S3Error } from '../errors/s3-error.js'
import type { Logger } from '../log.js'
import { escapeXml, renderXml, type XmlNode } from './xml/render.js'
import type { Handler, S3Reply, S3Request, Services } from './types.js'

/** SigV4 scopes a query-API request may be signed for (the CLI signs STS calls for "sts", IAM calls for "iam"). */
export const QUERY_API_SIGNING_SERVICES: readonly string[] = ['s3', 'sts', 'iam']

/** Form bodies are small: a 2 KB session policy URL-encoded stays far below this. */
export const MAX_FORM_BYTES = 64 * 1024

/** One action of a query API: its XML namespace and a handler returning the Result element's content (null: none). */
export interface QueryAction {
  namespace: string
  handle (params: URLSearchParams, req: S3Request, s: Services): Promise<XmlNode | null>
}

export type QueryActions = Readonly<Record<string, QueryAction>>

const DEFAULT_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/'
const IAM_ERROR_NAMESPACE = 'https://iam.amazonaws.com/doc/2010-05-08/'

function header (headers: IncomingHttpHeaders | Record<string, unknown>, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? String(v[0]) : typeof v === 'string' ? v : undefined
}

export function isFormEncoded (headers: IncomingHttpHeaders | Record<string, unknown>): boolean {
  return /^application\/x-www-form-urlencoded\b/i.test(header(headers, 'content-type') ?? '')
}

/** A query-API call: POST to the service root with a form body (S3 has no POST on "/"). */
export function isQueryApiRequest (method: string, target: string, headers: IncomingHttpHeaders): boolean {
  return method === 'POST' && target === 'service' && isFormEncoded(headers)
}

/** Reads the whole form body; it must be hashed before the signature can be checked (these clients send no x-amz-content-sha256). */
export async function readFormBody (raw: Readable, maxBytes = MAX_FORM_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of raw) {
    size += (chunk as Buffer).length
    if (size > maxBytes) throw new S3Error('MaxMessageLengthExceeded')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** The route-table handler: finds the Action, runs it, and renders its result or its error. */
export function queryApi (actions: QueryActions): Handler {
  return async (req: S3Request, s: Services): Promise<S3Reply> => {
    const params = new URLSearchParams(await req.readText(MAX_FORM_BYTES))
    const name = params.get('Action') ?? ''
    const action = Object.hasOwn(actions, name) ? actions[name] : undefined
    try {
      if (!action) throw new S3Error('InvalidAction', {}, { message: `Could not find operation ${name} for version ${params.get('Version') ?? 'NO_VERSION_SPECIFIED'}` })
      const result = await action.handle(params, req, s)
      return { xml: renderQueryResponse(name, action.namespace, result, req.requestId) }
    } catch (err) {
      // An unknown Action answers in the namespace of the service it was signed for (IAM's or STS's).
      return queryErrorReply(err, req.requestId, s.log, action?.namespace ?? (req.auth?.service === 'iam' ? IAM_ERROR_NAMESPACE : undefined))
    }
  }
}

export function renderQueryResponse (action: string, namespace: string, result: XmlNode | null, requestId: string): string {
  const body: XmlNode = {}
  if (result !== null) body[`${action}Result`] = result
  body.ResponseMetadata = { RequestId: requestId }
  return renderXml(`${action}Response`, body, namespace)
}

/** S3 codes that the query APIs spell differently. */
const QUERY_CODES: Readonly<Record<string, string>> = {
  InvalidAccessKeyId: 'InvalidClientTokenId',
  MalformedPolicy: 'MalformedPolicyDocument',
}

/** `<ErrorResponse>` for any failure; unexpected errors are logged and answered as InternalFailure. */
export function queryErrorReply (err: unknown, requestId: string, log: Logger, namespace = DEFAULT_NAMESPACE): S3Reply & { status: number, xml: string } {
  let status = 500
  let code = 'InternalFailure'
  let message = 'An internal error occurred.'
  if (err instanceof S3Error) {
    status = err.status
    code = QUERY_CODES[err.code] ?? err.code
    message = err.message
  } else {
    log.error({ err, requestId }, 'internal error in query API')
  }
  const type = status >= 500 ? 'Receiver' : 'Sender'
  const xml = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<ErrorResponse xmlns="${escapeXml(namespace)}"><Error><Type>${type}</Type><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error><RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>`
  return { status, xml }
}
