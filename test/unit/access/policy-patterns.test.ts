// Policy wildcards match by Unicode code point, and a pattern without a variable is compiled once and shared.
import t from 'tap'
import { compilePattern, matchPattern } from '../../../lib/access/policy-patterns.js'

t.test('? is one code point, astral characters included; * spans any run', async t => {
  const one = compilePattern('photos/?.jpg')!
  t.ok(matchPattern(one, 'photos/a.jpg'))
  t.ok(matchPattern(one, 'photos/😀.jpg'), 'an emoji (two UTF-16 units) is one character')
  t.notOk(matchPattern(one, 'photos/😀😀.jpg'))
  t.notOk(matchPattern(one, 'photos/ab.jpg'))
  const star = compilePattern('arn:aws:s3:::b/😀*')!
  t.ok(matchPattern(star, 'arn:aws:s3:::b/😀/x/y'))
  t.notOk(matchPattern(star, 'arn:aws:s3:::b/x'))
  t.ok(matchPattern(compilePattern('S3:GET*')!, 's3:getobject', { ignoreCase: true }))
})

t.test('a pattern without a variable is compiled once and cannot be changed by a caller', async t => {
  const a = compilePattern('s3:Get*')!
  t.equal(compilePattern('s3:Get*'), a, 'the same compiled pattern')
  t.ok(Object.isFrozen(a) && Object.isFrozen(a.tokens))
  const withVariable = (user: string) => compilePattern('arn:aws:s3:::home/${aws:username}/*', name => name === 'aws:username' ? user : undefined)!
  t.ok(matchPattern(withVariable('alice'), 'arn:aws:s3:::home/alice/x'))
  t.notOk(matchPattern(withVariable('bob'), 'arn:aws:s3:::home/alice/x'), 'a variable is resolved for each request')
})
