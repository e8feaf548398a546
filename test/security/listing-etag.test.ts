// A listing shows a file's content digests (the MD5 ETag, checksums) only to who may read the file (sweep 24b F1).
// Over NFS the digest lives in a user.* attribute that the kernel gives only to readers; before this, any lister
// (anonymous too, on a public-read bucket) got the MD5 of a 0600 file, and a 4-digit PIN's MD5 is the PIN.
import t from 'tap'
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync } from 'node:fs'
import { join } from 'node:path'
import { ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { anonymousClient, startBridge } from '../fixtures/daemon.js'

const md5 = (s: string): string => createHash('md5').update(s).digest('hex')

type Listed = Record<string, { etag: string, checksum: string | undefined }>
async function listed (c: S3Client): Promise<Listed> {
  const r = await c.send(new ListObjectsV2Command({ Bucket: 'demo', Prefix: 'f/' }))
  return Object.fromEntries((r.Contents ?? []).map(o => [o.Key!, { etag: o.ETag!.replace(/"/g, ''), checksum: o.ChecksumAlgorithm?.join(',') }]))
}

for (const native of [true, false]) {
  t.test(`listings give a file's MD5 and checksums only to who may read it (${native ? 'addon' : 'no addon'})`, async t => {
    const saved = process.env.S3BRIDGE_NO_NATIVE_STAT
    if (!native) process.env.S3BRIDGE_NO_NATIVE_STAT = '1'
    t.teardown(() => { if (saved === undefined) delete process.env.S3BRIDGE_NO_NATIVE_STAT; else process.env.S3BRIDGE_NO_NATIVE_STAT = saved })
    const b = await startBridge(t)
    await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'everyone', type: 'wellknown', permission: 'READ' }) })
    const owner = b.s3 // uid 2000, the bucket's owner
    const bob = b.client(await b.addUser('bob', 2201, 2201))
    const carol = b.client(await b.addUser('carol', 2202, 2299))
    const anon = anonymousClient(b.endpoint, t)
    const put = async (key: string, body: string, mode: number, acl?: string): Promise<void> => {
      await owner.send(new PutObjectCommand({ Bucket: 'demo', Key: key, Body: body, ChecksumAlgorithm: 'CRC32' }))
      const path = join(b.bucketDir, key)
      chownSync(path, 2000, 2299)
      chmodSync(path, mode)
      if (acl !== undefined) execFileSync('setfacl', ['-m', acl, path])
    }
    await put('f/pin', '4711', 0o600)
    await put('f/open', 'hello', 0o644)
    await put('f/group', 'team', 0o640) // carol is in group 2299
    await put('f/bob-only', 'for bob', 0o600, 'u:2201:r') // ACL entry with mask r: bob reads, the rest not
    await put('f/not-bob', 'no bob', 0o644, 'u:2201:-') // other may read, bob's named entry says no

    const mine = await listed(owner)
    t.equal(mine['f/pin']!.etag, md5('4711'), 'the owner sees the MD5')
    t.equal(mine['f/pin']!.checksum, 'CRC32', 'and the checksum')

    const asBob = await listed(bob)
    t.same(Object.keys(asBob).sort(), ['f/bob-only', 'f/group', 'f/not-bob', 'f/open', 'f/pin'], 'names are listed to all who may list the folder')
    t.not(asBob['f/pin']!.etag, md5('4711'), 'bob does not get the MD5 of a 0600 file')
    t.match(asBob['f/pin']!.etag, /^[0-9a-f]{32}-1$/, 'he gets the ETag a file written over NFS has')
    t.equal(asBob['f/pin']!.checksum, undefined, 'nor its checksum')
    t.equal(asBob['f/open']!.etag, md5('hello'), 'a file he may read keeps its MD5')
    t.equal(asBob['f/bob-only']!.etag, md5('for bob'), 'a named ACL entry lets him read, so he sees it')
    t.not(asBob['f/not-bob']!.etag, md5('no bob'), 'a named ACL entry that refuses him hides it, other bits notwithstanding')
    t.not(asBob['f/group']!.etag, md5('team'), 'not in the group')

    const asCarol = await listed(carol)
    t.equal(asCarol['f/group']!.etag, md5('team'), 'the file\'s group reads it')
    t.equal(asCarol['f/not-bob']!.etag, md5('no bob'), 'the entry naming bob does not touch carol')
    t.not(asCarol['f/bob-only']!.etag, md5('for bob'))

    const asAnon = await listed(anon)
    t.not(asAnon['f/pin']!.etag, md5('4711'), 'nor does anonymous, on a bucket everyone may list')
    t.equal(asAnon['f/open']!.etag, md5('hello'))
    const v1 = await anon.send(new ListObjectsCommand({ Bucket: 'demo', Prefix: 'f/' }))
    t.not(v1.Contents?.find(o => o.Key === 'f/pin')?.ETag?.replace(/"/g, ''), md5('4711'), 'ListObjects (v1) as well')

    // Paged (one key per page, so later pages come from the read-ahead): the same answer per viewer.
    const paged: Listed = {}
    let token: string | undefined
    do {
      const r = await bob.send(new ListObjectsV2Command({ Bucket: 'demo', Prefix: 'f/', MaxKeys: 1, ContinuationToken: token }))
      for (const o of r.Contents ?? []) paged[o.Key!] = { etag: o.ETag!.replace(/"/g, ''), checksum: o.ChecksumAlgorithm?.join(',') }
      token = r.NextContinuationToken
    } while (token !== undefined)
    t.same(paged, asBob, 'paging shows bob what one page does')
  })
}
