// SigV4 strings to sign: for the request, for each aws-chunked chunk, and for the signed trailer.
import { createHash } from 'node:crypto'

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256'
export const EMPTY_SHA256_HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/**
 * The bytes a client signed, from a string built of what node:http read. Node reads header (and URL) bytes as
 * latin-1 characters, one per byte, so a raw non-ASCII header value (boto3 sends metadata as UTF-8) must be hashed
 * as those same bytes, as AWS does, not re-encoded as UTF-8. Anything past latin-1 cannot have come off the wire.
 */
export function wireBytes(text: string): Buffer {
  return Buffer.from(text, /[^\x00-\xff]/.test(text) ? 'utf8' : 'latin1')
}

/** `<date>/<region>/<service>/aws4_request` */
export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/aws4_request`
}

export function requestStringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return [SIGV4_ALGORITHM, amzDate, scope, sha256Hex(wireBytes(canonicalRequest))].join('\n')
}

/** Each aws-chunked chunk signs the previous signature (the seed for the first chunk) and its data's hash. */
export function chunkStringToSign(amzDate: string, scope: string, previousSignature: string, chunkSha256Hex: string): string {
  return ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previousSignature, EMPTY_SHA256_HEX, chunkSha256Hex].join('\n')
}

/** The trailer signs the final chunk's signature and the hash of its `name:value\n` lines. */
export function trailerStringToSign(amzDate: string, scope: string, previousSignature: string, canonicalTrailer: string): string {
  return ['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, previousSignature, sha256Hex(canonicalTrailer)].join('\n')
}
