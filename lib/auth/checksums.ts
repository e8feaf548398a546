// Streaming hashers for the x-amz-checksum-* algorithms and Content-MD5, all producing base64 like AWS headers.
import { Crc32c } from '@aws-crypto/crc32c'
import { Crc64Nvme } from '@aws-sdk/crc64-nvme'
import { createHash } from 'node:crypto'
import { Transform } from 'node:stream'
import { crc32 } from 'node:zlib'

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const
export type ChecksumAlgorithm = typeof CHECKSUM_ALGORITHMS[number]
export type DigestAlgorithm = ChecksumAlgorithm | 'md5'

export interface StreamingHasher {
  update(data: Buffer): void
  /** Base64 of the digest bytes, as x-amz-checksum-* headers carry it. */
  digestBase64(): Promise<string>
}

/** Decoded byte length of each algorithm's digest, to validate header values. */
export const DIGEST_BYTES: Record<DigestAlgorithm, number> = { crc32: 4, crc32c: 4, crc64nvme: 8, sha1: 20, sha256: 32, md5: 16 }

export function isChecksumAlgorithm(name: string): name is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(name)
}

function uint32Base64(value: number): string {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(value >>> 0)
  return out.toString('base64')
}

function crc32Hasher(): StreamingHasher {
  let value = 0
  return { update: data => { value = crc32(data, value) }, digestBase64: async () => uint32Base64(value) }
}

function crc32cHasher(): StreamingHasher {
  const state = new Crc32c()
  return { update: data => { state.update(data) }, digestBase64: async () => uint32Base64(state.digest()) }
}

function crc64NvmeHasher(): StreamingHasher {
  const state = new Crc64Nvme()
  return { update: data => { state.update(data) }, digestBase64: async () => Buffer.from(await state.digest()).toString('base64') }
}

function nodeHasher(algorithm: 'sha1' | 'sha256' | 'md5'): StreamingHasher {
  const hash = createHash(algorithm)
  return { update: data => { hash.update(data) }, digestBase64: async () => hash.digest('base64') }
}

export function createHasher(algorithm: DigestAlgorithm): StreamingHasher {
  switch (algorithm) {
    case 'crc32': return crc32Hasher()
    case 'crc32c': return crc32cHasher()
    case 'crc64nvme': return crc64NvmeHasher()
    case 'sha1': case 'sha256': case 'md5': return nodeHasher(algorithm)
  }
}

/**
 * A stream stage that hashes what passes through it unchanged; once it has flushed, `digest()` is the base64 digest
 * and `checksums()` the same as stored metadata ({ [algorithm]: digest }). Both undefined before.
 */
export function checksumTap(algorithm: ChecksumAlgorithm): { tap: Transform, digest: () => string | undefined, checksums: () => Record<string, string> | undefined } {
  const hasher = createHasher(algorithm)
  let digest: string | undefined
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) { hasher.update(chunk); cb(null, chunk) },
    flush(cb) { hasher.digestBase64().then(d => { digest = d; cb() }, cb) },
  })
  return { tap, digest: () => digest, checksums: () => digest === undefined ? undefined : { [algorithm]: digest } }
}

/** True when `value` is base64 of exactly the algorithm's digest length. */
export function isValidDigestValue(algorithm: DigestAlgorithm, value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false
  const bytes = Buffer.from(value, 'base64')
  return bytes.length === DIGEST_BYTES[algorithm] && bytes.toString('base64') === value
}
