// A minimal SigV4 header signer for the load generator: no SDK in the hot loop, the signing key cached per day.
import { createHash, createHmac } from 'node:crypto'

export interface SignerOptions { accessKeyId: string, secretAccessKey: string, region: string, host: string }

/** Bodies are not hashed: every request says UNSIGNED-PAYLOAD (the daemon accepts it; TLS would protect the body). */
export const UNSIGNED = 'UNSIGNED-PAYLOAD'
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex')

function hmac (key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest()
}

/** RFC 3986 encoding as SigV4 wants it; '/' kept in paths. */
export function uriEncode (s: string, keepSlash: boolean): string {
  let out = encodeURIComponent(s).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase())
  if (keepSlash) out = out.replace(/%2F/g, '/')
  return out
}

export class Signer {
  private day = ''
  private key: Buffer = Buffer.alloc(0)
  constructor (private readonly opts: SignerOptions) {}

  private signingKey (day: string): Buffer {
    if (day !== this.day) {
      const kDate = hmac('AWS4' + this.opts.secretAccessKey, day)
      this.key = hmac(hmac(hmac(kDate, this.opts.region), 's3'), 'aws4_request')
      this.day = day
    }
    return this.key
  }

  /**
   * Headers for one request. path is already URI-encoded; query is a map of raw values.
   * Returns the headers to send (host, x-amz-date, x-amz-content-sha256, authorization) and the encoded query string.
   */
  sign (method: string, path: string, query: Record<string, string>, hasBody: boolean, extra: Record<string, string> = {}): { headers: Record<string, string>, qs: string } {
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
    const day = amzDate.slice(0, 8)
    const payload = hasBody ? UNSIGNED : EMPTY_SHA256
    const qs = Object.keys(query).sort().map(k => `${uriEncode(k, false)}=${uriEncode(query[k] ?? '', false)}`).join('&')
    const headers: Record<string, string> = { host: this.opts.host, 'x-amz-content-sha256': payload, 'x-amz-date': amzDate }
    for (const [k, v] of Object.entries(extra)) headers[k.toLowerCase()] = v
    const names = Object.keys(headers).sort()
    const canonicalHeaders = names.map(n => `${n}:${String(headers[n]).trim()}\n`).join('')
    const signedHeaders = names.join(';')
    const canonical = `${method}\n${path}\n${qs}\n${canonicalHeaders}\n${signedHeaders}\n${payload}`
    const scope = `${day}/${this.opts.region}/s3/aws4_request`
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`
    const signature = createHmac('sha256', this.signingKey(day)).update(toSign).digest('hex')
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${this.opts.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`
    return { headers, qs }
  }
}
