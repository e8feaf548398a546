// A bucket's public access block: PutPublicAccessBlock, GetPublicAccessBlock, DeletePublicAccessBlock.
import { PUBLIC_ACCESS_BLOCK_ELEMENTS, storedPublicAccessBlock, type PublicAccessBlock } from '../../access/public-access-block.js'
import { S3Error } from '../../errors/s3-error.js'
import { requireAccess } from '../authorize.js'
import { bucketRecord, updateBucket } from '../bucket-access.js'
import { requireIntegrityHeader } from '../s3-headers.js'
import type { S3Reply, S3Request, Services } from '../types.js'
import { parseXml, rootElement, texts } from '../xml/parse.js'
import { renderXml } from '../xml/render.js'

const MAX_BODY_BYTES = 16 * 1024

/** The body as AWS's schema has it: only the four elements, each at most once, each an xs:boolean. */
export async function parsePublicAccessBlockXml (text: string): Promise<PublicAccessBlock> {
  const doc = await parseXml(text)
  if (Object.keys(doc).length !== 1) throw new S3Error('MalformedXML')
  const root = rootElement(doc, 'PublicAccessBlockConfiguration')
  const known = new Set(PUBLIC_ACCESS_BLOCK_ELEMENTS.map(([element]) => element))
  for (const name of Object.keys(root as object)) if (name !== '$' && !known.has(name)) throw new S3Error('MalformedXML')
  const out: Record<string, boolean> = {}
  for (const [element, field] of PUBLIC_ACCESS_BLOCK_ELEMENTS) {
    const values = texts(root, element)
    if (values.length > 1) throw new S3Error('MalformedXML')
    const value = values[0]?.trim()
    if (value !== undefined && !['true', 'false', '1', '0'].includes(value)) throw new S3Error('MalformedXML')
    out[field] = value === 'true' || value === '1'
  }
  return out as unknown as PublicAccessBlock
}

export async function putPublicAccessBlock (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'PutPublicAccessBlock', bucket: record })
  // The SDKs mark it checksum-required, as PutBucketCors; and a SigV2 signature, which need not cover
  // ?publicAccessBlock, then cannot be one made for CreateBucket (its Content-MD5 would differ).
  requireIntegrityHeader(req.headers)
  const config = await parsePublicAccessBlockXml(await req.readText(MAX_BODY_BYTES))
  await updateBucket(s, record.name, bucket => { bucket.publicAccessBlock = { ...config } })
  return { status: 200 }
}

export async function getPublicAccessBlock (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'GetPublicAccessBlock', bucket: record })
  const config = storedPublicAccessBlock(record.publicAccessBlock)
  if (config === undefined) throw new S3Error('NoSuchPublicAccessBlockConfiguration', { BucketName: record.name })
  return { xml: renderXml('PublicAccessBlockConfiguration', Object.fromEntries(PUBLIC_ACCESS_BLOCK_ELEMENTS.map(([element, field]) => [element, config[field]]))) }
}

export async function deletePublicAccessBlock (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'DeletePublicAccessBlock', bucket: record })
  await updateBucket(s, record.name, bucket => { delete bucket.publicAccessBlock })
  return { status: 204 }
}
