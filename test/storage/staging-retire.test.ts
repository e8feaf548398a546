// forgetStaging: a retired staging descriptor must never come to name another folder (a late request's
// `/proc/self/fd/N/...` path would then write there), and must not keep the old folder's filesystem busy.
import t from 'tap'
import { mkdirSync, mkdtempSync, openSync, closeSync, readlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { existingStagingDir, forgetStaging, retireRoot, serveRoot, stagingDir, useRoot } from '../../lib/storage/paths.js'
import { nativeAddon } from '../../lib/storage/native.js'

const NEEDS_ADDON = { skip: nativeAddon()?.replaceDescriptor === undefined && 'needs the native addon (without it a retired folder is released after hours)' }

t.test('a late path through a retired staging descriptor fails with ENOENT and the number stays taken', NEEDS_ADDON, async t => {
  const root = mkdtempSync(join(tmpdir(), 's3bridge-retire-'))
  const late = stagingDir(root)
  const fd = Number(late.split('/').pop())
  mkdirSync(join(late, 'tmp'))
  forgetStaging(root)
  t.notMatch(readlinkSync(late), root, 'the descriptor no longer refers to the bucket')
  t.throws(() => writeFileSync(join(late, 'tmp', 'part'), 'x'), { code: 'ENOENT' }, 'a late path finds nothing')
  t.throws(() => writeFileSync(join(late, 'file'), 'x'), { code: 'ENOENT' }, 'nothing can be created in its folder')
  const next = openSync(root, 'r')
  t.not(next, fd, 'a new open does not get the retired number')
  closeSync(next)
  const again = stagingDir(root)
  t.not(again, late, 'the next use opens the folder afresh')
  t.equal(readlinkSync(again), join(root, '.s3bridge'))
})

t.test('a root no bucket serves is not opened again until a bucket serves it; a request in flight keeps it', NEEDS_ADDON, async t => {
  const root = mkdtempSync(join(tmpdir(), 's3bridge-retire-'))
  const release = useRoot(root)
  const held = stagingDir(root)
  retireRoot(root)
  t.equal(readlinkSync(held), join(root, '.s3bridge'), 'the paths a request in flight made still reach its folder')
  t.throws(() => stagingDir(root), { code: 'NoSuchBucket' }, 'but nothing new is staged there')
  release()
  t.notMatch(readlinkSync(held), root, 'let go once it is done')
  t.throws(() => stagingDir(root), { code: 'NoSuchBucket' }, 'a late request does not open it again')
  t.equal(existingStagingDir(root), undefined, 'nor does a sweep')
  serveRoot(root)
  t.equal(readlinkSync(stagingDir(root)), join(root, '.s3bridge'), 'mapped again, it is opened afresh')
})

t.test('a root retired and served again while a request runs: new requests get a fresh folder, the old one goes with the request', NEEDS_ADDON, async t => {
  const root = mkdtempSync(join(tmpdir(), 's3bridge-retire-'))
  const release = useRoot(root)
  const old = stagingDir(root)
  retireRoot(root)
  serveRoot(root) // deleted and created again (DeleteBucket, CreateBucket) while that request still runs
  const fresh = stagingDir(root)
  t.not(fresh, old, 'opened afresh')
  t.equal(readlinkSync(fresh), join(root, '.s3bridge'))
  t.equal(readlinkSync(old), join(root, '.s3bridge'), 'the running request keeps its own')
  release()
  t.notMatch(readlinkSync(old), root, 'let go once the request is done')
  t.equal(readlinkSync(stagingDir(root)), join(root, '.s3bridge'), 'the fresh one stays')
})
