// A refused metadata write: a full attribute block (ext4 keeps 4 KiB of extended attributes per file) is 400
// MetadataTooLarge, a full disk stays 507 InsufficientStorage (a 0-byte PUT on a full disk fails only there).
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { s3ErrorFromErrno } from '../../lib/errors/s3-error.js'
import { metaWriteError } from '../../lib/storage/xattrs.js'
import { mountTmpfs } from '../fixtures/mounts.js'

const enospc = (): NodeJS.ErrnoException => Object.assign(new Error('ENOSPC: no space left on device, setxattr'), { code: 'ENOSPC', syscall: 'fsetxattr' })

t.test('ENOSPC on a filesystem with room is the attribute block: MetadataTooLarge', async t => {
  const mapped = s3ErrorFromErrno(await metaWriteError(enospc(), t.testdir({ f: 'x' })))
  t.equal(mapped?.code, 'MetadataTooLarge')
  t.equal(mapped?.status, 400)
  const big = s3ErrorFromErrno(await metaWriteError(Object.assign(new Error('E2BIG'), { code: 'E2BIG' }), t.testdir({})))
  t.equal(big?.code, 'MetadataTooLarge', 'E2BIG (XFS past 64 KiB) from any xattr binding')
  t.equal(s3ErrorFromErrno(await metaWriteError(Object.assign(new Error('EACCES'), { code: 'EACCES' }), '/'))?.code, 'AccessDenied', 'other errors pass through')
})

t.test('ENOSPC on a full filesystem stays a full disk: 507 InsufficientStorage', async t => {
  // Not under t.testdir: that is removed before the mount is gone.
  const dir = mkdtempSync(join(tmpdir(), 's3bridge-full-'))
  t.teardown(() => setImmediate(() => rmSync(dir, { recursive: true, force: true })))
  if (!mountTmpfs(t, dir, 'size=1m')) return
  try { writeFileSync(join(dir, 'fill'), Buffer.alloc(2 * 1024 * 1024)) } catch { /* ENOSPC: full now */ }
  const mapped = s3ErrorFromErrno(await metaWriteError(enospc(), dir))
  t.equal(mapped?.code, 'InsufficientStorage')
  t.equal(mapped?.status, 507)
})
