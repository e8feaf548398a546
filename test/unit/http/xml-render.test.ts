// The XML builder (lib/http/xml/render.ts): escaping of text, as S3 responses carry keys and messages.
import t from 'tap'
import { escapeXml, renderXml } from '../../../lib/http/xml/render.js'

t.test('markup characters become entities, plain text is returned as it is', async t => {
  t.equal(escapeXml('a/b c.txt'), 'a/b c.txt')
  t.equal(escapeXml('<a href="x">&\'</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;')
})

t.test('CR, LF and TAB become numeric references, so parsers cannot normalise a CR into LF', async t => {
  t.equal(escapeXml('a\rb\nc\td\r\n'), 'a&#13;b&#10;c&#9;d&#13;&#10;')
})

t.test('other C0 control characters become hexadecimal references, as AWS writes them', async t => {
  t.equal(escapeXml('k\x01x\x1f\x00'), 'k&#x1;x&#x1f;&#x0;')
  t.equal(renderXml('R', { Key: 'a\rb\x01' }, null), '<?xml version="1.0" encoding="UTF-8"?>\n<R><Key>a&#13;b&#x1;</Key></R>')
})
