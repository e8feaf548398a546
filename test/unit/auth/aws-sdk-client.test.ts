// Real @aws-sdk/client-s3 requests (header, aws-chunked trailer, presigned) pass authenticate() and verifiedBody().
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import t from 'tap'
import { authenticate, verifiedBody } from '../../../lib/auth/authenticate.js'
import { isS3Error } from '../../../lib/errors/s3-error.js'

const credentials = { accessKeyId: 'AKIDSDK', secretAccessKey: 'sdk-secret' }
const lookup = async (key: string): Promise<string[] | undefined> => (key === credentials.accessKeyId ? [credentials.secretAccessKey] : undefined)

interface Seen { contentSha256: string | undefined, body: Buffer, checksums: Record<string, string> }

async function handle(req: IncomingMessage, res: ServerResponse, seen: Seen[]): Promise<void> {
  try {
    const headers = req.headers
    const auth = await authenticate({ method: req.method ?? 'GET', rawUrl: req.url ?? '/', headers }, lookup, { now: new Date(), maxClockSkewMs: 900_000, maxPresignExpirySeconds: 604800 })
    const verified = verifiedBody(req, auth, headers)
    const chunks: Buffer[] = []
    for await (const chunk of verified.body) chunks.push(chunk as Buffer)
    seen.push({ contentSha256: headers['x-amz-content-sha256'] as string | undefined, body: Buffer.concat(chunks), checksums: verified.checksums() })
    res.writeHead(200, { etag: '"x"' }).end()
  } catch (err) {
    const code = isS3Error(err) ? err.code : 'InternalError'
    res.writeHead(isS3Error(err) ? err.status : 500, { 'content-type': 'application/xml' }).end(`<Error><Code>${code}</Code></Error>`)
    req.resume()
  }
}

t.test('the AWS SDK client is accepted for plain, streamed and presigned requests', async t => {
  const seen: Seen[] = []
  const server = createServer((req, res) => { void handle(req, res, seen) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials })
  t.teardown(() => s3.destroy())

  await s3.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'dir/ü key+1%.txt', Body: 'hello world' }))
  t.same(seen.at(-1)?.body, Buffer.from('hello world'))

  const big = Buffer.alloc(200_000, 'z')
  await s3.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'streamed', Body: Readable.from([big.subarray(0, 70_000), big.subarray(70_000)]), ContentLength: big.length }))
  t.same(seen.at(-1)?.body, big)
  t.comment(`streamed upload used x-amz-content-sha256: ${seen.at(-1)?.contentSha256}`)
  t.ok(seen.at(-1)?.checksums.crc32, 'the SDK checksum was computed')

  const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'bkt', Key: 'a b/c~d(e).txt' }), { expiresIn: 300 })
  t.equal((await fetch(url)).status, 200)
  t.equal((await fetch(url.replace('X-Amz-Signature=', 'X-Amz-Signature=0'))).status, 403)

  const wrong = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...credentials, secretAccessKey: 'nope' }, maxAttempts: 1 })
  t.teardown(() => wrong.destroy())
  await t.rejects(wrong.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'k', Body: 'x' })), { name: 'SignatureDoesNotMatch' })
})
