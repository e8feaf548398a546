// Policy evaluation: principals, actions, resources, variables, explicit deny and the documented AWS examples.
import t from 'tap'
import { BUILTIN_POLICIES } from '../../../lib/access/builtin-policies.js'
import { SERVICE_RESOURCE } from '../../../lib/access/actions.js'
import { combine, evaluatePolicy, isPolicyPublic } from '../../../lib/access/policy.js'
import {
  ACCOUNT, BUCKET_ARN, CANONICAL_ALICE, OBJECTS_ARN, alice, aliceSession, allow, anonymous, bob, carol, deny,
  onBucket, onObject, onResource, policy, row, runRows, toDocument, type PolicyJson, type Row,
} from '../../fixtures/policy-cases.js'

// Seed 000 (Jetstream2): anyone may list and read; users of project 12345abcde may upload.
const jetstream = {
  Version: '2012-10-17',
  Id: 'S3Policy1',
  Statement: [
    { Sid: 'BucketAllowPublicRead', Action: ['s3:ListBucket', 's3:GetObject'], Effect: 'Allow', Resource: [BUCKET_ARN, OBJECTS_ARN], Principal: '*' },
    { Sid: 'BucketAllowSpecificUpload', Action: ['s3:PutObject'], Effect: 'Allow', Resource: [OBJECTS_ARN], Principal: { AWS: 'arn:aws:iam::12345abcde:root' } },
  ],
}
const projectUser = { arn: 'arn:aws:iam::12345abcde:user/dana', username: 'dana', accountId: '12345abcde', type: 'User' as const }

const seedRows: Row[] = [
  row('seed 000: anonymous may list the public bucket', jetstream, onBucket(anonymous, 's3:ListBucket'), 'Allow'),
  row('seed 000: anonymous may read an object', jetstream, onObject(anonymous, 's3:GetObject', 'data/file.nc'), 'Allow'),
  row('seed 000: anonymous may not upload', jetstream, onObject(anonymous, 's3:PutObject', 'data/file.nc'), 'NotApplicable'),
  row('seed 000: a user of the named project account may upload', jetstream, onObject(projectUser, 's3:PutObject', 'x'), 'Allow'),
  row('seed 000: a user of another account may not upload', jetstream, onObject(carol, 's3:PutObject', 'x'), 'NotApplicable'),
  row('seed 000: the project user may not delete', jetstream, onObject(projectUser, 's3:DeleteObject', 'x'), 'NotApplicable'),
  row('seed 000: upload grant does not reach another bucket', jetstream, onResource(projectUser, 's3:PutObject', 'arn:aws:s3:::otherbucket/x'), 'NotApplicable'),
  // Seed 002 (WEKA): pre-defined identity policies.
  row('read-only allows GetObject', BUILTIN_POLICIES['read-only'], onObject(alice, 's3:GetObject', 'a/b'), 'Allow'),
  row('read-only allows ListBucket', BUILTIN_POLICIES['read-only'], onBucket(alice, 's3:ListBucket'), 'Allow'),
  row('read-only allows ListAllMyBuckets on the service', BUILTIN_POLICIES['read-only'], onResource(alice, 's3:ListAllMyBuckets', SERVICE_RESOURCE), 'Allow'),
  row('read-only does not allow PutObject', BUILTIN_POLICIES['read-only'], onObject(alice, 's3:PutObject', 'a/b'), 'NotApplicable'),
  row('read-only does not allow DeleteObject', BUILTIN_POLICIES['read-only'], onObject(alice, 's3:DeleteObject', 'a/b'), 'NotApplicable'),
  row('write-only allows PutObject', BUILTIN_POLICIES['write-only'], onObject(alice, 's3:PutObject', 'a/b'), 'Allow'),
  row('write-only allows AbortMultipartUpload', BUILTIN_POLICIES['write-only'], onObject(alice, 's3:AbortMultipartUpload', 'a/b'), 'Allow'),
  row('write-only does not allow GetObject', BUILTIN_POLICIES['write-only'], onObject(alice, 's3:GetObject', 'a/b'), 'NotApplicable'),
  row('read-write allows DeleteObject', BUILTIN_POLICIES['read-write'], onObject(alice, 's3:DeleteObject', 'a/b'), 'Allow'),
  row('read-write allows GetObject', BUILTIN_POLICIES['read-write'], onObject(alice, 's3:GetObject', 'a/b'), 'Allow'),
  row('read-write does not allow PutBucketPolicy', BUILTIN_POLICIES['read-write'], onBucket(alice, 's3:PutBucketPolicy'), 'NotApplicable'),
  row('full-access allows PutBucketPolicy', BUILTIN_POLICIES['full-access'], onBucket(alice, 's3:PutBucketPolicy'), 'Allow'),
  row('full-access allows ListAllMyBuckets', BUILTIN_POLICIES['full-access'], onResource(alice, 's3:ListAllMyBuckets', SERVICE_RESOURCE), 'Allow'),
  row('full-access does not allow IAM actions', BUILTIN_POLICIES['full-access'], onResource(alice, 'iam:CreateAccessKey', `arn:aws:iam::${ACCOUNT}:user/alice`), 'NotApplicable'),
]

