// XML parsing of request bodies into plain objects; anything malformed is MalformedXML.
import { Parser } from 'xml2js'
import { S3Error } from '../../errors/s3-error.js'

/**
 * Bodies longer than this are parsed in slices of this many characters, the event loop turning between them: a
 * Complete of 10,000 parts (1.6 MB) or a DeleteObjects of 1,000 long keys takes 150-250 ms of parsing, which in one
 * piece would stall every other request of the daemon for that long (slices: ~10 ms each).
 */
const PARSE_SLICE_CHARS = 16_384

/** Parses XML into xml2js's shape (arrays for every child, explicitRoot false); namespaces dropped. */
export async function parseXml (text: string): Promise<Record<string, unknown>> {
  if (text.trim() === '') throw new S3Error('MalformedXML')
  const isLarge = text.length > 4 * PARSE_SLICE_CHARS
  const parser = new Parser({
    explicitRoot: true, tagNameProcessors: [(n: string) => n.replace(/^.*:/, '')], explicitArray: true, strict: true,
    async: isLarge, chunkSize: PARSE_SLICE_CHARS,
  })
  try {
    const doc = await parser.parseStringPromise(text) as Record<string, unknown>
    return doc
  } catch {
    throw new S3Error('MalformedXML')
  }
}

/** The document's root element when it has the expected name (namespace prefixes ignored); MalformedXML otherwise. */
export function rootElement (doc: Record<string, unknown>, name: string): unknown {
  const root = doc[name]
  if (typeof root === 'string') return {} // an empty element: <Delete/>
  if (typeof root !== 'object' || root === null) throw new S3Error('MalformedXML')
  return root
}

/** Child element texts of an xml2js node. */
export function texts (node: unknown, name: string): string[] {
  if (typeof node !== 'object' || node === null) return []
  const v = (node as Record<string, unknown>)[name]
  if (!Array.isArray(v)) return []
  return v.map(x => typeof x === 'string' ? x : (typeof x === 'object' && x !== null && '_' in x) ? String((x as { _: unknown })._) : '')
}

export function children (node: unknown, name: string): unknown[] {
  if (typeof node !== 'object' || node === null) return []
  const v = (node as Record<string, unknown>)[name]
  return Array.isArray(v) ? v : []
}
