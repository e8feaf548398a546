// S3 key order is UTF-8 byte order; JS string order differs only for characters past U+D7FF.

const SURROGATE_OR_ABOVE = /[\uD800-\uFFFF]/

export function compareKeys (a: string, b: string): number {
  if (!SURROGATE_OR_ABOVE.test(a) && !SURROGATE_OR_ABOVE.test(b)) return a < b ? -1 : a > b ? 1 : 0
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}
