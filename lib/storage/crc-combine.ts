// The CRC of a concatenation from the CRCs and lengths of its pieces (zlib's crc32_combine, generalised to the
// three reflected CRCs S3 uses for FULL_OBJECT multipart checksums). All three start from and end with all ones
// inverted, which is what lets crc(A ‖ B) = crc(A) · x^(8·|B|) mod P  ⊕  crc(B).

export type CombinableAlgorithm = 'crc32' | 'crc32c' | 'crc64nvme'

interface CrcSpec { width: bigint, poly: bigint, table: bigint[] }

/** a · b mod P, polynomials in reflected bit order (zlib's multmodp). */
function multModP (spec: CrcSpec, a: bigint, b: bigint): bigint {
  let m = 1n << (spec.width - 1n)
  let p = 0n
  for (;;) {
    if ((a & m) !== 0n) {
      p ^= b
      if ((a & (m - 1n)) === 0n) break
    }
    m >>= 1n
    b = (b & 1n) !== 0n ? (b >> 1n) ^ spec.poly : b >> 1n
  }
  return p
}

function spec (width: number, poly: bigint): CrcSpec {
  const s: CrcSpec = { width: BigInt(width), poly, table: [] }
  let p = 1n << BigInt(width - 2) // x^1
  s.table.push(p)
  for (let n = 1; n < 64; n++) s.table.push(p = multModP(s, p, p)) // x^(2^n)
  return s
}

const SPECS: Record<CombinableAlgorithm, CrcSpec> = {
  crc32: spec(32, 0xedb88320n),
  crc32c: spec(32, 0x82f63b78n),
  crc64nvme: spec(64, 0x9a6c9329ac4bc9b5n),
}

/** x^(n · 2^k) mod P. */
function x2nModP (s: CrcSpec, n: bigint, k: number): bigint {
  let p = 1n << (s.width - 1n) // x^0
  while (n !== 0n) {
    if ((n & 1n) !== 0n) p = multModP(s, s.table[k % 64]!, p)
    n >>= 1n
    k++
  }
  return p
}

function toBigInt (base64: string): bigint {
  return BigInt('0x' + (Buffer.from(base64, 'base64').toString('hex') || '0'))
}

function toBase64 (value: bigint, width: bigint): string {
  return Buffer.from(value.toString(16).padStart(Number(width) / 4, '0'), 'hex').toString('base64')
}

/** The base64 CRC of the pieces' concatenation, from each piece's base64 CRC and byte length, in order. */
export function combineCrcs (algorithm: CombinableAlgorithm, pieces: ReadonlyArray<{ checksum: string, size: number }>): string {
  const s = SPECS[algorithm]
  let crc = 0n
  let first = true
  for (const piece of pieces) {
    const next = toBigInt(piece.checksum)
    crc = first ? next : multModP(s, x2nModP(s, BigInt(piece.size), 3), crc) ^ next
    first = false
  }
  return toBase64(crc, s.width)
}

export function isCombinable (algorithm: string): algorithm is CombinableAlgorithm {
  return algorithm === 'crc32' || algorithm === 'crc32c' || algorithm === 'crc64nvme'
}