const publicRead = policy(allow(['s3:GetObject', 's3:GetObjectVersion'], OBJECTS_ARN, { Sid: 'PublicRead', Principal: '*' }))
const publicReadAwsStar = policy(allow('s3:GetObject', OBJECTS_ARN, { Principal: { AWS: '*' } }))

const publicRows: Row[] = [
  row('public-read lets anonymous read an object', publicRead, onObject(anonymous, 's3:GetObject', 'photos/cat.jpg'), 'Allow'),
  row('public-read covers deeply nested keys', publicRead, onObject(anonymous, 's3:GetObject', 'a/b/c/d/e.txt'), 'Allow'),
  row('public-read lets anonymous read a version', publicRead, onObject(anonymous, 's3:GetObjectVersion', 'photos/cat.jpg'), 'Allow'),
  row('public-read does not allow listing', publicRead, onBucket(anonymous, 's3:ListBucket'), 'NotApplicable'),
  row('public-read does not allow PutObject by a user', publicRead, onObject(alice, 's3:PutObject', 'x'), 'NotApplicable'),
  row('public-read applies to authenticated users too', publicRead, onObject(carol, 's3:GetObject', 'x'), 'Allow'),
  row('Principal {"AWS":"*"} includes anonymous', publicReadAwsStar, onObject(anonymous, 's3:GetObject', 'x'), 'Allow'),
  row('Principal {"AWS":["*"]} includes anonymous', policy(allow('s3:GetObject', OBJECTS_ARN, { Principal: { AWS: ['*'] } })), onObject(anonymous, 's3:GetObject', 'x'), 'Allow'),
  row('the object wildcard does not cover the bucket ARN itself', publicRead, onBucket(anonymous, 's3:GetObject'), 'NotApplicable'),
  row('an empty key suffix still matches bucket/*', publicRead, onObject(anonymous, 's3:GetObject', ''), 'Allow'),
]

const onlyAlice = policy(allow('s3:*', [BUCKET_ARN, OBJECTS_ARN], { Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/alice` } }))
const aliceAndBob = policy(allow('s3:GetObject', OBJECTS_ARN, { Principal: { AWS: [`arn:aws:iam::${ACCOUNT}:user/alice`, `arn:aws:iam::${ACCOUNT}:user/bob`] } }))
const wholeAccount = policy(allow('s3:GetObject', OBJECTS_ARN, { Principal: { AWS: ACCOUNT } }))
const accountRoot = policy(allow('s3:GetObject', OBJECTS_ARN, { Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` } }))
const bareName = policy(allow('s3:GetObject', OBJECTS_ARN, { Principal: { AWS: 'alice' } }))
const sessionArn = policy(allow('s3:GetObject', OBJECTS_ARN, { Principal: { AWS: aliceSession.arn } }))
const canonical = policy(allow('s3:GetObject', OBJECTS_ARN, { Principal: { CanonicalUser: CANONICAL_ALICE } }))

