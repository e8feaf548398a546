// RFC 2047 encoded-words for metadata values (lib/http/mime-words.ts), against answers recorded from AWS and s3-tests.
import t from 'tap'
import { decodeHeaderValue, encodeHeaderValue } from '../../../lib/http/mime-words.js'

t.test('plain printable ASCII (and tab) goes out unchanged', async t => {
  for (const v of ['', 'blue', 'a b\tc', '=?not a word', '~!@#$%^&*()_+{}|:"<>?']) t.equal(encodeHeaderValue(v), v)
})

t.test('values that are not plain are encoded as S3 encodes them', async t => {
  // s3-tests test_object_set_get_non_utf8_metadata: a control character in a mostly ASCII value, Q-encoded
  t.equal(encodeHeaderValue('\x04mymeta'), '=?UTF-8?Q?=04mymeta?=')
  // raw UTF-8 "ö" arrives as the latin-1 characters "Ã¶"; AWS answers their UTF-8, B-encoded (minio/minio#21282)
  t.equal(encodeHeaderValue(Buffer.from('ö', 'utf8').toString('latin1')), '=?UTF-8?B?w4PCtg==?=')
  t.equal(encodeHeaderValue('ö'), '=?UTF-8?B?w7Y=?=')
  // mostly ASCII: Q, with space as "_" and "=", "_", "?" escaped, other punctuation kept
  t.equal(encodeHeaderValue('Hello World\u00e9'), '=?UTF-8?Q?Hello_World=C3=A9?=')
  t.equal(encodeHeaderValue('a=b_c?d: e!\u00e9'), '=?UTF-8?Q?a=3Db=5Fc=3Fd:_e!=C3=A9?=')
})

t.test('long values are split into words of at most 75 characters that decode back to the value', async t => {
  const samples = [
    'Workout Completed: Congratulations!  You just completed the \u201cFinding Vocal Freedom Workout\u201d. Make sure you drink some water.',
    '\u65e5\u672c\u8a9e\u306e\u30e1\u30bf\u30c7\u30fc\u30bf'.repeat(12),
    '\ud83d\udcc8 emoji and surrogate pairs \ud83d\udc4d\ud83c\udffe'.repeat(6),
  ]
  for (const v of samples) {
    const encoded = encodeHeaderValue(v)
    const words = encoded.split(' ')
    t.ok(words.length > 1, 'split into several words')
    for (const w of words) {
      t.ok(w.length <= 75, `word of ${w.length} characters`)
      t.match(w, /^=\?UTF-8\?[QB]\?[^? ]*\?=$/)
    }
    t.equal(decodeHeaderValue(encoded), v, 'round trip')
    t.notMatch(encoded, /[^\x20-\x7e]/, 'only printable ASCII on the wire')
  }
})

t.test('encoded-words are decoded before storing', async t => {
  t.equal(decodeHeaderValue('=?UTF-8?B?w7Y=?='), 'ö')
  t.equal(decodeHeaderValue('=?utf-8?q?Hello_World=C3=A9?='), 'Hello World\u00e9')
  t.equal(decodeHeaderValue('=?ISO-8859-1?Q?caf=E9?='), 'caf\u00e9')
  t.equal(decodeHeaderValue('=?UTF-8?Q?a?= =?UTF-8?Q?b?='), 'ab', 'white space between adjacent words is dropped')
  t.equal(decodeHeaderValue('x =?UTF-8?Q?a?= y'), 'x a y', 'text around a word is kept')
  t.equal(decodeHeaderValue('=?KOI8-R?Q?abc?='), '=?KOI8-R?Q?abc?=', 'an unknown charset is kept as sent')
  t.equal(decodeHeaderValue('=?UTF-8?B?not*base64?='), '=?UTF-8?B?not*base64?=', 'bad base64 is kept as sent')
  t.equal(decodeHeaderValue('=?UTF-8?Q?bad=ZZ?='), '=?UTF-8?Q?bad=ZZ?=', 'a bad escape is kept as sent')
  t.equal(decodeHeaderValue('plain'), 'plain')
})
