// aws-chunked decoder: strips chunk framing, verifies chunk and trailer signatures, collects trailers.
import { createHash, type Hash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { S3Error } from '../errors/s3-error.js'
import { signHex } from './sigv4/signing-key.js'
import { chunkStringToSign, trailerStringToSign } from './sigv4/string-to-sign.js'
import { signaturesEqual } from './sigv4/verify.js'

export interface ChunkSigning { seedSignature: string, signingKey: Buffer, scope: string, amzDate: string }

export interface AwsChunkedOptions {
  /** Present for STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: every chunk signature is verified. */
  signing?: ChunkSigning
  /** Trailer lines are accepted after the final chunk. */
  allowsTrailer: boolean
  /** x-amz-decoded-content-length: the exact number of payload bytes. */
  decodedContentLength: number
  /** Longest chunk-header or trailer line accepted, in bytes. */
  maxLineBytes?: number
}

type State = 'size-line' | 'data' | 'data-cr' | 'data-lf' | 'trailer-line' | 'done'

const MAX_TRAILERS = 16
const CHUNK_SIZE = /^[0-9a-fA-F]{1,16}$/

function malformed(detail: string): S3Error {
  return new S3Error('InvalidRequest', {}, { message: `The aws-chunked request body is malformed: ${detail}.` })
}

/** Decodes aws-chunked framing, streaming payload bytes through without buffering more than one line. */
export class AwsChunkedDecoder extends Transform {
  /** Trailer headers by lowercase name, complete once the stream has ended. */
  readonly trailers = new Map<string, string>()
  private readonly options: AwsChunkedOptions
  private readonly maxLineBytes: number
  private state: State = 'size-line'
  private line: Buffer[] = []
  private lineBytes = 0
  private remaining = 0
  private decodedBytes = 0
  private isFinalChunk = false
  private chunkSignature = ''
  private previousSignature: string
  private chunkHash: Hash | undefined
  private canonicalTrailer = ''
  private trailerSignature: string | undefined

  constructor(options: AwsChunkedOptions) {
    super()
    this.options = options
    this.maxLineBytes = options.maxLineBytes ?? 4096
    this.previousSignature = options.signing?.seedSignature ?? ''
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      let offset = 0
      while (offset < chunk.length) offset = this.step(chunk, offset)
      callback()
    } catch (err) {
      callback(err as Error)
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.state !== 'done') {
      callback(new S3Error('IncompleteBody', {}, { message: 'The request body terminated unexpectedly' }))
    } else if (this.decodedBytes !== this.options.decodedContentLength) {
      callback(new S3Error('IncompleteBody'))
    } else {
      callback()
    }
  }

  /** Consumes bytes from `offset` for the current state; returns the new offset. */
  private step(chunk: Buffer, offset: number): number {
    switch (this.state) {
      case 'size-line': case 'trailer-line': return this.readLine(chunk, offset)
      case 'data': return this.readData(chunk, offset)
      case 'data-cr': return this.expectByte(chunk, offset, 0x0d, 'data-lf')
      case 'data-lf': {
        const next = this.expectByte(chunk, offset, 0x0a, 'size-line')
        this.verifyChunkSignature()
        return next
      }
      case 'done': return this.readAfterEnd(chunk, offset)
    }
  }

  private readLine(chunk: Buffer, offset: number): number {
    const newline = chunk.indexOf(0x0a, offset)
    const end = newline === -1 ? chunk.length : newline
    this.lineBytes += end - offset
    if (this.lineBytes > this.maxLineBytes) throw malformed('a chunk header or trailer line is too long')
    this.line.push(chunk.subarray(offset, end))
    if (newline === -1) return chunk.length
    const text = Buffer.concat(this.line).toString('latin1').replace(/\r$/, '')
    this.line = []
    this.lineBytes = 0
    if (this.state === 'size-line') this.startChunk(text)
    else this.addTrailerLine(text)
    return newline + 1
  }

  private startChunk(header: string): void {
    const [sizeText = '', ...extensions] = header.split(';')
    if (!CHUNK_SIZE.test(sizeText.trim())) throw malformed('invalid chunk size')
    this.remaining = parseInt(sizeText.trim(), 16)
    if (this.decodedBytes + this.remaining > this.options.decodedContentLength) {
      throw new S3Error('InvalidRequest', {}, { message: 'The decoded body is longer than x-amz-decoded-content-length.' })
    }
    this.isFinalChunk = this.remaining === 0
    if (this.options.signing !== undefined) {
      const signature = extensions.map(e => e.trim()).find(e => e.startsWith('chunk-signature='))
      if (signature === undefined) throw malformed('a chunk is missing its chunk-signature')
      this.chunkSignature = signature.slice('chunk-signature='.length)
      this.chunkHash = createHash('sha256')
    }
    if (this.isFinalChunk) {
      this.verifyChunkSignature()
      this.state = 'trailer-line'
    } else {
      this.state = 'data'
    }
  }

  private readData(chunk: Buffer, offset: number): number {
    const end = Math.min(chunk.length, offset + this.remaining)
    const data = chunk.subarray(offset, end)
    this.chunkHash?.update(data)
    this.remaining -= data.length
    this.decodedBytes += data.length
    this.push(data)
    if (this.remaining === 0) this.state = 'data-cr'
    return end
  }

  private expectByte(chunk: Buffer, offset: number, byte: number, next: State): number {
    if (chunk[offset] !== byte) throw malformed('chunk data is not followed by CRLF')
    this.state = next
    return offset + 1
  }

  private verifyChunkSignature(): void {
    const signing = this.options.signing
    if (signing === undefined || this.chunkHash === undefined) return
    const stringToSign = chunkStringToSign(signing.amzDate, signing.scope, this.previousSignature, this.chunkHash.digest('hex'))
    this.chunkHash = undefined
    if (!signaturesEqual(signHex(signing.signingKey, stringToSign), this.chunkSignature)) {
      throw new S3Error('SignatureDoesNotMatch', { StringToSign: stringToSign, SignatureProvided: this.chunkSignature })
    }
    this.previousSignature = this.chunkSignature
  }

  private addTrailerLine(text: string): void {
    if (text === '') {
      this.verifyTrailerSignature()
      this.state = 'done'
      return
    }
    const colon = text.indexOf(':')
    if (!this.options.allowsTrailer || colon <= 0) throw malformed('unexpected data after the final chunk')
    const name = text.slice(0, colon).trim().toLowerCase()
    const value = text.slice(colon + 1).trim()
    if (name === 'x-amz-trailer-signature') {
      this.trailerSignature = value
      return
    }
    if (this.trailers.size >= MAX_TRAILERS) throw malformed('too many trailer headers')
    this.trailers.set(name, value)
    this.canonicalTrailer += `${name}:${value}\n`
  }

  private verifyTrailerSignature(): void {
    const signing = this.options.signing
    if (signing === undefined || (this.trailers.size === 0 && this.trailerSignature === undefined)) return
    const stringToSign = trailerStringToSign(signing.amzDate, signing.scope, this.previousSignature, this.canonicalTrailer)
    const provided = this.trailerSignature ?? ''
    if (!signaturesEqual(signHex(signing.signingKey, stringToSign), provided)) {
      throw new S3Error('SignatureDoesNotMatch', { StringToSign: stringToSign, SignatureProvided: provided })
    }
  }

  /** Some clients end with an extra CRLF; anything else after the terminating empty line is an error. */
  private readAfterEnd(chunk: Buffer, offset: number): number {
    const rest = chunk.subarray(offset)
    if (rest.some(b => b !== 0x0d && b !== 0x0a)) throw malformed('unexpected data after the end of the body')
    return chunk.length
  }
}
