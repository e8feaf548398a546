// The ETag of a file written over NFS (no current stored MD5): derived from what identifies its content here.
import t from 'tap'
import { effectiveETag, type StoredMeta } from '../../../lib/storage/xattrs.js'

const st = (over: Partial<{ dev: bigint, ino: bigint, size: bigint, mtimeNs: bigint }> = {}): { dev: bigint, ino: bigint, size: bigint, mtimeNs: bigint } =>
  ({ dev: 2049n, ino: 1234n, size: 42n, mtimeNs: 1_700_000_000_123_456_789n, ...over })

t.test('stable across a remount (another device number), different when the content may differ', async t => {
  const base = effectiveETag(st(), undefined)
  t.match(base, /^[0-9a-f]{32}-1$/, 'shaped like a multipart ETag, never taken for an MD5')
  t.equal(effectiveETag(st({ dev: 1794n }), undefined), base, 'the device number changes across reboots and remounts')
  t.not(effectiveETag(st({ size: 43n }), undefined), base)
  t.not(effectiveETag(st({ mtimeNs: 1_700_000_000_123_456_790n }), undefined), base)
  t.not(effectiveETag(st({ ino: 1235n }), undefined), base)
})

t.test('a stored MD5 holds while its stamp matches', async t => {
  const stored: StoredMeta = { etag: '5d41402abc4b2a76b9719d911017c592', user: {}, stampSize: '42', stampMtimeNs: '1700000000123456789' }
  t.equal(effectiveETag(st(), stored), stored.etag)
  t.match(effectiveETag(st({ size: 41n }), stored), /-1$/, 'rewritten over NFS')
})
