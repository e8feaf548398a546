// Review 21 #2: DeleteBucket acts on the record it read at its start. The unmap deletes whatever record holds the
// name by then, and remap() (aa8c300) writes that old snapshot back. When the bucket was deleted and the name made
// again by another user meanwhile (here: Alice's DeleteBucket is slow at its first look, on a busy NFS export; on
// another daemon the same happens with a state that has not reloaded yet), Alice's request, authorized as owner of
// HER old bucket, (a) unmaps Bob's new bucket and, when that delete then fails, maps it again as Alice's: Bob's
// bucket now has Alice as owner (policy, ACL and delete rights); (b) when Bob's bucket is empty, deletes it: 204.
import t, { type Test } from 'tap'
import { S3Client, CreateBucketCommand, DeleteBucketCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge } from '../fixtures/daemon.js'
import { interceptFsPromise } from '../fixtures/fs-intercept.js'

/** The first readdir of `dir` waits for the returned release(); `second` runs before the next one. */
function stallFirstLook (t: Test, dir: string, second?: () => void): { release: () => void, stalled: Promise<void> } {
  let release!: () => void
  const gate = new Promise<void>(resolve => { release = resolve })
  let stalledNow!: () => void
  const stalled = new Promise<void>(resolve => { stalledNow = resolve })
  let calls = 0
  let released = false
  interceptFsPromise(t, 'readdir', real => (async (p: string, o?: unknown) => {
    if (String(p) === dir) {
      calls++
      if (calls === 1) { stalledNow(); await gate; released = true; return await real(p, o as never) }
      if (released && second !== undefined) { const s = second; second = undefined; s() }
    }
    return await real(p, o as never)
  }) as typeof real)
  return { release, stalled }
}

async function setup (t: Test) {
  const b = await startBridge(t)
  const bobCreds = await b.addUser('bob', 2100, 2100)
  const alice = new S3Client({ endpoint: b.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: b.creds, maxAttempts: 1 })
  const bob = new S3Client({ endpoint: b.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: bobCreds, maxAttempts: 1 })
  t.teardown(() => { alice.destroy(); bob.destroy() })
  await alice.send(new CreateBucketCommand({ Bucket: 'shared' }))
  const dir = join(b.config.rootPath, 'shared')
  return { b, alice, bob, dir }
}

const answer = (p: Promise<unknown>): Promise<string> => p.then(() => 'deleted', (e: Error) => e.name)

t.test('stale DeleteBucket fails after unmapping the new bucket: remap gives Bob\'s bucket to Alice', async t => {
  const { b, alice, bob, dir } = await setup(t)
  // Bob's object lands between the unmap and the second look (his PUT through a daemon that has not reloaded, or NFS).
  const gate = stallFirstLook(t, dir, () => execFileSync('setpriv', ['--reuid', '2100', '--regid', '2100', '--clear-groups', 'sh', '-c', `echo bob > '${dir}/bobs-file'`]))
  const slow = answer(alice.send(new DeleteBucketCommand({ Bucket: 'shared' })))
  await gate.stalled
  // Alice deletes her bucket (another client, another daemon): it waits for the slow one up to 5 s, then goes.
  t.equal(await answer(alice.send(new DeleteBucketCommand({ Bucket: 'shared' }))), 'deleted')
  await bob.send(new CreateBucketCommand({ Bucket: 'shared' }))
  const bobsRecord = b.daemon.services.state.snapshot().buckets.shared
  t.equal(bobsRecord?.owner, 'bob', 'Bob owns the new bucket')
  gate.release()
  t.comment(`Alice's stale DeleteBucket: ${await slow}`)
  const now = b.daemon.services.state.snapshot().buckets.shared
  t.comment(`record now: owner ${now?.owner}, createdAt ${now?.createdAt} (Bob's was ${bobsRecord?.createdAt}); directory holds Bob's file: ${existsSync(join(dir, 'bobs-file'))}`)
  await new Promise(resolve => setTimeout(resolve, 400))
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::shared/*' }] })
  t.comment(`PutBucketPolicy by Bob: ${await bob.send(new PutBucketPolicyCommand({ Bucket: 'shared', Policy: policy })).then(() => 'ok', (e: Error) => e.name)}`)
  t.equal(now?.owner, 'bob', 'Bob\'s bucket is still Bob\'s')
  t.equal(now?.createdAt, bobsRecord?.createdAt, 'the newer record was not replaced by the stale snapshot')
})

t.test('stale DeleteBucket deletes the new, empty bucket of another user (204)', async t => {
  const { b, alice, bob, dir } = await setup(t)
  const gate = stallFirstLook(t, dir)
  const slow = answer(alice.send(new DeleteBucketCommand({ Bucket: 'shared' })))
  await gate.stalled
  t.equal(await answer(alice.send(new DeleteBucketCommand({ Bucket: 'shared' }))), 'deleted')
  await bob.send(new CreateBucketCommand({ Bucket: 'shared' }))
  gate.release()
  const res = await slow
  t.comment(`Alice's stale DeleteBucket: ${res}; Bob's bucket ${b.daemon.services.state.snapshot().buckets.shared ? 'mapped' : 'unmapped'}, directory ${existsSync(dir) ? 'exists' : 'gone'}`)
  t.not(res, 'deleted', 'a DeleteBucket authorized against Alice\'s old bucket does not delete Bob\'s new one')
})
