// A refused metadata write: a full attribute block (ext4 keeps 4 KiB of extended attributes per file) is 400
// MetadataTooLarge, a full disk stays 507 InsufficientStorage (a 0-byte PUT on a full disk fails only there).
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeFileSync, writeSync } from 'node:fs'
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

t.test('ENOSPC on a full ext4 stays a full disk although ext4 still shows the blocks it keeps back (sweep 24c F1)', async t => {
  const dir = mkdtempSync(join(tmpdir(), 's3bridge-ext4-'))
  const image = `${dir}.img`
  t.teardown(() => setImmediate(() => { rmSync(dir, { recursive: true, force: true }); rmSync(image, { force: true }) }))
  try {
    execFileSync('truncate', ['-s', '64M', image])
    execFileSync('mkfs.ext4', ['-q', '-F', image], { stdio: 'pipe' })
    execFileSync('mount', ['-o', 'loop', image, dir], { stdio: 'pipe' })
  } catch (err) {
    t.plan(0, `cannot make and mount an ext4 image: ${(err as Error).message.split('\n')[0]}`)
    return
  }
  t.teardown(() => { try { execFileSync('umount', ['-l', dir], { stdio: 'pipe' }) } catch {} })
  // Filled as root (who may use the reserved blocks) until the kernel says no.
  const chunk = Buffer.alloc(1024 * 1024)
  const fd = openSync(join(dir, 'fill'), 'w')
  try { for (;;) writeSync(fd, chunk) } catch { /* ENOSPC */ } finally { closeSync(fd) }
  try { for (let i = 0; ; i++) writeFileSync(join(dir, `f${i}`), Buffer.alloc(4096)) } catch { /* the last blocks */ }
  t.ok(statfsSync(dir).bfree > 16, 'ext4 still counts some blocks free (what it keeps for itself)')
  const mapped = s3ErrorFromErrno(await metaWriteError(enospc(), dir))
  t.equal(mapped?.code, 'InsufficientStorage', 'a full disk, not "metadata too large"')
  t.equal(mapped?.status, 507)
})
