// combineCrcs (lib/storage/crc-combine.ts) against the CRC of the concatenated bytes, for every algorithm S3 combines.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { createHasher } from '../../../lib/auth/checksums.js'
import { combineCrcs } from '../../../lib/storage/crc-combine.js'

async function crcOf (algorithm: 'crc32' | 'crc32c' | 'crc64nvme', data: Buffer): Promise<string> {
  const h = createHasher(algorithm)
  h.update(data)
  return h.digestBase64()
}

for (const algorithm of ['crc32', 'crc32c', 'crc64nvme'] as const) {
  t.test(`${algorithm}: the combined CRC of the pieces is the CRC of their concatenation`, async t => {
    const layouts = [[1], [0, 3], [7, 0, 1], [4096, 1, 65537], [1 << 20, 333, 5]]
    for (const sizes of layouts) {
      const pieces = sizes.map(n => randomBytes(n))
      const sums = await Promise.all(pieces.map(async p => ({ checksum: await crcOf(algorithm, p), size: p.length })))
      t.equal(combineCrcs(algorithm, sums), await crcOf(algorithm, Buffer.concat(pieces)), `pieces of ${sizes.join(', ')} bytes`)
    }
  })
}