const principalRows: Row[] = [
  row('a user ARN principal matches that user', onlyAlice, onObject(alice, 's3:PutObject', 'x'), 'Allow'),
  row('a user ARN principal does not match another user', onlyAlice, onObject(bob, 's3:PutObject', 'x'), 'NotApplicable'),
  row('a user ARN principal does not match anonymous', onlyAlice, onObject(anonymous, 's3:GetObject', 'x'), 'NotApplicable'),
  row('a principal list matches its second entry', aliceAndBob, onObject(bob, 's3:GetObject', 'x'), 'Allow'),
  row('a principal list does not match others', aliceAndBob, onObject(carol, 's3:GetObject', 'x'), 'NotApplicable'),
  row('a bare account ID matches users of that account', wholeAccount, onObject(bob, 's3:GetObject', 'x'), 'Allow'),
  row('a bare account ID does not match another account', wholeAccount, onObject(carol, 's3:GetObject', 'x'), 'NotApplicable'),
  row('an account root ARN matches users of that account', accountRoot, onObject(alice, 's3:GetObject', 'x'), 'Allow'),
  row('an account root ARN does not match another account', accountRoot, onObject(carol, 's3:GetObject', 'x'), 'NotApplicable'),
  row('an account root ARN does not match anonymous', accountRoot, onObject(anonymous, 's3:GetObject', 'x'), 'NotApplicable'),
  row('a bare user name matches that user', bareName, onObject(alice, 's3:GetObject', 'x'), 'Allow'),
  row('a bare user name does not match another user', bareName, onObject(bob, 's3:GetObject', 'x'), 'NotApplicable'),
  row('an assumed-role session ARN matches that session', sessionArn, onObject(aliceSession, 's3:GetObject', 'x'), 'Allow'),
  row('an assumed-role session ARN does not match the parent user', sessionArn, onObject(alice, 's3:GetObject', 'x'), 'NotApplicable'),
  row('a CanonicalUser principal matches by canonical ID', canonical, onObject(alice, 's3:GetObject', 'x'), 'Allow'),
  row('a CanonicalUser principal does not match others', canonical, onObject(bob, 's3:GetObject', 'x'), 'NotApplicable'),
  row('an identity policy applies to whoever it is attached to', policy(allow('s3:GetObject', '*')), onObject(carol, 's3:GetObject', 'x'), 'Allow'),
]

