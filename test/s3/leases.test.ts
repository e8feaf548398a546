// A file under a write lease (Samba kernel oplocks, knfsd write delegations): the permission walk holds the files
// it only stats with O_PATH, so HEAD, PUT and DELETE neither fail with EWOULDBLOCK nor break the holder's lease
// (review 7: the walk's read-only open made them 500 and broke the lease on every request).
import t from 'tap'
import { spawn } from 'node:child_process'
import { chownSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'

const HOLD_LEASE = `import fcntl, os, signal, sys, time
broken = []
signal.signal(signal.SIGIO, lambda *a: broken.append(1))
os.setgid(2000); os.setuid(2000)
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, 1024, fcntl.F_WRLCK)  # F_SETLEASE
print('leased', flush=True)
sys.stdin.read()
print('broken' if broken else 'kept', flush=True)`

t.test('HEAD, PUT and DELETE work on files under a write lease, and HEAD keeps the lease', async t => {
  const b = await startBridge(t)
  for (const name of ['leased.txt', 'other.txt']) {
    writeFileSync(join(b.bucketDir, name), 'hello')
    chownSync(join(b.bucketDir, name), 2000, 2000)
  }
  const child = spawn('python3', ['-c', HOLD_LEASE, join(b.bucketDir, 'leased.txt')], { stdio: ['pipe', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', d => { out += String(d) })
  await new Promise<void>(resolve => child.stdout.once('data', () => resolve()))
  const head = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'leased.txt' }))
  t.equal(head.ContentLength, 5)
  child.stdin.end()
  await new Promise(resolve => child.once('exit', resolve))
  t.match(out, /kept/, 'the lease holder was not asked to give it up')
  const again = spawn('python3', ['-c', HOLD_LEASE, join(b.bucketDir, 'other.txt')], { stdio: ['pipe', 'pipe', 'inherit'] })
  await new Promise<void>(resolve => again.stdout.once('data', () => resolve()))
  await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'other.txt', Body: 'replaced' }))
  t.equal(readFileSync(join(b.bucketDir, 'other.txt'), 'utf8'), 'replaced')
  await b.s3.send(new DeleteObjectCommand({ Bucket: 'demo', Key: 'other.txt' }))
  again.stdin.end()
  await new Promise(resolve => again.once('exit', resolve))
})
