// A bucket's public access block: PutPublicAccessBlock, GetPublicAccessBlock, DeletePublicAccessBlock.
import { PUBLIC_ACCESS_BLOCK_ELEMENTS, storedPublicAccessBlock, type PublicAccessBlock } from '../../access/public-access-block.js'
import { S3Error } from '../../errors/s3-error.js'
import { parseXml, rootElement, texts } from '../xml/parse.js'
import { renderXml } from '../xml/render.js'
import { storedConfigHandlers } from './stored-config.js'

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

function renderPublicAccessBlockXml (config: PublicAccessBlock): string {
  return renderXml('PublicAccessBlockConfiguration', Object.fromEntries(PUBLIC_ACCESS_BLOCK_ELEMENTS.map(([element, field]) => [element, config[field]])))
}

const block = storedConfigHandlers({
  field: 'publicAccessBlock',
  operations: { put: 'PutPublicAccessBlock', get: 'GetPublicAccessBlock', delete: 'DeletePublicAccessBlock' },
  missing: 'NoSuchPublicAccessBlockConfiguration',
  maxBodyBytes: 16 * 1024,
  parse: parsePublicAccessBlockXml,
  stored: storedPublicAccessBlock,
  render: renderPublicAccessBlockXml,
})
export const putPublicAccessBlock = block.put
export const getPublicAccessBlock = block.get
export const deletePublicAccessBlock = block.delete
