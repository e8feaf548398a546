// Review 19: a browser POST's acl / x-amz-server-side-encryption / storage-class fields are what the upload does,
// but the s3:PutObject decision reads the s3:x-amz-acl (etc.) condition keys from the POST's HTTP headers, not from
// the form: a bucket-policy Deny keyed on them is bypassed by a form upload, and a "require SSE" policy refuses
// legitimate form uploads that carry the field.
import t from 'tap'
import { PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { startBridge } from '../fixtures/daemon.js'
import { postForm, signedPostFields } from '../fixtures/post-form.js'

t.test('Deny s3:PutObject when s3:x-amz-acl is public-read: a POST with acl=public-read is refused too', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutBucketPolicyCommand({
    Bucket: 'demo',
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::demo/*', Condition: { StringEquals: { 's3:x-amz-acl': 'public-read' } } }],
    }),
  }))
  // Control: the same ACL as a PUT header is refused.
  const put = await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'put.txt', Body: 'x', ACL: 'public-read' })).then(() => 'ok', (e: Error) => e.name)
  t.equal(put, 'AccessDenied', 'PUT with x-amz-acl: public-read is denied by the policy')
  const pairs = signedPostFields(b.creds, {
    fields: [['key', 'post.txt'], ['acl', 'public-read']],
    conditions: [{ bucket: 'demo' }, { key: 'post.txt' }, { acl: 'public-read' }],
  })
  const r = await postForm(`${b.endpoint}/demo`, pairs, { data: 'hello' })
  t.equal(r.status, 403, `POST with acl=public-read must be denied as well (got ${r.status})`)
  t.notOk(existsSync(join(b.bucketDir, 'post.txt')), 'nothing stored')
})

t.test('"require SSE" policy (Deny PutObject if s3:x-amz-server-side-encryption is absent): a POST carrying the field passes', async t => {
  const b = await startBridge(t)
  await b.s3.send(new PutBucketPolicyCommand({
    Bucket: 'demo',
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::demo/*', Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } } }],
    }),
  }))
  const put = await b.s3.send(new PutObjectCommand({ Bucket: 'demo', Key: 'put.txt', Body: 'x', ServerSideEncryption: 'AES256' })).then(() => 'ok', (e: Error) => e.name)
  t.equal(put, 'ok', 'PUT with the SSE header passes')
  const pairs = signedPostFields(b.creds, {
    fields: [['key', 'post.txt'], ['x-amz-server-side-encryption', 'AES256']],
    conditions: [{ bucket: 'demo' }, { key: 'post.txt' }, { 'x-amz-server-side-encryption': 'AES256' }],
  })
  const r = await postForm(`${b.endpoint}/demo`, pairs, { data: 'hello' })
  t.equal(r.status, 204, `POST with the SSE field should pass like the PUT (got ${r.status}: ${r.body.slice(0, 200)})`)
})
