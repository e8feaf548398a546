// Kept from review 18 (stop 24).
// Review 18: f1f8fb4 asks read on the file for an ETag in a write's If-Match, but only at the first check (before
// the body). The second check, just before the rename, compares the same If-Match with whatever is at the key then,
// without asking read again. A writer who may rename in the folder over NFS (as anyone with write on it may) puts
// his own readable file at the key, starts the PUT, swaps the victim's 0600 file in while the body is still coming,
// and gets 412 for a wrong guess, 200 for a right one. If-Match takes a list, so one request tests hundreds of guesses.
import t from 'tap'
import { createHash } from 'node:crypto'
import { chmodSync, chownSync, mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import { openSignedRequest, signedRequest, sleep } from '../fixtures/bridged-process.js'

const md5 = (s: string): string => createHash('md5').update(s).digest('hex')

t.test('If-Match oracle through a rename during the body', async t => {
  const b = await startBridge(t)
  const root = await b.addBucket('rv', 'own', 1301, 1301)
  const ownCreds = await b.addUser('own', 1301, 1301)
  const malCreds = await b.addUser('mal', 1302, 1302)
  await b.daemon.services.state.mutate(s => { s.buckets.rv!.acl.push({ name: 'mal', type: 'user', permission: 'WRITE' }, { name: 'mal', type: 'user', permission: 'READ' }) })
  chmodSync(root, 0o755)
  const sh = join(root, 'sh'); mkdirSync(sh); chownSync(sh, 1301, 1301); chmodSync(sh, 0o777) // a shared drop folder
  const own = b.client(ownCreds)
  const mal = b.client(malCreds)
  await own.send(new PutObjectCommand({ Bucket: 'rv', Key: 'sh/pin', Body: '4711' }))
  chmodSync(join(sh, 'pin'), 0o600)

  // Sanity: the direct way is closed by f1f8fb4.
  const direct = await signedRequest(b.endpoint, malCreds, { method: 'PUT', path: '/rv/sh/pin', headers: { 'if-match': `"${md5('4711')}"` }, body: 'x' })
  t.equal(direct.status, 403, 'a direct If-Match on the unreadable file is refused')

  const attempt = async (ifMatch: string): Promise<number> => {
    writeFileSync(join(sh, 'x'), 'mine'); chownSync(join(sh, 'x'), 1302, 1302); chmodSync(join(sh, 'x'), 0o644) // mal's own file
    // His own file's ETag (he may read it) heads the list, so the first check passes on it.
    const mine = (await mal.send(new HeadObjectCommand({ Bucket: 'rv', Key: 'sh/x' }))).ETag!
    const open = await openSignedRequest(b.endpoint, malCreds, { method: 'PUT', path: '/rv/sh/x', headers: { 'if-match': `${mine}, ${ifMatch}` }, contentLength: 4 })
    open.req.write('ab')
    await sleep(400) // the first check (read on sh/x: mal's file) is done; the body is still coming
    renameSync(join(sh, 'pin'), join(sh, 'x')) // mal, over NFS: write on sh is all a rename needs
    open.req.end('cd')
    const r = await open.response
    if (existsSync(join(sh, 'x')) && !existsSync(join(sh, 'pin'))) renameSync(join(sh, 'x'), join(sh, 'pin')) // put it back
    return r.status
  }
  const wrong = await attempt(`"${md5('1234')}"`)
  const guesses = Array.from({ length: 300 }, (_, i) => `"${md5(String(4600 + i))}"`).join(', ') // 4600..4899
  const many = await attempt(guesses)
  t.comment(`wrong guess -> ${wrong}; a list of 300 guesses containing the PIN -> ${many}`)
  // The ETag is compared only on the file the read check judged (mal's own): the file renamed in meanwhile fails
  // the condition whatever its content, so the answer says nothing about it.
  t.equal(wrong, 412, 'a wrong guess: 412, because the key holds another file than the one checked')
  t.equal(many, 412, 'the right one among 300: the same 412, never 200')
  t.equal(readFileSync(join(sh, 'pin'), 'utf8'), '4711', 'and the PIN file was not replaced')
})
