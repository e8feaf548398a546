// The verified request body: aws-chunked decoding plus payload-hash, Content-MD5 and x-amz-checksum-* checks.
import type { IncomingHttpHeaders } from 'node:http'
import { type Readable, Transform, type TransformCallback } from 'node:stream'
import { S3Error } from '../errors/s3-error.js'
import type { PayloadPlan } from './authenticate.js'
import {
  CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, createHasher, type DigestAlgorithm, isChecksumAlgorithm,
  isValidDigestValue, type StreamingHasher,
} from './checksums.js'
import { AwsChunkedDecoder } from './streaming-payload.js'

interface Expectations {
  sha256Hex?: string
  contentMd5?: string
  headerChecksum?: { algorithm: ChecksumAlgorithm, value: string }
  trailerChecksum?: ChecksumAlgorithm
  /** Algorithms to compute even without a value to compare (x-amz-sdk-checksum-algorithm). */
  computed: Set<DigestAlgorithm>
}

function headerString(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

function expectations(plan: PayloadPlan, headers: IncomingHttpHeaders): Expectations {
  // MD5 only when Content-MD5 asks for it: storage hashes the ETag itself, and a second MD5 pass costs a
  // quarter of a large PUT's CPU (bench profile).
  const result: Expectations = { computed: new Set() }
  if (plan.kind === 'signed') result.sha256Hex = plan.sha256Hex
  const md5 = headerString(headers, 'content-md5')
  if (md5 !== undefined) {
    if (!isValidDigestValue('md5', md5.trim())) throw new S3Error('InvalidDigest', { 'Content-MD5': md5 })
    result.contentMd5 = md5.trim()
    result.computed.add('md5')
  }
  const present = CHECKSUM_ALGORITHMS.filter(a => headers[`x-amz-checksum-${a}`] !== undefined)
  if (present.length > 1) {
    throw new S3Error('InvalidRequest', {}, { message: 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.' })
  }
  const [algorithm] = present
  if (algorithm !== undefined) {
    const value = (headerString(headers, `x-amz-checksum-${algorithm}`) ?? '').trim()
    if (!isValidDigestValue(algorithm, value)) {
      throw new S3Error('InvalidRequest', {}, { message: `Value for x-amz-checksum-${algorithm} header is invalid.` })
    }
    result.headerChecksum = { algorithm, value }
  }
  const trailer = headerString(headers, 'x-amz-trailer')?.trim().toLowerCase()
  if (trailer !== undefined && trailer.startsWith('x-amz-checksum-') && isStreamingTrailer(plan, headers)) {
    const name = trailer.slice('x-amz-checksum-'.length)
    if (!isChecksumAlgorithm(name)) throw new S3Error('InvalidRequest', {}, { message: `The value specified in the x-amz-trailer header is not supported` })
    result.trailerChecksum = name
  }
  const sdkAlgorithm = headerString(headers, 'x-amz-sdk-checksum-algorithm')?.trim().toLowerCase()
  if (sdkAlgorithm !== undefined && isChecksumAlgorithm(sdkAlgorithm)) result.computed.add(sdkAlgorithm)
  return result
}

function isStreamingTrailer(plan: PayloadPlan, headers: IncomingHttpHeaders): boolean {
  return (plan.kind === 'streaming-signed' && plan.trailer) || plan.kind === 'streaming-unsigned-trailer'
    || (plan.kind === 'none-declared' && headerString(headers, 'x-amz-content-sha256') === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER')
}

function decoderFor(plan: PayloadPlan, headers: IncomingHttpHeaders): AwsChunkedDecoder | undefined {
  const isStreaming = plan.kind === 'streaming-signed' || isStreamingTrailer(plan, headers)
  if (!isStreaming) return undefined
  const lengthText = headerString(headers, 'x-amz-decoded-content-length')
  if (lengthText === undefined) throw new S3Error('MissingContentLength')
  if (!/^\d+$/.test(lengthText.trim())) {
    throw new S3Error('InvalidArgument', { ArgumentName: 'x-amz-decoded-content-length', ArgumentValue: lengthText })
  }
  const decodedContentLength = Number(lengthText.trim())
  if (plan.kind === 'streaming-signed') {
    const { seedSignature, signingKey, scope, amzDate } = plan
    return new AwsChunkedDecoder({ signing: { seedSignature, signingKey, scope, amzDate }, allowsTrailer: plan.trailer, decodedContentLength })
  }
  return new AwsChunkedDecoder({ allowsTrailer: true, decodedContentLength })
}

/** Hashes every payload byte and, in flush, compares each declared digest before letting 'end' through. */
class DigestVerifier extends Transform {
  readonly results: Record<string, string> = {}
  /** The checksum the client sent in its trailer, once it has been verified. */
  trailerChecksum: Record<string, string> | undefined
  private readonly hashers = new Map<DigestAlgorithm, StreamingHasher>()

  constructor(private readonly expected: Expectations, private readonly decoder: AwsChunkedDecoder | undefined) {
    super()
    const algorithms = new Set<DigestAlgorithm>(expected.computed)
    if (expected.sha256Hex !== undefined) algorithms.add('sha256')
    if (expected.headerChecksum !== undefined) algorithms.add(expected.headerChecksum.algorithm)
    if (expected.trailerChecksum !== undefined) algorithms.add(expected.trailerChecksum)
    for (const algorithm of algorithms) this.hashers.set(algorithm, createHasher(algorithm))
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (const hasher of this.hashers.values()) hasher.update(chunk)
    callback(null, chunk)
  }

  override _flush(callback: TransformCallback): void {
    this.verify().then(() => callback(), (err: unknown) => callback(err as Error))
  }

  private async verify(): Promise<void> {
    for (const [algorithm, hasher] of this.hashers) this.results[algorithm] = await hasher.digestBase64()
    const { sha256Hex, contentMd5, headerChecksum, trailerChecksum } = this.expected
    const sha256 = Buffer.from(this.results.sha256 ?? '', 'base64').toString('hex')
    if (sha256Hex !== undefined && sha256 !== sha256Hex) {
      throw new S3Error('XAmzContentSHA256Mismatch', { ClientComputedContentSHA256: sha256Hex, S3ComputedContentSHA256: sha256 })
    }
    if (contentMd5 !== undefined && this.results.md5 !== contentMd5) {
      throw new S3Error('BadDigest', { ExpectedDigest: contentMd5, CalculatedDigest: this.results.md5 })
    }
    if (headerChecksum !== undefined) this.compareChecksum(headerChecksum.algorithm, headerChecksum.value)
    if (trailerChecksum !== undefined) {
      const value = this.decoder?.trailers.get(`x-amz-checksum-${trailerChecksum}`)
      if (value === undefined) {
        throw new S3Error('InvalidRequest', {}, { message: `The x-amz-checksum-${trailerChecksum} trailer declared in x-amz-trailer was not sent.` })
      }
      this.compareChecksum(trailerChecksum, value)
      this.trailerChecksum = { [trailerChecksum]: value }
    }
  }

  private compareChecksum(algorithm: ChecksumAlgorithm, value: string): void {
    if (!isValidDigestValue(algorithm, value)) {
      throw new S3Error('InvalidRequest', {}, { message: `Value for x-amz-checksum-${algorithm} trailing header is invalid.` })
    }
    if (this.results[algorithm] !== value) {
      throw new S3Error('BadDigest', {}, { message: `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.` }) // AWS wording, as LocalStack records it
    }
  }
}

/**
 * AWS's RequestTimeout: a body that sends nothing for idleMs fails with 400 RequestTimeout, so a stalled
 * client frees its temp file and descriptor. Only waiting for the client is timed: not a long Complete, and not
 * a body paused because the server is not reading it (its file writes held up by a frozen or slow filesystem:
 * the client is not at fault, and the upload goes on when the writes do).
 */
function watchIdle(raw: Readable, verifier: Transform, idleMs: number): void {
  let timer: NodeJS.Timeout | undefined
  let over = false
  let armed = 0 // bumped on every change: a check already on its way is void
  const stop = (): void => { armed++; if (timer) clearTimeout(timer); timer = undefined }
  const arm = (): void => {
    stop()
    if (over || raw.isPaused()) return
    const at = armed
    // Judged after one more turn of I/O: a daemon that was itself stopped (SIGSTOP, a VM paused) runs its expired
    // timers before the bytes that arrived meanwhile; they re-arm the watch, and the body goes on (sweep 24c F8).
    timer = setTimeout(() => setImmediate(() => { if (armed === at && !over) verifier.destroy(new S3Error('RequestTimeout')) }), idleMs)
    timer.unref()
  }
  const end = (): void => { over = true; stop() }
  raw.on('data', arm)
  raw.on('pause', stop)
  raw.on('resume', arm)
  raw.once('end', end)
  raw.once('close', end)
  verifier.once('close', end)
  arm()
}

const TRUNCATED = Symbol('s3bridge.bodyTruncated')
type MaybeTruncated = Readable & { [TRUNCATED]?: boolean }

/**
 * The client ended its half of the connection before the body it declared was complete. Node's parser
 * reports that as a client error while the request is in flight and the request stream just stops; this
 * tells the body reader, so the request fails with IncompleteBody and is answered on the still-open socket.
 */
export function markBodyTruncated(raw: Readable): void {
  (raw as MaybeTruncated)[TRUNCATED] = true
  raw.emit('s3bridge:truncated')
}

/** Builds the verified body stream; header-level problems throw synchronously, payload problems error the stream. */
export interface VerifiedBody {
  body: Readable
  /** Every digest computed over the payload (base64), complete once the body has ended. */
  checksums (): Record<string, string>
  /** The x-amz-checksum-* the client sent as a trailer, verified, once the body has ended (else undefined). */
  trailerChecksum (): Record<string, string> | undefined
}

export function createVerifiedBody(raw: Readable, plan: PayloadPlan, headers: IncomingHttpHeaders, opts: { idleTimeoutMs?: number } = {}): VerifiedBody {
  const expected = expectations(plan, headers)
  const decoder = decoderFor(plan, headers)
  const verifier = new DigestVerifier(expected, decoder)
  // The handler may attach its listeners later (after opening a temp file): an error before then must be
  // kept on the stream (stream.errored, seen by pipeline/for-await) rather than crash the process.
  verifier.on('error', () => undefined)
  // pipe() rather than pipeline(): destroying the request on a verification error would drop the socket before the error reply.
  raw.on('error', err => verifier.destroy(err))
  // A client that leaves before the end of its body: the body is incomplete, whoever is reading it must stop.
  const incomplete = (): void => { if (!raw.readableEnded) verifier.destroy(new S3Error('IncompleteBody')) }
  if (raw.destroyed || (raw as MaybeTruncated)[TRUNCATED] === true) process.nextTick(incomplete)
  else {
    raw.once('close', incomplete)
    raw.once('s3bridge:truncated', incomplete)
  }
  if (opts.idleTimeoutMs !== undefined && opts.idleTimeoutMs > 0) watchIdle(raw, verifier, opts.idleTimeoutMs)
  if (decoder === undefined) {
    raw.pipe(verifier)
  } else {
    decoder.on('error', err => {
      raw.unpipe(decoder)
      verifier.destroy(err)
    })
    raw.pipe(decoder).pipe(verifier)
  }
  return { body: verifier, checksums: () => ({ ...verifier.results }), trailerChecksum: () => verifier.trailerChecksum }
}