const notPrincipalDeny = policy(
  allow('s3:GetObject', OBJECTS_ARN, { Principal: '*' }),
  deny('s3:*', [BUCKET_ARN, OBJECTS_ARN], { NotPrincipal: { AWS: [`arn:aws:iam::${ACCOUNT}:user/alice`] } }),
)
const notPrincipalAccount = policy(
  allow('s3:GetObject', OBJECTS_ARN, { Principal: '*' }),
  deny('s3:*', [BUCKET_ARN, OBJECTS_ARN], { NotPrincipal: { AWS: `arn:aws:iam::${ACCOUNT}:root` } }),
)
const notActionIdentity = policy({ Effect: 'Allow', NotAction: ['s3:DeleteObject', 's3:DeleteBucket'], Resource: '*' })
const notActionDeny = policy(
  allow('s3:*', OBJECTS_ARN, { Principal: '*' }),
  { Effect: 'Deny', Principal: '*', NotAction: 's3:GetObject', Resource: OBJECTS_ARN },
)
const notResourceIdentity = policy({ Effect: 'Allow', Action: 's3:*', NotResource: [`${BUCKET_ARN}/private/*`] })
const notResourceDeny = policy(
  allow('s3:GetObject', OBJECTS_ARN, { Principal: '*' }),
  { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', NotResource: `${BUCKET_ARN}/public/*` },
)

const negationRows: Row[] = [
  row('NotPrincipal deny spares the listed user', notPrincipalDeny, onObject(alice, 's3:GetObject', 'x'), 'Allow'),
  row('NotPrincipal deny hits other users', notPrincipalDeny, onObject(bob, 's3:GetObject', 'x'), 'Deny'),
  row('NotPrincipal deny hits anonymous', notPrincipalDeny, onObject(anonymous, 's3:GetObject', 'x'), 'Deny'),
  row('NotPrincipal with an account root spares the account', notPrincipalAccount, onObject(bob, 's3:GetObject', 'x'), 'Allow'),
  row('NotPrincipal with an account root hits other accounts', notPrincipalAccount, onObject(carol, 's3:GetObject', 'x'), 'Deny'),
  row('NotAction allows unlisted actions', notActionIdentity, onObject(alice, 's3:GetObject', 'x'), 'Allow'),
  row('NotAction does not allow listed actions', notActionIdentity, onObject(alice, 's3:DeleteObject', 'x'), 'NotApplicable'),
  row('NotAction compares action names case-insensitively', notActionIdentity, onObject(alice, 's3:deleteobject', 'x'), 'NotApplicable'),
  row('NotAction allow also covers non-S3 actions', notActionIdentity, onResource(alice, 'sts:AssumeRole', '*'), 'Allow'),
  row('deny with NotAction hits every other action', notActionDeny, onObject(alice, 's3:PutObject', 'x'), 'Deny'),
  row('deny with NotAction spares the listed action', notActionDeny, onObject(alice, 's3:GetObject', 'x'), 'Allow'),
  row('NotResource allows resources outside the list', notResourceIdentity, onObject(alice, 's3:GetObject', 'public/x'), 'Allow'),
  row('NotResource does not allow listed resources', notResourceIdentity, onObject(alice, 's3:GetObject', 'private/x'), 'NotApplicable'),
  row('NotResource allow includes the bucket itself', notResourceIdentity, onBucket(alice, 's3:ListBucket'), 'Allow'),
  row('deny with NotResource spares the listed prefix', notResourceDeny, onObject(anonymous, 's3:GetObject', 'public/x'), 'Allow'),
  row('deny with NotResource hits everything else', notResourceDeny, onObject(anonymous, 's3:GetObject', 'secret/x'), 'Deny'),
]

const identityAllow = policy(allow('s3:*', '*'))
const bucketDenyDelete = policy(deny('s3:DeleteObject', OBJECTS_ARN, { Principal: '*' }))
const bucketAllowRead = policy(allow('s3:GetObject', OBJECTS_ARN, { Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/alice` } }))
const identityDenyAll = policy(deny('s3:*', '*'))
const allowThenDeny = policy(allow('s3:*', '*', { Sid: 'AllowAll' }), deny('s3:PutObject', '*', { Sid: 'NoWrites' }))
const denyThenAllow = policy(deny('s3:PutObject', '*'), allow('s3:*', '*'))

const combinationRows: Row[] = [
  row('an explicit deny in the bucket policy beats an identity allow', [identityAllow, bucketDenyDelete], onObject(alice, 's3:DeleteObject', 'x'), 'Deny'),
  row('an identity allow stands when the bucket policy does not apply', [identityAllow, bucketDenyDelete], onObject(alice, 's3:GetObject', 'x'), 'Allow'),
  row('a bucket policy allow stands without an identity allow', [policy(allow('s3:ListBucket', '*')), bucketAllowRead], onObject(alice, 's3:GetObject', 'x'), 'Allow'),
  row('no applicable statement anywhere is NotApplicable', [policy(allow('s3:ListBucket', '*')), bucketAllowRead], onObject(bob, 's3:GetObject', 'x'), 'NotApplicable'),
  row('an identity deny beats a bucket policy allow', [identityDenyAll, bucketAllowRead], onObject(alice, 's3:GetObject', 'x'), 'Deny'),
  row('a deny after an allow in one policy wins', allowThenDeny, onObject(alice, 's3:PutObject', 'x'), 'Deny'),
  row('a deny before an allow in one policy wins', denyThenAllow, onObject(alice, 's3:PutObject', 'x'), 'Deny'),
  row('an allow next to a non-matching deny stands', allowThenDeny, onObject(alice, 's3:GetObject', 'x'), 'Allow'),
  row('full-access is still subject to a bucket policy deny', [BUILTIN_POLICIES['full-access'], bucketDenyDelete], onObject(alice, 's3:DeleteObject', 'x'), 'Deny'),
  row('three policies: one deny among two allows wins', [identityAllow, bucketAllowRead, policy(deny('s3:GetObject', '*'))], onObject(alice, 's3:GetObject', 'x'), 'Deny'),
]

const any = (action: string, resource: string | string[] = '*'): PolicyJson => policy(allow(action, resource))

const wildcardRows: Row[] = [
  row('s3:Get* matches GetObject', any('s3:Get*'), onObject(alice, 's3:GetObject', 'x'), 'Allow'),
  row('s3:Get* matches GetBucketAcl', any('s3:Get*'), onBucket(alice, 's3:GetBucketAcl'), 'Allow'),
  row('s3:Get* does not match PutObject', any('s3:Get*'), onObject(alice, 's3:PutObject', 'x'), 'NotApplicable'),
  row('s3:*Object matches DeleteObject', any('s3:*Object'), onObject(alice, 's3:DeleteObject', 'x'), 'Allow'),
  row('s3:*Object does not match ListBucket', any('s3:*Object'), onBucket(alice, 's3:ListBucket'), 'NotApplicable'),
  row('s3:?etObject matches GetObject', any('s3:?etObject'), onObject(alice, 's3:GetObject', 'x'), 'Allow'),
  row('s3:?etObject does not match DeleteObject', any('s3:?etObject'), onObject(alice, 's3:DeleteObject', 'x'), 'NotApplicable'),
  row('Action "*" matches non-S3 actions', any('*'), onResource(alice, 'iam:CreateAccessKey', `arn:aws:iam::${ACCOUNT}:user/alice`), 'Allow'),
  row('s3:* does not match sts actions', any('s3:*'), onResource(alice, 'sts:AssumeRole', '*'), 'NotApplicable'),
  row('action names in policies are case-insensitive', any('S3:GETOBJECT'), onObject(alice, 's3:GetObject', 'x'), 'Allow'),
  row('action names in requests are case-insensitive', any('s3:GetObject'), onObject(alice, 's3:getobject', 'x'), 'Allow'),
  row('Resource bucket* matches the bucket ARN', any('s3:*', 'arn:aws:s3:::examplebucket*'), onBucket(alice, 's3:ListBucket'), 'Allow'),
  row('Resource bucket* matches a longer bucket name', any('s3:*', 'arn:aws:s3:::examplebucket*'), onResource(alice, 's3:ListBucket', 'arn:aws:s3:::examplebucket-logs'), 'Allow'),
  row('Resource bucket* also matches objects because * spans "/"', any('s3:*', 'arn:aws:s3:::examplebucket*'), onObject(alice, 's3:GetObject', 'a/b'), 'Allow'),
  row('Resource ? matches exactly one character', any('s3:*', 'arn:aws:s3:::example?ucket'), onBucket(alice, 's3:ListBucket'), 'Allow'),
  row('Resource ? does not match two characters', any('s3:*', 'arn:aws:s3:::exampl?ucket'), onBucket(alice, 's3:ListBucket'), 'NotApplicable'),
  row('Resource * matches the service resource', any('s3:ListAllMyBuckets', '*'), onResource(alice, 's3:ListAllMyBuckets', SERVICE_RESOURCE), 'Allow'),
  row('Resource arn:aws:s3:::* matches the service resource', any('s3:ListAllMyBuckets', 'arn:aws:s3:::*'), onResource(alice, 's3:ListAllMyBuckets', SERVICE_RESOURCE), 'Allow'),
  row('Resource arn:aws:s3:::*/* does not match the service resource', any('s3:ListAllMyBuckets', 'arn:aws:s3:::*/*'), onResource(alice, 's3:ListAllMyBuckets', SERVICE_RESOURCE), 'NotApplicable'),
  row('a bucket ARN does not match the service resource', any('s3:ListAllMyBuckets', BUCKET_ARN), onResource(alice, 's3:ListAllMyBuckets', SERVICE_RESOURCE), 'NotApplicable'),
  row('a suffix pattern matches by extension', any('s3:GetObject', `${BUCKET_ARN}/*.jpg`), onObject(alice, 's3:GetObject', 'photos/2024/cat.jpg'), 'Allow'),
  row('a suffix pattern rejects other extensions', any('s3:GetObject', `${BUCKET_ARN}/*.jpg`), onObject(alice, 's3:GetObject', 'photos/cat.png'), 'NotApplicable'),
  row('several stars match with backtracking', any('s3:GetObject', `${BUCKET_ARN}/a*b*c`), onObject(alice, 's3:GetObject', 'aXbYbZc'), 'Allow'),
  row('several stars fail when the tail is missing', any('s3:GetObject', `${BUCKET_ARN}/a*b*c`), onObject(alice, 's3:GetObject', 'aXbYcZ'), 'NotApplicable'),
  row('resources are case-sensitive in the key', any('s3:GetObject', `${BUCKET_ARN}/Photos/*`), onObject(alice, 's3:GetObject', 'photos/x'), 'NotApplicable'),
  row('resources are case-sensitive in the bucket name', any('s3:GetObject', OBJECTS_ARN), onResource(alice, 's3:GetObject', 'arn:aws:s3:::ExampleBucket/x'), 'NotApplicable'),
  row('? matches one non-ASCII character', any('s3:GetObject', `${BUCKET_ARN}/caf?.txt`), onObject(alice, 's3:GetObject', 'café.txt'), 'Allow'),
  row('* matches non-ASCII keys', any('s3:GetObject', OBJECTS_ARN), onObject(alice, 's3:GetObject', 'ünï/çødé 漢字.txt'), 'Allow'),
  row('an exact object ARN matches only that key', any('s3:GetObject', `${BUCKET_ARN}/readme.md`), onObject(alice, 's3:GetObject', 'readme.md.bak'), 'NotApplicable'),
  row('another bucket is not matched by the example bucket ARN', any('s3:GetObject', OBJECTS_ARN), onResource(alice, 's3:GetObject', 'arn:aws:s3:::examplebucket2/x'), 'NotApplicable'),
]

// AWS IAM example: "Allows IAM users to access their own home directory in Amazon S3".
const homeFolder = policy(
  allow('s3:ListBucket', BUCKET_ARN, { Sid: 'AllowListingOfUserFolder', Condition: { StringLike: { 's3:prefix': ['', 'home/', 'home/${aws:username}/*'] } } }),
  allow('s3:*', `${BUCKET_ARN}/home/\${aws:username}/*`, { Sid: 'AllowAllS3ActionsInUserFolder' }),
)
const homeFolder2008 = { ...homeFolder, Version: '2008-10-17' }
const withVar = (resource: string): PolicyJson => policy(allow('s3:GetObject', resource))

const variableRows: Row[] = [
  row('home folder: listing one\'s own folder is allowed', homeFolder, onBucket(alice, 's3:ListBucket', { 's3:prefix': 'home/alice/' }), 'Allow'),
  row('home folder: listing a deep subfolder is allowed', homeFolder, onBucket(alice, 's3:ListBucket', { 's3:prefix': 'home/alice/photos/2024/' }), 'Allow'),
  row('home folder: listing another user\'s folder is not allowed', homeFolder, onBucket(alice, 's3:ListBucket', { 's3:prefix': 'home/bob/' }), 'NotApplicable'),
  row('home folder: listing the bucket root is allowed', homeFolder, onBucket(alice, 's3:ListBucket', { 's3:prefix': '' }), 'Allow'),
  row('home folder: listing home/ is allowed', homeFolder, onBucket(alice, 's3:ListBucket', { 's3:prefix': 'home/' }), 'Allow'),
  row('home folder: listing without a prefix key is not allowed', homeFolder, onBucket(alice, 's3:ListBucket'), 'NotApplicable'),
  row('home folder: reading one\'s own object is allowed', homeFolder, onObject(alice, 's3:GetObject', 'home/alice/notes.txt'), 'Allow'),
  row('home folder: writing deep in one\'s own folder is allowed', homeFolder, onObject(alice, 's3:PutObject', 'home/alice/a/b/c.txt'), 'Allow'),
  row('home folder: reading another user\'s object is not allowed', homeFolder, onObject(alice, 's3:GetObject', 'home/bob/notes.txt'), 'NotApplicable'),
  row('home folder: the other user reads their own object', homeFolder, onObject(bob, 's3:GetObject', 'home/bob/notes.txt'), 'Allow'),
  row('home folder: a principal without a user name matches nothing', homeFolder, onObject(aliceSession, 's3:GetObject', 'home/alice/x'), 'NotApplicable'),
  row('home folder: anonymous has no user name', homeFolder, onObject(anonymous, 's3:GetObject', 'home//x'), 'NotApplicable'),
  row('version 2008-10-17 keeps ${…} literal', homeFolder2008, onObject(alice, 's3:GetObject', 'home/alice/x'), 'NotApplicable'),
  row('version 2008-10-17 matches the literal ${…} text', homeFolder2008, onObject(alice, 's3:GetObject', 'home/${aws:username}/x'), 'Allow'),
  row('variable names are case-insensitive', withVar(`${BUCKET_ARN}/home/\${AWS:UserName}/*`), onObject(alice, 's3:GetObject', 'home/alice/x'), 'Allow'),
  row('${aws:userid} resolves to the principal\'s unique ID', withVar(`${BUCKET_ARN}/\${aws:userid}/*`), onObject(alice, 's3:GetObject', 'AIDAALICE/x'), 'Allow'),
  row('${aws:SourceIp} resolves from the request keys', withVar(`${BUCKET_ARN}/ips/\${aws:SourceIp}/*`), onObject(alice, 's3:GetObject', 'ips/10.0.0.1/x', { 'aws:sourceip': '10.0.0.1' }), 'Allow'),
  row('${aws:EpochTime} resolves from the request keys', withVar(`${BUCKET_ARN}/stamp/\${aws:EpochTime}`), onObject(alice, 's3:GetObject', 'stamp/1700000000', { 'aws:epochtime': '1700000000' }), 'Allow'),
  row('${aws:CurrentTime} resolves from the request keys', withVar(`${BUCKET_ARN}/day/\${aws:CurrentTime}`), onObject(alice, 's3:GetObject', 'day/2024-06-01T12:00:00Z', { 'aws:currenttime': '2024-06-01T12:00:00Z' }), 'Allow'),
  row('${aws:PrincipalType} resolves from the principal', withVar(`${BUCKET_ARN}/\${aws:PrincipalType}/*`), onObject(alice, 's3:GetObject', 'User/x'), 'Allow'),
  row('an unknown variable makes the resource match nothing', withVar(`${BUCKET_ARN}/\${aws:nosuchkey}/*`), onObject(alice, 's3:GetObject', '/x'), 'NotApplicable'),
  row('a default value fills a missing variable', withVar(`${BUCKET_ARN}/home/\${aws:username, 'nobody'}/*`), onObject(aliceSession, 's3:GetObject', 'home/nobody/x'), 'Allow'),
  row('a default value is unused when the variable resolves', withVar(`${BUCKET_ARN}/home/\${aws:username, 'nobody'}/*`), onObject(alice, 's3:GetObject', 'home/nobody/x'), 'NotApplicable'),
  row('${*} is a literal star', withVar(`${BUCKET_ARN}/literal\${*}star`), onObject(alice, 's3:GetObject', 'literal*star'), 'Allow'),
  row('${*} does not act as a wildcard', withVar(`${BUCKET_ARN}/literal\${*}star`), onObject(alice, 's3:GetObject', 'literalXstar'), 'NotApplicable'),
  row('${?} is a literal question mark', withVar(`${BUCKET_ARN}/what\${?}`), onObject(alice, 's3:GetObject', 'what?'), 'Allow'),
  row('${?} does not act as a wildcard', withVar(`${BUCKET_ARN}/what\${?}`), onObject(alice, 's3:GetObject', 'whatX'), 'NotApplicable'),
  row('${$} is a literal dollar', withVar(`${BUCKET_ARN}/a\${$}b`), onObject(alice, 's3:GetObject', 'a$b'), 'Allow'),
  row('a substituted value is literal, not a wildcard', withVar(`${BUCKET_ARN}/\${s3:prefix}`), onObject(alice, 's3:GetObject', 'abc', { 's3:prefix': 'a*' }), 'NotApplicable'),
  row('${s3:prefix} resolves from the request keys', withVar(`${BUCKET_ARN}/\${s3:prefix}done`), onObject(alice, 's3:GetObject', 'logs/done', { 's3:prefix': 'logs/' }), 'Allow'),
]

t.test('seed examples and built-in policies', async t => runRows(t, seedRows))
t.test('public-read policies', async t => runRows(t, publicRows))
t.test('principal matching', async t => runRows(t, principalRows))
t.test('NotPrincipal, NotAction and NotResource', async t => runRows(t, negationRows))
t.test('explicit deny across statements and policies', async t => runRows(t, combinationRows))
t.test('action and resource wildcards and case', async t => runRows(t, wildcardRows))
t.test('policy variables', async t => runRows(t, variableRows))

t.test('the verdict names the deciding statement', async t => {
  const doc = toDocument(allowThenDeny)
  t.same(evaluatePolicy(doc, onObject(alice, 's3:PutObject', 'x'), 'user:alice'), { decision: 'Deny', statement: { policy: 'user:alice', sid: 'NoWrites', index: 1 } })
  t.same(evaluatePolicy(doc, onObject(alice, 's3:GetObject', 'x'), 'user:alice'), { decision: 'Allow', statement: { policy: 'user:alice', sid: 'AllowAll', index: 0 } })
  t.same(evaluatePolicy(toDocument(denyThenAllow), onObject(alice, 's3:GetObject', 'x'), 'p'), { decision: 'Allow', statement: { policy: 'p', index: 1 } })
  t.same(evaluatePolicy(doc, onBucket(alice, 'sts:AssumeRole'), 'p'), { decision: 'NotApplicable' })
})

t.test('combine prefers the first Deny, then the first Allow', async t => {
  const allowA = { decision: 'Allow' as const, statement: { policy: 'a', index: 0 } }
  const denyB = { decision: 'Deny' as const, statement: { policy: 'b', index: 2 } }
  t.same(combine([allowA, denyB]), denyB)
  t.same(combine([{ decision: 'NotApplicable' }, allowA]), allowA)
  t.same(combine([]), { decision: 'NotApplicable' })
})

t.test('principal keys come from the principal, not from request keys', async t => {
  const p = policy(allow('s3:GetObject', '*', { Condition: { StringEquals: { 'aws:username': 'bob' } } }))
  runRows(t, [row('a request key cannot impersonate aws:username', p, onObject(alice, 's3:GetObject', 'x', { 'aws:username': 'bob' }), 'NotApplicable')])
})


t.test('isPolicyPublic follows S3\'s meaning of public', async t => {
  const readWith = (condition?: Record<string, unknown>, principal: unknown = '*'): PolicyJson =>
    policy(allow('s3:GetObject', OBJECTS_ARN, condition === undefined ? { Principal: principal } : { Principal: principal, Condition: condition }))
  const cases: Array<[string, PolicyJson, boolean]> = [
    ['an Allow to "*" without conditions is public', readWith(), true],
    ['an Allow to {"AWS":"*"} is public', readWith(undefined, { AWS: '*' }), true],
    ['an Allow to named users is not public', readWith(undefined, { AWS: `arn:aws:iam::${ACCOUNT}:user/alice` }), false],
    ['a Deny to "*" is not public', policy(deny('s3:GetObject', OBJECTS_ARN, { Principal: '*' })), false],
    ['a fixed aws:SourceIp /24 makes it non-public', readWith({ IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } }), false],
    ['an aws:SourceIp wider than /8 stays public', readWith({ IpAddress: { 'aws:SourceIp': '0.0.0.0/1' } }), true],
    ['an IPv6 range wider than /32 stays public', readWith({ IpAddress: { 'aws:SourceIp': '2001:db8::/16' } }), true],
    ['NotIpAddress does not restrict', readWith({ NotIpAddress: { 'aws:SourceIp': '192.0.2.0/24' } }), true],
    ['a fixed aws:SourceAccount makes it non-public', readWith({ StringEquals: { 'aws:SourceAccount': ACCOUNT } }), false],
    ['a wildcard aws:SourceArn stays public', readWith({ ArnLike: { 'aws:SourceArn': 'arn:aws:sns:*:1:t' } }), true],
    ['a fixed aws:userid makes it non-public', readWith({ StringEquals: { 'aws:userid': 'AIDAALICE' } }), false],
    ['an IfExists condition does not restrict', readWith({ StringEqualsIfExists: { 'aws:SourceAccount': ACCOUNT } }), true],
    ['a condition on another key does not restrict', readWith({ Bool: { 'aws:SecureTransport': 'true' } }), true],
    ['a policy variable does not count as fixed', readWith({ StringEquals: { 'aws:userid': '${aws:username}' } }), true],
  ]
  for (const [name, p, expected] of cases) t.equal(isPolicyPublic(toDocument(p)), expected, name)
})
