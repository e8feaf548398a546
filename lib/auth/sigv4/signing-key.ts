// SigV4 signing-key derivation, memoised per secret+date+region+service in a small bounded cache.
import { createHash, createHmac } from 'node:crypto'

const MAX_CACHED_KEYS = 512
// Pure memoisation: a derived key depends only on its inputs, so sharing it across callers is safe.
const cache = new Map<string, Buffer>()

export function hmacSha256(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest()
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request") */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  // The secret is hashed so the cache never holds it as a readable string.
  const cacheKey = `${createHash('sha256').update(secret).digest('base64')}/${date}/${region}/${service}`
  const cached = cache.get(cacheKey)
  if (cached !== undefined) return cached
  const key = hmacSha256(hmacSha256(hmacSha256(hmacSha256('AWS4' + secret, date), region), service), 'aws4_request')
  if (cache.size >= MAX_CACHED_KEYS) {
    const oldest = cache.keys().next()
    if (oldest.done !== true) cache.delete(oldest.value)
  }
  cache.set(cacheKey, key)
  return key
}

export function signHex(key: Buffer, stringToSign: string): string {
  return hmacSha256(key, stringToSign).toString('hex')
}
