// Parsing policy documents: the typed result, and MalformedPolicy with AWS's messages for bad documents.
import t from 'tap'
import { MAX_BUCKET_POLICY_BYTES, MAX_IDENTITY_POLICY_BYTES, parsePolicy, type ParsePolicyOptions } from '../../../lib/access/policy-document.js'
import { S3Error } from '../../../lib/errors/s3-error.js'
import { BUILTIN_POLICIES, BUILTIN_POLICY_TEXT, BUILTIN_POLICY_NAMES, isBuiltinPolicyName } from '../../../lib/access/builtin-policies.js'

const BUCKET_OPTIONS: ParsePolicyOptions = { kind: 'bucket', bucketName: 'examplebucket', maxBytes: MAX_BUCKET_POLICY_BYTES }
const IDENTITY_OPTIONS: ParsePolicyOptions = { kind: 'identity', maxBytes: MAX_IDENTITY_POLICY_BYTES }
const OBJECTS = 'arn:aws:s3:::examplebucket/*'
const BUCKET = 'arn:aws:s3:::examplebucket'

type Json = Record<string, unknown>
const bucketStatement = (extra: Json = {}): Json => ({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: OBJECTS, ...extra })
const identityStatement = (extra: Json = {}): Json => ({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', ...extra })
const doc = (...statements: Json[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements })
const withCondition = (condition: unknown): string => doc(bucketStatement({ Condition: condition }))

interface BadCase { name: string; text: string; options?: ParsePolicyOptions; message: string | RegExp }
const bad = (name: string, text: string, message: string | RegExp, options?: ParsePolicyOptions): BadCase =>
  options === undefined ? { name, text, message } : { name, text, message, options }

const badCases: BadCase[] = [
  bad('text that is not JSON', 'Version: 2012', 'Policies must be valid JSON and the first byte must be \'{\''),
  bad('a JSON array', '[{"Statement": []}]', 'Policies must be valid JSON and the first byte must be \'{\''),
  bad('an empty body', '', 'Policies must be valid JSON and the first byte must be \'{\''),
  bad('truncated JSON', '{"Version": "2012-10-17", "Statement": [', 'This policy contains invalid Json'),
  bad('no Statement', JSON.stringify({ Version: '2012-10-17' }), 'Missing required field Statement'),
  bad('an empty Statement list', JSON.stringify({ Version: '2012-10-17', Statement: [] }), 'Could not parse the policy: Statement is empty!'),
  bad('an unknown Version', JSON.stringify({ Version: '2020-01-01', Statement: [bucketStatement()] }), 'The policy must contain a valid version string'),
  bad('a numeric Version', JSON.stringify({ Version: 2012, Statement: [bucketStatement()] }), 'The policy must contain a valid version string'),
  bad('an unknown top-level field', JSON.stringify({ Version: '2012-10-17', Statment: [], Statement: [bucketStatement()] }), 'Unknown field Statment'),
  bad('a non-string Id', JSON.stringify({ Id: 5, Statement: [bucketStatement()] }), 'Invalid policy syntax.'),
  bad('a statement that is not an object', JSON.stringify({ Statement: ['Allow everything'] }), 'Invalid policy syntax.'),
  bad('an unknown statement field', doc(bucketStatement({ Actions: 's3:GetObject' })), 'Unknown field Actions'),
  bad('a non-string Sid', doc(bucketStatement({ Sid: 1 })), 'Invalid policy syntax.'),
  bad('duplicate Sids', doc(bucketStatement({ Sid: 'a' }), bucketStatement({ Sid: 'a' })), 'Statement IDs (SID) in a single policy must be unique.'),
  bad('no Effect', doc({ Principal: '*', Action: 's3:GetObject', Resource: OBJECTS }), 'Missing required field Effect'),
  bad('a misspelled Effect', doc(bucketStatement({ Effect: 'Allows' })), 'Invalid effect: Allows'),
  bad('a lower-case Effect', doc(bucketStatement({ Effect: 'allow' })), 'Invalid effect: allow'),
  bad('no Action', doc({ Effect: 'Allow', Principal: '*', Resource: OBJECTS }), 'Missing required field Action'),
  bad('both Action and NotAction', doc(bucketStatement({ NotAction: 's3:PutObject' })), 'Invalid policy syntax.'),
  bad('an empty Action list', doc(bucketStatement({ Action: [] })), 'Policy has invalid action'),
  bad('a numeric Action', doc(bucketStatement({ Action: 5 })), 'Policy has invalid action'),
  bad('an action without a service prefix', doc(bucketStatement({ Action: 'GetObject' })), 'Policy has invalid action'),
  bad('an action with a space', doc(bucketStatement({ Action: 's3:Get Object' })), 'Policy has invalid action'),
  bad('a misspelled S3 action in a bucket policy', doc(bucketStatement({ Action: 's3:GetObjekt' })), 'Policy has invalid action'),
  bad('a non-S3 action in a bucket policy', doc(bucketStatement({ Action: 'iam:CreateUser' })), 'Policy has invalid action'),
  bad('a wildcard matching no S3 action', doc(bucketStatement({ Action: 's3:Frobnicate*' })), 'Policy has invalid action'),
  bad('no Resource', doc({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject' }), 'Missing required field Resource'),
  bad('both Resource and NotResource', doc(bucketStatement({ NotResource: OBJECTS })), 'Invalid policy syntax.'),
  bad('Resource "*" in a bucket policy', doc(bucketStatement({ Resource: '*' })), 'Policy has invalid resource'),
  bad('Resource arn:aws:s3:::* in a bucket policy', doc(bucketStatement({ Resource: 'arn:aws:s3:::*' })), 'Policy has invalid resource'),
  bad('another bucket in a bucket policy', doc(bucketStatement({ Resource: 'arn:aws:s3:::otherbucket/*' })), 'Policy has invalid resource'),
  bad('a bucket whose name extends ours', doc(bucketStatement({ Resource: 'arn:aws:s3:::examplebucket2/*' })), 'Policy has invalid resource'),
  bad('a bucket name with a wildcard', doc(bucketStatement({ Resource: 'arn:aws:s3:::examplebucket*' })), 'Policy has invalid resource'),
  bad('an empty Resource list', doc(bucketStatement({ Resource: [] })), 'Policy has invalid resource'),
  bad('a resource that is not an ARN in an identity policy', doc(identityStatement({ Resource: 'examplebucket' })), 'Policy has invalid resource', IDENTITY_OPTIONS),
  bad('PutObject on the bucket ARN only', doc(bucketStatement({ Action: 's3:PutObject', Resource: BUCKET })), 'Action does not apply to any resource(s) in statement'),
  bad('ListBucket on object ARNs only', doc(bucketStatement({ Action: 's3:ListBucket', Resource: OBJECTS })), 'Action does not apply to any resource(s) in statement'),
  bad('ListAllMyBuckets in a bucket policy', doc(bucketStatement({ Action: 's3:ListAllMyBuckets', Resource: [BUCKET, OBJECTS] })), 'Action does not apply to any resource(s) in statement'),
  bad('one inapplicable action among applicable ones', doc(bucketStatement({ Action: ['s3:GetObject', 's3:ListBucket'], Resource: OBJECTS })), 'Action does not apply to any resource(s) in statement'),
  bad('a bucket policy without Principal', doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: OBJECTS }), 'Missing required field Principal'),
  bad('an identity policy with Principal', doc(identityStatement({ Principal: '*' })), 'Policy document should not specify a principal.', IDENTITY_OPTIONS),
  bad('a session policy with NotPrincipal', doc(identityStatement({ NotPrincipal: { AWS: '*' } })), 'Policy document should not specify a principal.', { kind: 'session', maxBytes: 2048 }),
  bad('both Principal and NotPrincipal', doc(bucketStatement({ Effect: 'Deny', NotPrincipal: { AWS: 'alice' } })), 'Invalid policy syntax.'),
  bad('a Principal string other than "*"', doc(bucketStatement({ Principal: 'alice' })), 'Invalid principal in policy'),
  bad('an empty Principal object', doc(bucketStatement({ Principal: {} })), 'Invalid principal in policy'),
  bad('an unknown principal type', doc(bucketStatement({ Principal: { Group: 'admins' } })), 'Invalid principal in policy'),
  bad('a partial wildcard in a principal ARN', doc(bucketStatement({ Principal: { AWS: 'arn:aws:iam::*:root' } })), 'Invalid principal in policy'),
  bad('a wildcard in a principal name', doc(bucketStatement({ Principal: { AWS: 'ali*' } })), 'Invalid principal in policy'),
  bad('a principal ARN of another service', doc(bucketStatement({ Principal: { AWS: 'arn:aws:s3:::examplebucket' } })), 'Invalid principal in policy'),
  bad('an empty principal list', doc(bucketStatement({ Principal: { AWS: [] } })), 'Invalid principal in policy'),
  bad('a CanonicalUser that is neither 64 hex digits nor a user ID', doc(bucketStatement({ Principal: { CanonicalUser: 'not an id' } })), 'Invalid principal in policy'),
  bad('NotPrincipal with Allow', doc({ Effect: 'Allow', NotPrincipal: { AWS: 'alice' }, Action: 's3:GetObject', Resource: OBJECTS }), /NotPrincipal is supported only/),
  bad('an unknown condition operator', withCondition({ StringEqualz: { 's3:prefix': 'a' } }), 'Invalid Condition operator'),
  bad('NullIfExists', withCondition({ NullIfExists: { 's3:prefix': 'true' } }), 'Invalid Condition operator'),
  bad('an unknown set qualifier', withCondition({ 'ForSomeValues:StringEquals': { 's3:prefix': 'a' } }), 'Invalid Condition operator'),
  bad('a Condition that is a list', withCondition([{ StringEquals: { 's3:prefix': 'a' } }]), 'Invalid policy syntax.'),
  bad('an operator with no keys', withCondition({ StringEquals: {} }), 'Invalid policy syntax.'),
  bad('a condition value that is an object', withCondition({ StringEquals: { 's3:prefix': { a: 1 } } }), 'Invalid policy syntax.'),
  bad('a condition value that is null', withCondition({ StringEquals: { 's3:prefix': null } }), 'Invalid policy syntax.'),
  bad('an IpAddress that is not an address', withCondition({ IpAddress: { 'aws:SourceIp': 'not-a-cidr' } }), /Invalid value for IpAddress condition/),
  bad('an IPv4 prefix over 32', withCondition({ IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } }), /Invalid value for IpAddress condition/),
  bad('an IPv6 prefix over 128', withCondition({ NotIpAddress: { 'aws:SourceIp': '2001:db8::/129' } }), /Invalid value for NotIpAddress condition/),
  bad('a Numeric value that is not a number', withCondition({ NumericLessThan: { 's3:max-keys': 'ten' } }), /Invalid value for NumericLessThan condition: ten/),
  bad('a Date value that is not a date', withCondition({ DateGreaterThan: { 'aws:CurrentTime': 'yesterday' } }), /Invalid value for DateGreaterThan condition/),
  bad('a Bool value other than true or false', withCondition({ Bool: { 'aws:SecureTransport': 'yes' } }), /Invalid value for Bool condition/),
  bad('a Null value other than true or false', withCondition({ Null: { 's3:prefix': 'maybe' } }), /Invalid value for Null condition/),
  bad('a bucket policy over 20 KB', doc(...Array.from({ length: 200 }, (_, i) => bucketStatement({ Sid: `s${i}`, Resource: `${OBJECTS.slice(0, -1)}${'k'.repeat(80)}${i}` }))), 'Policy exceeds the maximum allowed document size.'),
  bad('an identity policy over 2 KB', doc(...Array.from({ length: 30 }, (_, i) => identityStatement({ Sid: `s${i}` }))), 'Policy exceeds the maximum allowed document size.', IDENTITY_OPTIONS),
]

t.test('bad documents are rejected with MalformedPolicy', async t => {
  for (const c of badCases) {
    t.throws(() => parsePolicy(c.text, c.options ?? BUCKET_OPTIONS), { name: 'MalformedPolicy', code: 'MalformedPolicy', status: 400, message: c.message }, c.name)
  }
})

t.test('rejections are S3Error instances', async t => {
  const err = t.throws(() => parsePolicy('nope', BUCKET_OPTIONS))
  t.ok(err instanceof S3Error)
})

t.test('a full bucket policy parses into the typed document', async t => {
  const text = JSON.stringify({
    Version: '2012-10-17',
    Id: 'S3Policy1',
    Statement: [{
      Sid: 'AllowAlice', Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::111122223333:user/alice', '*'] },
      Action: ['s3:GetObject'], Resource: OBJECTS,
      Condition: { StringLike: { 'S3:Prefix': ['', 'home/'] }, NumericLessThan: { 's3:max-keys': 10 }, Bool: { 'aws:SecureTransport': true } },
    }],
  })
  const parsed = parsePolicy(text, BUCKET_OPTIONS)
  t.equal(parsed.version, '2012-10-17')
  t.equal(parsed.id, 'S3Policy1')
  t.match(parsed.statements[0], {
    sid: 'AllowAlice',
    effect: 'Allow',
    principal: { isNegated: false, isWildcard: true, aws: ['arn:aws:iam::111122223333:user/alice'] },
    actions: { isNegated: false, values: ['s3:GetObject'] },
    resources: { isNegated: false, values: [OBJECTS] },
    conditions: [
      { operatorName: 'StringLike', key: 's3:prefix', values: ['', 'home/'] },
      { operatorName: 'NumericLessThan', key: 's3:max-keys', values: ['10'] },
      { operatorName: 'Bool', key: 'aws:securetransport', values: ['true'] },
    ],
  })
})

t.test('documents AWS accepts are accepted', async t => {
  const ok = (name: string, text: string, options: ParsePolicyOptions = BUCKET_OPTIONS): void => {
    t.doesNotThrow(() => parsePolicy(text, options), name)
  }
  ok('a single Statement object instead of a list', JSON.stringify({ Version: '2012-10-17', Statement: bucketStatement() }))
  ok('leading whitespace before the brace', `\n  ${doc(bucketStatement())}`)
  ok('s3:* with only the bucket ARN', doc(bucketStatement({ Action: 's3:*', Resource: BUCKET })))
  ok('s3:Get* with object ARNs', doc(bucketStatement({ Action: 's3:Get*' })))
  ok('Action "*" in a bucket policy', doc(bucketStatement({ Action: '*', Resource: [BUCKET, OBJECTS] })))
  ok('lower-case action names', doc(bucketStatement({ Action: 's3:getobject' })))
  ok('a resource with a policy variable', doc(bucketStatement({ Resource: 'arn:aws:s3:::examplebucket/home/${aws:username}/*' })))
  ok('NotPrincipal with Deny', doc({ Effect: 'Deny', NotPrincipal: { AWS: 'arn:aws:iam::111122223333:user/alice' }, Action: 's3:*', Resource: OBJECTS }))
  ok('NotAction and NotResource', doc({ Effect: 'Deny', Principal: '*', NotAction: 's3:GetObject', NotResource: OBJECTS }))
  ok('assumed-role, account ID and bare-name principals', doc(bucketStatement({ Principal: { AWS: ['arn:aws:sts::111122223333:assumed-role/r/s', '111122223333', 'alice'] } })))
  ok('a CanonicalUser principal', doc(bucketStatement({ Principal: { CanonicalUser: 'ab'.repeat(32) } })))
  ok('every condition operator family', withCondition({
    'ForAnyValue:StringLikeIfExists': { 's3:x': 'a*' }, DateLessThan: { 'aws:CurrentTime': '1704067200' },
    IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001:db8::/32', '192.0.2.1'] }, ArnLike: { 'aws:SourceArn': 'arn:aws:sns:*:1:t' },
    BinaryEquals: { 's3:k': 'QmluYXJ5' }, Null: { 's3:prefix': 'false' },
  }))
  ok('identity policies with non-S3 actions and "*" resources', doc(identityStatement({ Action: ['sts:AssumeRole', 'iam:CreateAccessKey'] })), IDENTITY_OPTIONS)
  ok('a bucket policy with no bucket name given', doc(bucketStatement({ Resource: 'arn:aws:s3:::anybucket/*' })), { kind: 'bucket', maxBytes: MAX_BUCKET_POLICY_BYTES })
})

t.test('an absent Version means 2008-10-17', async t => {
  t.equal(parsePolicy(JSON.stringify({ Statement: [bucketStatement()] }), BUCKET_OPTIONS).version, '2008-10-17')
})

t.test('the size limit counts UTF-8 bytes', async t => {
  const text = doc(identityStatement({ Sid: 'ä'.repeat(20) }))
  t.doesNotThrow(() => parsePolicy(text, { kind: 'identity', maxBytes: Buffer.byteLength(text) }))
  t.throws(() => parsePolicy(text, { kind: 'identity', maxBytes: text.length + 1 }), { message: 'Policy exceeds the maximum allowed document size.' })
})

t.test('white space does not count, but for session policies (STS counts their plain text)', async t => {
  const packed = doc(identityStatement())
  const indented = JSON.stringify(JSON.parse(packed), null, 4)
  const limit = Buffer.byteLength(packed)
  t.ok(indented.length > limit)
  t.doesNotThrow(() => parsePolicy(indented, { kind: 'identity', maxBytes: limit }))
  t.throws(() => parsePolicy(indented, { kind: 'session', maxBytes: limit }), { message: 'Policy exceeds the maximum allowed document size.' })
  t.throws(() => parsePolicy(indented, { kind: 'identity', maxBytes: limit - 1 }), { message: 'Policy exceeds the maximum allowed document size.' })
  t.throws(() => parsePolicy(' '.repeat(8 * limit) + packed, { kind: 'identity', maxBytes: limit }), { message: 'Policy exceeds the maximum allowed document size.' }, 'the text itself is bounded')
})

t.test('built-in policies are valid identity policies', async t => {
  for (const name of BUILTIN_POLICY_NAMES) {
    t.ok(isBuiltinPolicyName(name), name)
    t.doesNotThrow(() => parsePolicy(BUILTIN_POLICY_TEXT[name], IDENTITY_OPTIONS), `${name} fits the 2 KB identity limit`)
    t.equal(BUILTIN_POLICIES[name].statements.length, 1)
  }
  t.notOk(isBuiltinPolicyName('admin'))
})
