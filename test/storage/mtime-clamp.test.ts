// mtimeNsOf clamps as native/common.h s3b_time_ns does: from the whole second at which int64 nanoseconds end.
import t from 'tap'
import { mtimeNsOf } from '../../lib/storage/xattrs.js'

const MAX = 2n ** 63n - 1n
const MIN = -(2n ** 63n)
const S = 9_223_372_036n // INT64_MAX / 1e9, in whole seconds

t.test('times in the last second before the limit clamp, as the addon clamps them', async t => {
  t.equal(mtimeNsOf({ mtimeNs: S * 1_000_000_000n + 1n }), MAX, 'within the limit\'s second (the addon compares seconds)')
  t.equal(mtimeNsOf({ mtimeNs: 2n ** 64n }), MAX)
  t.equal(mtimeNsOf({ mtimeNs: S * 1_000_000_000n - 1n }), S * 1_000_000_000n - 1n, 'the second before: exact')
  t.equal(mtimeNsOf({ mtimeNs: -S * 1_000_000_000n + 1n }), MIN, 'tv_sec is floored: -S s plus a nanosecond is in second -S')
  t.equal(mtimeNsOf({ mtimeNs: -(S - 1n) * 1_000_000_000n }), -(S - 1n) * 1_000_000_000n)
  t.equal(mtimeNsOf({ mtimeNs: 1_700_000_000_123_456_789n }), 1_700_000_000_123_456_789n, 'an ordinary time is exact')
})
