// XML rendering: a tiny builder so every handler emits well-formed, escaped S3 XML the same way.

export type XmlValue = string | number | boolean | Date | undefined | null | XmlNode | XmlValue[]
export interface XmlNode { [name: string]: XmlValue }

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'

export function escapeXml (s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }[c] as string))
}

function scalar (v: string | number | boolean | Date): string {
  return v instanceof Date ? v.toISOString() : escapeXml(String(v))
}

function renderValue (name: string, value: XmlValue, out: string[]): void {
  if (value === undefined || value === null) return
  if (Array.isArray(value)) {
    for (const v of value) renderValue(name, v, out)
    return
  }
  if (typeof value === 'object' && !(value instanceof Date)) {
    out.push(`<${name}>`)
    for (const [k, v] of Object.entries(value)) renderValue(k, v, out)
    out.push(`</${name}>`)
    return
  }
  out.push(`<${name}>${scalar(value)}</${name}>`)
}

/** Renders a document with the S3 namespace on its root element (unless ns is null). */
export function renderXml (root: string, body: XmlNode, ns: string | null = S3_NS): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n', ns ? `<${root} xmlns="${ns}">` : `<${root}>`]
  for (const [k, v] of Object.entries(body)) renderValue(k, v, out)
  out.push(`</${root}>`)
  return out.join('')
}
