// RFC 2047 encoded-words for metadata values, as S3 treats them (S3 user guide, "Working with object metadata"):
// a value that arrives as encoded-words is decoded before it is stored, and a value that is not plain printable
// US-ASCII is encoded before it is returned. HTTP headers carry bytes: Node reads them as latin-1 characters, one
// per byte, and so does S3 (a UTF-8 "ö" sent raw comes back as the UTF-8 of "Ã¶", minio/minio#21282).
//
// The encoder follows JavaMail's MimeUtility.encodeText, whose output AWS's answers match: Q when most characters
// are ASCII (s3-tests expects "\x04mymeta" back as "=?UTF-8?Q?=04mymeta?="), B otherwise ("ö" → "=?UTF-8?B?w7Y=?="),
// words of at most 75 characters joined by a space, the text split in halves until each part fits.

const PREFIX_Q = '=?UTF-8?Q?'
const PREFIX_B = '=?UTF-8?B?'
/** 75 characters per encoded-word, less "=?", "?Q?", "?=" and the charset name (JavaMail: 68 - charset length). */
const MAX_ENCODED_TEXT = 68 - 'UTF-8'.length

/** Characters a header value can carry as they are: printable US-ASCII and tab. */
function isPlain (code: number): boolean {
  return (code >= 0x20 && code < 0x7f) || code === 0x09
}

/** True when the value can go out in a header unchanged. */
export function isPlainHeaderValue (value: string): boolean {
  for (let i = 0; i < value.length; i++) if (!isPlain(value.charCodeAt(i))) return false
  return true
}

/** Q-encoded length and text of bytes (JavaMail's QEncoderStream for text: only "=", "_" and "?" are special). */
function qEncode (bytes: Buffer): string {
  let out = ''
  for (const b of bytes) {
    if (b === 0x20) out += '_'
    else if (b < 0x20 || b >= 0x7f || b === 0x3d || b === 0x5f || b === 0x3f) out += '=' + b.toString(16).toUpperCase().padStart(2, '0')
    else out += String.fromCharCode(b)
  }
  return out
}

function qLength (bytes: Buffer): number {
  let n = 0
  for (const b of bytes) n += b < 0x20 || b >= 0x7f || b === 0x3d || b === 0x5f || b === 0x3f ? 3 : 1
  return n
}

function encodeParts (text: string, base64: boolean, words: string[]): void {
  const bytes = Buffer.from(text, 'utf8')
  const length = base64 ? Math.ceil(bytes.length / 3) * 4 : qLength(bytes)
  if (length > MAX_ENCODED_TEXT && text.length > 1) {
    let split = text.length >> 1
    const c = text.charCodeAt(split - 1)
    if (c >= 0xd800 && c <= 0xdbff) split-- // never cut a surrogate pair
    if (split > 0) encodeParts(text.slice(0, split), base64, words)
    encodeParts(text.slice(split), base64, words)
    return
  }
  words.push(base64 ? PREFIX_B + bytes.toString('base64') + '?=' : PREFIX_Q + qEncode(bytes) + '?=')
}

/** The value as it may be sent in a header: unchanged when plain, else RFC 2047 encoded-words of its UTF-8. */
export function encodeHeaderValue (value: string): string {
  if (isPlainHeaderValue(value)) return value
  let other = 0
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (!isPlain(c) && c !== 0x0d && c !== 0x0a) other++
  }
  const words: string[] = []
  encodeParts(value, other >= value.length - other, words)
  return words.join(' ')
}

const WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g

function decodeWord (charset: string, encoding: string, text: string): string | undefined {
  const cs = charset.toLowerCase().replace(/\*.*$/, '') // RFC 2231 language suffix
  const decoder = cs === 'utf-8' || cs === 'utf8' ? 'utf8' : cs === 'iso-8859-1' || cs === 'latin1' || cs === 'us-ascii' ? 'latin1' : undefined
  if (decoder === undefined) return undefined
  let bytes: Buffer
  if (encoding === 'b' || encoding === 'B') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined
    bytes = Buffer.from(text, 'base64')
  } else {
    const out: number[] = []
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!
      if (ch === '_') out.push(0x20)
      else if (ch === '=') {
        const hex = text.slice(i + 1, i + 3)
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined
        out.push(parseInt(hex, 16))
        i += 2
      } else out.push(ch.charCodeAt(0))
    }
    bytes = Buffer.from(out)
  }
  return bytes.toString(decoder)
}

/**
 * The value with its RFC 2047 encoded-words decoded (white space between two adjacent words dropped, RFC 2047
 * section 6.2). A word in an unknown charset or with bad encoding is kept as it was sent.
 */
export function decodeHeaderValue (value: string): string {
  if (!value.includes('=?')) return value
  let out = ''
  let last = 0
  let previousWasWord = false
  for (const m of value.matchAll(WORD)) {
    const decoded = decodeWord(m[1]!, m[2]!, m[3]!)
    const between = value.slice(last, m.index)
    if (decoded === undefined) {
      out += between + m[0]
      previousWasWord = false
    } else {
      out += previousWasWord && /^[ \t\r\n]*$/.test(between) ? '' : between
      out += decoded
      previousWasWord = true
    }
    last = m.index + m[0].length
  }
  return out + value.slice(last)
}
