// The shapes handlers share: the parsed request, the reply they return, and the services they use.
import type { State } from '../state/types.js'
import type { BackgroundWork } from './background-work.js'
import type { S3ErrorCode } from '../errors/s3-errors.js'
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { LabelledPolicy } from '../access/authorize.js'
import type { Authenticated } from '../auth/authenticate.js'
import type { Principal } from '../auth/principal.js'
import type { Config } from '../config/schema.js'
import type { Logger } from '../log.js'
import type { StateStore } from '../state/store.js'
import type { BucketRecord } from '../state/types.js'
import type { ObjectKey } from '../storage/types.js'
import type { BucketRoots } from '../storage/bucket-roots.js'

export interface S3Request {
  requestId: string
  /** This daemon's x-amz-id-2, for error documents a handler renders itself. */
  hostId?: string
  method: string
  bucketName?: string
  /** Raw decoded key as the client sent it; handlers parse it with parseObjectKey. */
  rawKey?: string
  query: URLSearchParams
  headers: IncomingHttpHeaders
  principal: Principal
  auth: Authenticated | null
  /**
   * The state the caller was authenticated on (this daemon's copy then, maybe a poll behind): writes of the state
   * compare the caller in it with the caller in the fresh state under the lock (bucket-access.ts callerStamp).
   */
  judgedState?: State
  /** Session or service-account policy that narrows the principal (STS). */
  sessionPolicy?: LabelledPolicy
  /** When the STS session that signed the request was issued (aws:TokenIssueTime); undefined for other keys. */
  tokenIssuedAt?: Date
  /** AWS operation name from the route table. */
  operation: string
  sourceIp: string
  isSecure: boolean
  /** The TLS version as s3:TlsVersion has it ("1.2", "1.3"); undefined over plain HTTP. */
  tlsVersion?: string
  /** The bucket came from the Host header (bucket.<base-domain>), not the path. */
  isVirtualHost: boolean
  /** The verified request body (aws-chunked decoded, digests checked at its end). */
  body (): Readable
  /** The x-amz-checksum-* sent as a trailer of the body, verified; only once the body has ended. */
  trailerChecksum (): Record<string, string> | undefined
  /** Reads the whole verified body as text, refusing more than maxBytes. */
  /** The whole body as UTF-8 text, at most maxBytes; bytes that are not UTF-8 are the S3 error `invalid` (MalformedXML). */
  readText (maxBytes: number, invalid?: S3ErrorCode): Promise<string>
}

export interface S3Reply {
  status?: number
  headers?: Record<string, string | number | undefined>
  xml?: string
  body?: Readable | Buffer
  /** Bytes of body when known (Content-Length). */
  length?: number
  /**
   * Work still running after the handler returned, whose answer the body streams (slowXmlReply): the bucket stays
   * held until it settles, and the S3 error code it ended with (if any) goes to the access log.
   */
  pending?: Promise<string | undefined>
}

export interface Services {
  config: Config
  state: StateStore
  log: Logger
  now: () => Date
  /** Whether each bucket's directory is there to serve (bucket-roots.ts). */
  roots: BucketRoots
  /** What requests go on with after answering; a stop waits for it (background-work.ts). */
  background?: BackgroundWork
}

export type Handler = (req: S3Request, s: Services) => Promise<S3Reply>

export interface BucketContext { record: BucketRecord, key?: ObjectKey }
