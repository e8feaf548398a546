// XML rendering: a tiny builder so every handler emits well-formed, escaped S3 XML the same way.

export type XmlValue = string | number | boolean | Date | undefined | null | XmlNode | RawXml | XmlValue[]
export interface XmlNode { [name: string]: XmlValue }

/**
 * Elements rendered already (by a hot path such as a listing's 1,000 <Contents>): emitted as they are, in place
 * of the element(s) the property would name. Whoever builds one escapes its text with escapeXml.
 */
export class RawXml {
  constructor (readonly xml: string) {}
}

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'

const NEEDS_ESCAPE = /[&<>"']/
const ESCAPES = /[&<>"']/g
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }
const entity = (c: string): string => ENTITY[c]!

export function escapeXml (s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPES, entity) : s
}

function scalar (v: string | number | boolean | Date): string {
  return v instanceof Date ? v.toISOString() : escapeXml(String(v))
}

function renderValue (name: string, value: XmlValue): string {
  if (value === undefined || value === null) return ''
  if (Array.isArray(value)) {
    let out = ''
    for (const v of value) out += renderValue(name, v)
    return out
  }
  if (value instanceof RawXml) return value.xml
  if (typeof value === 'object' && !(value instanceof Date)) {
    let out = `<${name}>`
    for (const k in value) out += renderValue(k, value[k])
    return out + `</${name}>`
  }
  return `<${name}>${scalar(value)}</${name}>`
}

/** One element (or, for an array, one per item) as renderXml would write it inside a document. */
export function renderElement (name: string, value: XmlValue): string {
  return renderValue(name, value)
}

/** Renders a document with the S3 namespace on its root element (unless ns is null). */
export function renderXml (root: string, body: XmlNode, ns: string | null = S3_NS): string {
  let out = '<?xml version="1.0" encoding="UTF-8"?>\n' + (ns ? `<${root} xmlns="${ns}">` : `<${root}>`)
  for (const k in body) out += renderValue(k, body[k])
  return out + `</${root}>`
}
