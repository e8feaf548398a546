// XML rendering: a tiny builder so every handler emits well-formed, escaped S3 XML the same way.

export type XmlValue = string | number | boolean | Date | undefined | null | XmlNode | RawXml | XmlValue[]
export interface XmlNode { [name: string]: XmlValue }

/**
 * Elements rendered already (by a hot path such as a listing's 1,000 <Contents>): emitted as they are, in place
 * of the element(s) the property would name. Whoever builds one escapes its text with escapeXml. A Buffer holds
 * UTF-8, and renderXmlBuffer copies it into the document as it is.
 */
export class RawXml {
  constructor (readonly xml: string | Buffer) {}
}

/** Where rendering goes: text, and (for renderXmlBuffer) the finished parts before it. */
interface Sink { s: string, parts: Buffer[] | undefined }

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'

// C0 controls too: parsers turn a raw CR into LF, and reject the others outright. CR, LF and TAB as AWS
// documents them ("XML related object key constraints"); the others as AWS emits them (&#x1;).
const NEEDS_ESCAPE = /[&<>"'\x00-\x1f]/
const ESCAPES = /[&<>"'\x00-\x1f]/g
const ENTITY: Record<string, string> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;', '\n': '&#10;', '\t': '&#9;',
}
const entity = (c: string): string => ENTITY[c] ?? `&#x${c.charCodeAt(0).toString(16)};`

export function escapeXml (s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPES, entity) : s
}

/**
 * An S3 timestamp: whole seconds (".000Z"), as AWS keeps them and as the HTTP Last-Modified header shows them;
 * `aws s3 sync --exact-timestamps` compares the two and re-downloads on any sub-second difference.
 */
export function s3Timestamp (d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString()
}

function scalar (v: string | number | boolean | Date): string {
  return v instanceof Date ? s3Timestamp(v) : escapeXml(String(v))
}

function renderValue (name: string, value: XmlValue, out: Sink): void {
  if (value === undefined || value === null) return
  if (Array.isArray(value)) {
    for (const v of value) renderValue(name, v, out)
    return
  }
  if (value instanceof RawXml) {
    const xml = value.xml
    if (typeof xml === 'string') {
      out.s += xml
    } else if (out.parts) {
      out.parts.push(Buffer.from(out.s, 'utf8'), xml)
      out.s = ''
    } else {
      out.s += xml.toString('utf8')
    }
    return
  }
  if (typeof value === 'object' && !(value instanceof Date)) {
    out.s += `<${name}>`
    for (const k in value) renderValue(k, value[k], out)
    out.s += `</${name}>`
    return
  }
  out.s += `<${name}>${scalar(value)}</${name}>`
}

/** One element (or, for an array, one per item) as renderXml would write it inside a document. */
export function renderElement (name: string, value: XmlValue): string {
  const out: Sink = { s: '', parts: undefined }
  renderValue(name, value, out)
  return out.s
}

function render (root: string, body: XmlNode, ns: string | null, out: Sink): void {
  out.s += '<?xml version="1.0" encoding="UTF-8"?>\n' + (ns ? `<${root} xmlns="${ns}">` : `<${root}>`)
  for (const k in body) renderValue(k, body[k], out)
  out.s += `</${root}>`
}

/** Renders a document with the S3 namespace on its root element (unless ns is null). */
export function renderXml (root: string, body: XmlNode, ns: string | null = S3_NS): string {
  const out: Sink = { s: '', parts: undefined }
  render(root, body, ns, out)
  return out.s
}

/** renderXml's document as UTF-8 bytes; RawXml buffers go in without passing through a string. */
export function renderXmlBuffer (root: string, body: XmlNode, ns: string | null = S3_NS): Buffer {
  const out: Sink = { s: '', parts: [] }
  render(root, body, ns, out)
  out.parts!.push(Buffer.from(out.s, 'utf8'))
  return Buffer.concat(out.parts!)
}
