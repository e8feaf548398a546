// The metadata attribute (user.s3bridge.meta) can be set by any NFS user who can write the file. A value of the
// wrong shape used to be trusted: a control character in its ETag broke the XML of every listing page of the
// bucket, CR/LF in a header value or tags that are not a list made GET/HEAD/GetObjectTagging answer 500. Now such
// an attribute counts as absent and the file is served like one written over NFS.
import t from 'tap'
import { statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { startBridge } from '../fixtures/daemon.js'
import * as xattr from '../../lib/storage/xattr.js'
import { META_XATTR } from '../../lib/storage/xattrs.js'

t.test('forged metadata attributes are ignored, never a 500 or an unparsable listing', async t => {
  const b = await startBridge(t)
  const forged: Record<string, Record<string, unknown>> = {
    'etag-control': { etag: 'a'.repeat(31) + '\u0001' },
    'etag-xml': { etag: '</ETag><Key>evil</Key>' },
    'user-crlf': { user: { 'x-evil': 'a\r\nSet-Cookie: x=1' } },
    'user-name': { user: { 'bad name': 'v' } },
    'checksum-crlf': { checksums: { crc32: 'AAAA\r\n' } },
    'tags-not-list': { tags: 'oops' },
    'type-object': { contentType: { toString: 1 } },
    'part-count': { partCount: 'abc' },
  }
  for (const [name, extra] of Object.entries(forged)) {
    const path = join(b.bucketDir, name)
    writeFileSync(path, `content of ${name}`)
    const st = statSync(path, { bigint: true })
    const meta = { etag: 'b'.repeat(32), user: {}, stampSize: st.size.toString(), stampMtimeNs: st.mtimeNs.toString(), ...extra }
    await xattr.setAttribute(path, META_XATTR, JSON.stringify(meta))
  }
  // A bad ETag, stamp, checksum, tag or part list voids the whole attribute; a bad header name or field goes alone.
  const kept = new Set(['user-crlf', 'user-name', 'type-object'])
  const listed = await b.s3.send(new ListObjectsV2Command({ Bucket: 'demo' }))
  t.same(listed.Contents?.map(c => c.Key), Object.keys(forged).sort(), 'the listing parses and holds every file')
  for (const c of listed.Contents ?? []) {
    t.match(c.ETag, kept.has(c.Key!) ? `"${'b'.repeat(32)}"` : /^"[0-9a-f]{32}-1"$/, `${c.Key}: ${kept.has(c.Key!) ? 'the stored ETag' : 'the ETag of a file written over NFS'}`)
  }
  for (const name of Object.keys(forged)) {
    const head = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: name }))
    t.equal(head.$metadata.httpStatusCode, 200, `HEAD ${name}`)
    for (const [k, v] of Object.entries(head.Metadata ?? {})) {
      t.notMatch(k, /[\s]/, `${name}: no header name with spaces`)
      t.notMatch(v, /[\r\n]/, `${name}: no raw CR/LF in a header (sent encoded)`)
    }
    t.notOk(head.ContentType?.includes('object'), `${name}: no [object Object] type`)
    const got = await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: name, ChecksumMode: 'ENABLED' }))
    t.equal(await got.Body?.transformToString(), `content of ${name}`)
    const tags = await b.s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: name }))
    t.same(tags.TagSet, [], `${name}: no tags`)
  }
  t.notOk(b.logLines.some(l => l.includes('"level":50') || l.includes('InternalError')), 'nothing logged as an internal error')
})

t.test('metadata of the shape the bridge writes is still used', async t => {
  const b = await startBridge(t)
  const path = join(b.bucketDir, 'good')
  writeFileSync(path, 'hello')
  const st = statSync(path, { bigint: true })
  const meta = { etag: '5d41402abc4b2a76b9719d911017c592', user: { colour: 'grün' }, contentType: 'text/plain', stampSize: st.size.toString(), stampMtimeNs: st.mtimeNs.toString(), tags: [{ key: 'k', value: 'v' }], checksums: { crc32: 'NhCmhg==' } }
  await xattr.setAttribute(path, META_XATTR, JSON.stringify(meta))
  const head = await b.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'good' }))
  t.equal(head.ETag, '"5d41402abc4b2a76b9719d911017c592"')
  t.equal(head.ContentType, 'text/plain')
  t.same(head.Metadata, { colour: '=?UTF-8?Q?gr=C3=BCn?=' })
  t.same((await b.s3.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'good' }))).TagSet, [{ Key: 'k', Value: 'v' }])
})
