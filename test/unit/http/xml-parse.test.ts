// Request bodies are parsed without stalling the daemon: a large one in slices, the event loop turning between them.
import t from 'tap'
import { parseXml } from '../../../lib/http/xml/parse.js'
import { parseCompleteBody } from '../../../lib/http/handlers/multipart.js'

const completeBody = (parts: number, tail = ''): string => '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
  Array.from({ length: parts }, (_, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>"${'0123456789abcdef'.repeat(2)}"</ETag></Part>`).join('') +
  tail + '</CompleteMultipartUpload>'

/** How many turns of the event loop (setImmediate callbacks) ran while p was pending. */
async function turnsDuring<T> (p: () => Promise<T>): Promise<{ value: T, turns: number }> {
  let turns = 0
  let isDone = false
  const spin = (): void => { if (!isDone) { turns++; setImmediate(spin) } }
  setImmediate(spin)
  try {
    return { value: await p(), turns }
  } finally {
    isDone = true
  }
}

t.test('a 10,000-part Complete body is parsed in slices, other work running between them', async t => {
  const { value, turns } = await turnsDuring(() => parseCompleteBody(completeBody(10_000)))
  t.equal(value.length, 10_000)
  t.same(value[9_999], { partNumber: 10_000, etag: `"${'0123456789abcdef'.repeat(2)}"`, checksums: {} })
  t.ok(turns >= 20, `the event loop turned ${turns} times during the parse`)
})

t.test('a malformed large body is still MalformedXML, wherever the fault lies', async t => {
  const body = completeBody(10_000)
  for (const at of [100, body.length >> 1, body.length - 30]) {
    await t.rejects(parseXml(body.slice(0, at) + '<<&' + body.slice(at)), { code: 'MalformedXML' }, `fault at ${at}`)
  }
  await t.rejects(parseCompleteBody(completeBody(10_000, '<Part><PartNumber>1</PartNumber></Part>')), { code: 'MalformedXML' }, 'a part without its ETag')
})

t.test('small bodies are parsed at once', async t => {
  const { value, turns } = await turnsDuring(() => parseXml('<Delete><Object><Key>a</Key></Object></Delete>'))
  t.same(value, { Delete: { Object: [{ Key: ['a'] }] } })
  t.ok(turns <= 1, 'no slicing')
})
