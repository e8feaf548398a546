// An upload is the business of principals who could create its key: the calls after CreateMultipartUpload ask
// the same of the filesystem, and ListMultipartUploads does not show keys in folders the caller cannot read
// (security sweep 10: bob listed, read, fed and aborted an upload into alice's 0700 folder).
import t, { type Test } from 'tap'
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand,
  ListPartsCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3'
import { startBridge, type Bridge } from '../fixtures/daemon.js'

/** A bridge whose bucket folder anyone may write, and alice and bob, both with FULL_CONTROL on the bucket. */
async function aliceAndBob (t: Test): Promise<{ b: Bridge, alice: S3Client, bob: S3Client }> {
  const b = await startBridge(t)
  chmodSync(b.bucketDir, 0o777)
  const alice = b.client(await b.addUser('alice', 1001, 1001))
  const bob = b.client(await b.addUser('bob', 1002, 1002))
  await b.daemon.services.state.mutate(s => {
    for (const name of ['alice', 'bob']) s.buckets.demo!.acl.push({ name, type: 'user', permission: 'FULL_CONTROL' })
  })
  return { b, alice, bob }
}

t.test('another principal cannot list, read, feed or abort an upload into a folder it cannot write', async t => {
  const { b, alice, bob } = await aliceAndBob(t)
  const priv = join(b.bucketDir, 'apriv')
  mkdirSync(priv)
  chownSync(priv, 1001, 1001)
  chmodSync(priv, 0o700)
  const Key = 'apriv/salary.xlsx'
  const { UploadId } = await alice.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key }))
  const p1 = await alice.send(new UploadPartCommand({ Bucket: 'demo', Key, UploadId, PartNumber: 1, Body: 'alice' }))
  const keysFor = async (c: typeof bob): Promise<string[]> => ((await c.send(new ListMultipartUploadsCommand({ Bucket: 'demo' }))).Uploads ?? []).map(u => u.Key ?? '')
  t.same(await keysFor(alice), [Key], 'the initiator sees her upload')
  t.same(await keysFor(bob), [], 'bob does not learn the name')
  await t.rejects(bob.send(new ListPartsCommand({ Bucket: 'demo', Key, UploadId })), { name: 'AccessDenied' })
  await t.rejects(bob.send(new UploadPartCommand({ Bucket: 'demo', Key, UploadId, PartNumber: 2, Body: 'bob' })), { name: 'AccessDenied' })
  await t.rejects(bob.send(new AbortMultipartUploadCommand({ Bucket: 'demo', Key, UploadId })), { name: 'AccessDenied' })
  const parts = await alice.send(new ListPartsCommand({ Bucket: 'demo', Key, UploadId }))
  t.same(parts.Parts?.map(p => p.PartNumber), [1], 'no part of bob\'s got in')
  await alice.send(new CompleteMultipartUploadCommand({ Bucket: 'demo', Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] } }))
  t.equal(readFileSync(join(priv, 'salary.xlsx'), 'utf8'), 'alice')
  // In a folder bob may read, he sees alice's upload as he would see the file.
  const { UploadId: open } = await alice.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key: 'shared.bin' }))
  t.same(await keysFor(bob), ['shared.bin'])
  await alice.send(new AbortMultipartUploadCommand({ Bucket: 'demo', Key: 'shared.bin', UploadId: open }))
})

t.test('when a file now stands where a folder of the key was, the initiator may still list and abort the upload; no one else (sweep 24c F3)', async t => {
  const { b, alice, bob } = await aliceAndBob(t)
  const Key = 'proj/big.bin'
  const { UploadId } = await alice.send(new CreateMultipartUploadCommand({ Bucket: 'demo', Key }))
  await alice.send(new UploadPartCommand({ Bucket: 'demo', Key, UploadId, PartNumber: 1, Body: 'part' }))
  // An NFS user replaces the folder the key needs with a file.
  rmSync(join(b.bucketDir, 'proj'), { recursive: true, force: true })
  writeFileSync(join(b.bucketDir, 'proj'), 'a file now')
  await t.rejects(bob.send(new ListPartsCommand({ Bucket: 'demo', Key, UploadId })), { name: 'InvalidRequest' }, 'bob: the key is in conflict, as before')
  await t.rejects(bob.send(new AbortMultipartUploadCommand({ Bucket: 'demo', Key, UploadId })), { name: 'InvalidRequest' })
  const parts = await alice.send(new ListPartsCommand({ Bucket: 'demo', Key, UploadId }))
  t.same(parts.Parts?.map(p => p.PartNumber), [1], 'alice lists her parts')
  t.equal((await alice.send(new AbortMultipartUploadCommand({ Bucket: 'demo', Key, UploadId }))).$metadata.httpStatusCode, 204, 'and aborts the upload')
  await t.rejects(alice.send(new ListPartsCommand({ Bucket: 'demo', Key, UploadId })), { name: 'NoSuchUpload' }, 'its parts are gone')
  t.equal(readFileSync(join(b.bucketDir, 'proj'), 'utf8'), 'a file now', 'the NFS user\'s file is untouched')
})
