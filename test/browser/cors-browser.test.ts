// A real browser (Debian's chromium via playwright-core) uploads cross-origin with a presigned PUT and a POST form, and reads back.
import t from 'tap'
import { accessSync, constants } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { DeleteBucketCorsCommand, GetObjectCommand, PutBucketCorsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import type { Browser, Page } from 'playwright-core'
import type { Test } from 'tap'
import { startBridge, type Bridge } from '../fixtures/daemon.js'
import { signedPostFields, type FormPairs } from '../fixtures/post-form.js'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

function chromiumMissing (): string | false {
  try { accessSync(CHROMIUM, constants.X_OK); return false } catch { return `${CHROMIUM} is not installed (apt-get install chromium)` }
}

interface Attempt { status?: number, etag?: string | null, text?: string, error?: string }
interface Outcome { put: Attempt, post: Attempt, get: Attempt }
interface Urls { putUrl: string, getUrl: string, postUrl: string, fields: FormPairs }

/** The page's script: each step reports its status and readable headers, or the browser's CORS refusal. */
async function uploadFromPage (page: Page, urls: Urls): Promise<Outcome> {
  return page.evaluate(async ({ putUrl, getUrl, postUrl, fields }) => {
    const attempt = async (f: () => Promise<Response>): Promise<Attempt> => {
      try {
        const r = await f()
        return { status: r.status, etag: r.headers.get('etag'), text: await r.text() }
      } catch (err) {
        return { error: String(err) }
      }
    }
    const put = await attempt(() => fetch(putUrl, { method: 'PUT', body: 'put from the page', headers: { 'content-type': 'text/plain' }, cache: 'no-store' }))
    const form = new FormData()
    for (const [k, v] of fields) form.append(k, v)
    form.append('file', new Blob(['posted from the page'], { type: 'text/plain' }), 'posted.txt')
    const post = await attempt(() => fetch(postUrl, { method: 'POST', body: form, cache: 'no-store' }))
    const get = await attempt(() => fetch(getUrl, { cache: 'no-store' }))
    return { put, post, get }
  }, urls)
}

async function servePage (t: Test): Promise<string> {
  const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>uploader</title><p>uploader</p>') })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function urlsFor (b: Bridge, s3: S3Client, endpoint: string): Promise<Urls> {
  const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'demo', Key: 'put.txt', ContentType: 'text/plain' }), { expiresIn: 600 })
  const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'demo', Key: 'posted.txt' }), { expiresIn: 600 })
  const fields = signedPostFields(b.creds, { fields: [['key', '${filename}']], conditions: [{ bucket: 'demo' }, ['starts-with', '$key', '']] })
  return { putUrl, getUrl, postUrl: `${endpoint}/demo`, fields }
}

t.test('a page on another origin uploads with presigned PUT and POST, reads back, and is refused without a rule', { skip: chromiumMissing() }, async t => {
  const b = await startBridge(t)
  const pageOrigin = await servePage(t)
  // Same daemon, another host string: the page (127.0.0.1) and the bucket (localhost) are different origins.
  const endpoint = b.endpoint.replace('127.0.0.1', 'localhost')
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: b.creds })
  t.teardown(() => s3.destroy())
  const { chromium } = await import('playwright-core')
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  await page.goto(pageOrigin)
  const rule = { AllowedMethods: ['GET', 'PUT', 'POST'], AllowedHeaders: ['*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 0 }

  await b.s3.send(new PutBucketCorsCommand({ Bucket: 'demo', CORSConfiguration: { CORSRules: [{ ...rule, AllowedOrigins: [pageOrigin] }] } }))
  const allowed = await uploadFromPage(page, await urlsFor(b, s3, endpoint))
  t.equal(allowed.put.status, 200, JSON.stringify(allowed.put))
  t.match(allowed.put.etag, /^"[0-9a-f]{32}"$/, 'the page reads the exposed ETag of its PUT')
  t.equal(allowed.post.status, 204, JSON.stringify(allowed.post))
  t.match(allowed.post.etag, /^"[0-9a-f]{32}"$/, 'and of its POST')
  t.equal(allowed.get.status, 200)
  t.equal(allowed.get.text, 'posted from the page', 'the page reads the object back')
  t.equal(allowed.get.etag, allowed.post.etag)

  await b.s3.send(new DeleteBucketCorsCommand({ Bucket: 'demo' }))
  const removed = await uploadFromPage(page, await urlsFor(b, s3, endpoint))
  t.match(removed, { put: { error: /Failed to fetch/ }, post: { error: /Failed to fetch/ }, get: { error: /Failed to fetch/ } }, 'without a rule the browser refuses every step')

  await b.s3.send(new PutBucketCorsCommand({ Bucket: 'demo', CORSConfiguration: { CORSRules: [{ ...rule, AllowedOrigins: ['http://127.0.0.1:1'] }] } }))
  const elsewhere = await uploadFromPage(page, await urlsFor(b, s3, endpoint))
  t.match(elsewhere, { put: { error: /Failed to fetch/ }, post: { error: /Failed to fetch/ }, get: { error: /Failed to fetch/ } }, 'a rule for another origin admits nothing')
})
