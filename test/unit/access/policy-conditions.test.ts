// Condition operators evaluated through whole policies: absent keys, IfExists, set qualifiers, each operator family.
import t from 'tap'
import { parseConditionOperator } from '../../../lib/access/policy-conditions.js'
import {
  OBJECTS_ARN, BUCKET_ARN, alice, anonymous, allow, deny, onBucket, onObject, policy, row, runRows,
  type Keys, type PolicyJson, type Row,
} from '../../fixtures/policy-cases.js'

/** An identity policy allowing s3:* on everything when the condition block holds. */
const when = (condition: Record<string, unknown>): PolicyJson => policy(allow('s3:*', '*', { Condition: condition }))
const get = (keys: Keys = {}): ReturnType<typeof onObject> => onObject(alice, 's3:GetObject', 'x', keys)
const list = (keys: Keys = {}): ReturnType<typeof onBucket> => onBucket(alice, 's3:ListBucket', keys)

const denyInsecure = policy(
  allow('s3:GetObject', OBJECTS_ARN, { Principal: '*' }),
  deny('s3:*', [BUCKET_ARN, OBJECTS_ARN], { Sid: 'DenyInsecure', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
)
const denyInsecureJsonBool = policy(
  allow('s3:GetObject', OBJECTS_ARN, { Principal: '*' }),
  deny('s3:*', [BUCKET_ARN, OBJECTS_ARN], { Principal: '*', Condition: { Bool: { 'aws:SecureTransport': false } } }),
)
const secureRows: Row[] = [
  row('SecureTransport deny: HTTPS requests pass', denyInsecure, onObject(anonymous, 's3:GetObject', 'x', { 'aws:securetransport': 'true' }), 'Allow'),
  row('SecureTransport deny: plain HTTP requests are denied', denyInsecure, onObject(anonymous, 's3:GetObject', 'x', { 'aws:securetransport': 'false' }), 'Deny'),
  row('SecureTransport deny: an absent key does not trigger Bool', denyInsecure, onObject(anonymous, 's3:GetObject', 'x'), 'Allow'),
  row('SecureTransport deny: a JSON false value works like "false"', denyInsecureJsonBool, onObject(anonymous, 's3:GetObject', 'x', { 'aws:securetransport': 'false' }), 'Deny'),
  row('Bool "true" matches "true"', when({ Bool: { 'aws:SecureTransport': 'true' } }), get({ 'aws:securetransport': 'true' }), 'Allow'),
  row('Bool "true" does not match "false"', when({ Bool: { 'aws:SecureTransport': 'true' } }), get({ 'aws:securetransport': 'false' }), 'NotApplicable'),
  row('Bool on an absent key is false', when({ Bool: { 'aws:SecureTransport': 'true' } }), get(), 'NotApplicable'),
  row('BoolIfExists on an absent key is true', when({ BoolIfExists: { 'aws:SecureTransport': 'true' } }), get(), 'Allow'),
  row('BoolIfExists on a present key still compares', when({ BoolIfExists: { 'aws:SecureTransport': 'true' } }), get({ 'aws:securetransport': 'false' }), 'NotApplicable'),
]

// AWS S3 example: allow from IPv4 and IPv6 ranges except single addresses.
const ipMixed = when({
  IpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '2001:DB8:1234:5678::/64'] },
  NotIpAddress: { 'aws:SourceIp': ['192.0.2.188/32', '2001:DB8:1234:5678:ABCD::1'] },
})
const denyOutsideRange = policy(
  allow('s3:*', [BUCKET_ARN, OBJECTS_ARN], { Principal: '*' }),
  deny('s3:*', [BUCKET_ARN, OBJECTS_ARN], { Principal: '*', Condition: { NotIpAddress: { 'aws:SourceIp': '54.240.143.0/24' } } }),
)
const ip = (address: string): Keys => ({ 'aws:sourceip': address })
const ipRows: Row[] = [
  row('IpAddress matches inside an IPv4 /24', ipMixed, get(ip('192.0.2.5')), 'Allow'),
  row('NotIpAddress excludes a /32 inside the allowed range', ipMixed, get(ip('192.0.2.188')), 'NotApplicable'),
  row('IpAddress does not match outside the IPv4 range', ipMixed, get(ip('203.0.113.1')), 'NotApplicable'),
  row('IpAddress matches inside an IPv6 /64 written in upper case', ipMixed, get(ip('2001:db8:1234:5678::99')), 'Allow'),
  row('NotIpAddress excludes a bare IPv6 address (/128)', ipMixed, get(ip('2001:db8:1234:5678:abcd::1')), 'NotApplicable'),
  row('IpAddress does not match outside the IPv6 range', ipMixed, get(ip('2001:db8:1234:9999::1')), 'NotApplicable'),
  row('an IPv4-mapped IPv6 client address matches the IPv4 range', ipMixed, get(ip('::ffff:192.0.2.5')), 'Allow'),
  row('IpAddress on an absent source IP is false', ipMixed, get(), 'NotApplicable'),
  row('IpAddress on a malformed address is false', ipMixed, get(ip('not-an-ip')), 'NotApplicable'),
  row('NotIpAddress deny passes addresses inside the range', denyOutsideRange, onObject(anonymous, 's3:GetObject', 'x', ip('54.240.143.7')), 'Allow'),
  row('NotIpAddress deny hits addresses outside the range', denyOutsideRange, onObject(anonymous, 's3:GetObject', 'x', ip('10.0.0.1')), 'Deny'),
  row('NotIpAddress deny hits requests without a source IP', denyOutsideRange, onObject(anonymous, 's3:GetObject', 'x'), 'Deny'),
  row('a bare IPv4 address means /32 and matches itself', when({ IpAddress: { 'aws:SourceIp': '10.1.2.3' } }), get(ip('10.1.2.3')), 'Allow'),
  row('a bare IPv4 address does not match its neighbour', when({ IpAddress: { 'aws:SourceIp': '10.1.2.3' } }), get(ip('10.1.2.4')), 'NotApplicable'),
  row('0.0.0.0/0 matches any IPv4 address', when({ IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }), get(ip('8.8.8.8')), 'Allow'),
  row('0.0.0.0/0 does not match IPv6 addresses', when({ IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }), get(ip('::1')), 'NotApplicable'),
  row('a non-octet-aligned /20 matches its upper end', when({ IpAddress: { 'aws:SourceIp': '172.16.0.0/20' } }), get(ip('172.16.15.254')), 'Allow'),
  row('a non-octet-aligned /20 does not match past its end', when({ IpAddress: { 'aws:SourceIp': '172.16.0.0/20' } }), get(ip('172.16.16.1')), 'NotApplicable'),
  row('the condition key aws:SourceIp is case-insensitive', when({ IpAddress: { 'AWS:SOURCEIP': '10.0.0.0/8' } }), get(ip('10.9.9.9')), 'Allow'),
]

const aclRequired = policy(
  allow('s3:PutObject', OBJECTS_ARN, { Principal: { AWS: 'arn:aws:iam::111122223333:root' } }),
  deny('s3:PutObject', OBJECTS_ARN, { Principal: '*', Condition: { StringNotEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } } }),
)
const acl = (value: string): Keys => ({ 's3:x-amz-acl': value })
const stringRows: Row[] = [
  row('StringNotEquals deny passes the required ACL', aclRequired, onObject(alice, 's3:PutObject', 'x', acl('bucket-owner-full-control')), 'Allow'),
  row('StringNotEquals deny hits another ACL', aclRequired, onObject(alice, 's3:PutObject', 'x', acl('public-read')), 'Deny'),
  row('StringNotEquals deny hits a request without the header (absent key)', aclRequired, onObject(alice, 's3:PutObject', 'x'), 'Deny'),
  row('StringEquals values are ORed', when({ StringEquals: { 's3:x-amz-acl': ['private', 'bucket-owner-full-control'] } }), get(acl('private')), 'Allow'),
  row('StringEquals with no matching value is false', when({ StringEquals: { 's3:x-amz-acl': ['private', 'bucket-owner-full-control'] } }), get(acl('public-read')), 'NotApplicable'),
  row('StringNotEquals with several values requires matching none (hit)', when({ StringNotEquals: { 's3:x-amz-acl': ['a', 'b'] } }), get(acl('a')), 'NotApplicable'),
  row('StringNotEquals with several values requires matching none (miss)', when({ StringNotEquals: { 's3:x-amz-acl': ['a', 'b'] } }), get(acl('c')), 'Allow'),
  row('StringEquals is case-sensitive in values', when({ StringEquals: { 'aws:UserAgent': 'Mozilla' } }), get({ 'aws:useragent': 'mozilla' }), 'NotApplicable'),
  row('StringEqualsIgnoreCase ignores value case', when({ StringEqualsIgnoreCase: { 's3:prefix': 'PHOTOS/' } }), list({ 's3:prefix': 'photos/' }), 'Allow'),
  row('StringNotEqualsIgnoreCase treats case variants as equal', when({ StringNotEqualsIgnoreCase: { 's3:prefix': 'PHOTOS/' } }), list({ 's3:prefix': 'photos/' }), 'NotApplicable'),
  row('StringNotEqualsIgnoreCase matches a different value', when({ StringNotEqualsIgnoreCase: { 's3:prefix': 'PHOTOS/' } }), list({ 's3:prefix': 'docs/' }), 'Allow'),
  row('StringLike * spans "/"', when({ StringLike: { 's3:prefix': 'photos/*' } }), list({ 's3:prefix': 'photos/2024/jan/' }), 'Allow'),
  row('StringLike is case-sensitive', when({ StringLike: { 's3:prefix': 'photos/*' } }), list({ 's3:prefix': 'Photos/2024/' }), 'NotApplicable'),
  row('StringEquals treats * literally', when({ StringEquals: { 's3:prefix': 'photos/*' } }), list({ 's3:prefix': 'photos/2024/' }), 'NotApplicable'),
  row('StringEquals matches a literal *', when({ StringEquals: { 's3:prefix': 'photos/*' } }), list({ 's3:prefix': 'photos/*' }), 'Allow'),
  row('StringLike ? matches one character', when({ StringLike: { 's3:prefix': 'img?' } }), list({ 's3:prefix': 'img1' }), 'Allow'),
  row('StringLike ? does not match two characters', when({ StringLike: { 's3:prefix': 'img?' } }), list({ 's3:prefix': 'img12' }), 'NotApplicable'),
  row('StringLike ? does not match zero characters', when({ StringLike: { 's3:prefix': 'img?' } }), list({ 's3:prefix': 'img' }), 'NotApplicable'),
  row('StringNotLike matches a non-matching value', when({ StringNotLike: { 's3:prefix': 'private/*' } }), list({ 's3:prefix': 'public/' }), 'Allow'),
  row('StringNotLike fails on a matching value', when({ StringNotLike: { 's3:prefix': 'private/*' } }), list({ 's3:prefix': 'private/x' }), 'NotApplicable'),
  row('StringNotLike on an absent key is true', when({ StringNotLike: { 's3:prefix': 'private/*' } }), list(), 'Allow'),
  row('StringEquals on an absent key is false', when({ StringEquals: { 's3:prefix': 'docs/' } }), list(), 'NotApplicable'),
  row('StringEqualsIfExists on an absent key is true', when({ StringEqualsIfExists: { 's3:prefix': 'docs/' } }), list(), 'Allow'),
  row('StringEqualsIfExists on a present key compares', when({ StringEqualsIfExists: { 's3:prefix': 'docs/' } }), list({ 's3:prefix': 'other/' }), 'NotApplicable'),
  row('StringLikeIfExists on an absent key is true', when({ StringLikeIfExists: { 'aws:Referer': 'https://example.com/*' } }), get(), 'Allow'),
  row('several keys under one operator are ANDed (both hold)', when({ StringEquals: { 's3:prefix': 'docs/', 's3:delimiter': '/' } }), list({ 's3:prefix': 'docs/', 's3:delimiter': '/' }), 'Allow'),
  row('several keys under one operator are ANDed (one missing)', when({ StringEquals: { 's3:prefix': 'docs/', 's3:delimiter': '/' } }), list({ 's3:prefix': 'docs/' }), 'NotApplicable'),
  row('several operators are ANDed (both hold)', when({ StringLike: { 's3:prefix': 'docs/*' }, NumericLessThanEquals: { 's3:max-keys': '100' } }), list({ 's3:prefix': 'docs/a', 's3:max-keys': '50' }), 'Allow'),
  row('several operators are ANDed (one fails)', when({ StringLike: { 's3:prefix': 'docs/*' }, NumericLessThanEquals: { 's3:max-keys': '100' } }), list({ 's3:prefix': 'docs/a', 's3:max-keys': '500' }), 'NotApplicable'),
  row('condition key names in policies are case-insensitive', when({ StringEquals: { 'S3:Prefix': 'docs/' } }), list({ 's3:prefix': 'docs/' }), 'Allow'),
  row('condition key names in requests are case-insensitive', when({ StringEquals: { 's3:prefix': 'docs/' } }), list({ 'S3:PREFIX': 'docs/' }), 'Allow'),
  row('aws:Referer StringLike allows the documented site', when({ StringLike: { 'aws:Referer': ['http://www.example.com/*', 'http://example.com/*'] } }), get({ 'aws:referer': 'http://example.com/page.html' }), 'Allow'),
  row('aws:Referer StringLike rejects other sites', when({ StringLike: { 'aws:Referer': ['http://www.example.com/*', 'http://example.com/*'] } }), get({ 'aws:referer': 'http://evil.example.net/' }), 'NotApplicable'),
  row('deny SigV2 with s3:signatureversion', [when({}), policy(deny('s3:*', '*', { Condition: { StringNotEquals: { 's3:signatureversion': 'AWS4-HMAC-SHA256' } } }))], get({ 's3:signatureversion': 'AWS' }), 'Deny'),
  row('deny presigned URLs with s3:authType', [when({}), policy(deny('s3:*', '*', { Condition: { StringEquals: { 's3:authType': 'REST-QUERY-STRING' } } }))], get({ 's3:authtype': 'REST-QUERY-STRING' }), 'Deny'),
  row('deny unsigned payloads with s3:x-amz-content-sha256', [when({}), policy(deny('s3:PutObject', '*', { Condition: { StringEquals: { 's3:x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } } }))], onObject(alice, 's3:PutObject', 'x', { 's3:x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }), 'Deny'),
  row('a single-valued operator on a multi-valued key matches any value', when({ StringEquals: { 's3:x-amz-grant-read': 'id=1' } }), get({ 's3:x-amz-grant-read': ['id=2', 'id=1'] }), 'Allow'),
  row('a negated operator on a multi-valued key requires no value to match', when({ StringNotEquals: { 's3:x-amz-grant-read': 'id=1' } }), get({ 's3:x-amz-grant-read': ['id=2', 'id=1'] }), 'NotApplicable'),
]

const variableConditionRows: Row[] = [
  row('a variable in a StringEquals value resolves', when({ StringEquals: { 's3:prefix': 'home/${aws:username}/' } }), list({ 's3:prefix': 'home/alice/' }), 'Allow'),
  row('a variable in a StringEquals value does not match another user', when({ StringEquals: { 's3:prefix': 'home/${aws:username}/' } }), list({ 's3:prefix': 'home/bob/' }), 'NotApplicable'),
  row('an unresolved variable makes a negated operator match', [policy(allow('s3:*', [BUCKET_ARN, OBJECTS_ARN], { Principal: '*' })), policy(deny('s3:ListBucket', BUCKET_ARN, { Principal: '*', Condition: { StringNotEquals: { 's3:prefix': '${aws:username}/' } } }))], onBucket(anonymous, 's3:ListBucket', { 's3:prefix': 'x/' }), 'Deny'),
  row('an unresolved variable makes a positive operator fail', when({ StringLike: { 's3:prefix': '${aws:nosuch}*' } }), list({ 's3:prefix': 'x' }), 'NotApplicable'),
  row('${aws:PrincipalType} works in condition values', when({ StringEquals: { 's3:prefix': '${aws:PrincipalType}/' } }), list({ 's3:prefix': 'User/' }), 'Allow'),
  row('aws:username is available as a condition key', when({ StringEquals: { 'aws:username': 'alice' } }), get(), 'Allow'),
  row('aws:userid is available as a condition key', when({ StringEquals: { 'aws:userid': 'AIDAALICE' } }), get(), 'Allow'),
  row('anonymous has aws:userid "anonymous"', policy(allow('s3:GetObject', OBJECTS_ARN, { Principal: '*', Condition: { StringEquals: { 'aws:userid': 'anonymous' } } })), onObject(anonymous, 's3:GetObject', 'x'), 'Allow'),
  row('aws:PrincipalType is Anonymous for anonymous requests', policy(allow('s3:GetObject', OBJECTS_ARN, { Principal: '*', Condition: { StringEquals: { 'aws:PrincipalType': 'Anonymous' } } })), onObject(anonymous, 's3:GetObject', 'x'), 'Allow'),
  row('aws:PrincipalType is User for users', policy(allow('s3:GetObject', OBJECTS_ARN, { Principal: '*', Condition: { StringEquals: { 'aws:PrincipalType': 'Anonymous' } } })), onObject(alice, 's3:GetObject', 'x'), 'NotApplicable'),
]

const maxKeys = (n: string): Keys => ({ 's3:max-keys': n })
const numericRows: Row[] = [
  row('NumericLessThanEquals s3:max-keys 10 allows 5', when({ NumericLessThanEquals: { 's3:max-keys': '10' } }), list(maxKeys('5')), 'Allow'),
  row('NumericLessThanEquals allows the bound itself', when({ NumericLessThanEquals: { 's3:max-keys': '10' } }), list(maxKeys('10')), 'Allow'),
  row('NumericLessThanEquals rejects above the bound', when({ NumericLessThanEquals: { 's3:max-keys': '10' } }), list(maxKeys('11')), 'NotApplicable'),
  row('NumericLessThanEquals on an absent key is false', when({ NumericLessThanEquals: { 's3:max-keys': '10' } }), list(), 'NotApplicable'),
  row('NumericLessThanEqualsIfExists on an absent key is true', when({ NumericLessThanEqualsIfExists: { 's3:max-keys': '10' } }), list(), 'Allow'),
  row('a non-numeric request value never satisfies a Numeric operator', when({ NumericLessThanEquals: { 's3:max-keys': '10' } }), list(maxKeys('abc')), 'NotApplicable'),
  row('NumericEquals compares numbers, not strings', when({ NumericEquals: { 's3:max-keys': '10' } }), list(maxKeys('10.0')), 'Allow'),
  row('NumericEquals accepts a JSON number in the policy', when({ NumericEquals: { 's3:max-keys': 10 } }), list(maxKeys('10')), 'Allow'),
  row('NumericNotEquals matches a different number', when({ NumericNotEquals: { 's3:max-keys': '10' } }), list(maxKeys('5')), 'Allow'),
  row('NumericNotEquals fails on an equal number', when({ NumericNotEquals: { 's3:max-keys': '10' } }), list(maxKeys('10')), 'NotApplicable'),
  row('NumericNotEquals on an absent key is true', when({ NumericNotEquals: { 's3:max-keys': '10' } }), list(), 'Allow'),
  row('NumericLessThan excludes the bound', when({ NumericLessThan: { 's3:max-keys': '10' } }), list(maxKeys('10')), 'NotApplicable'),
  row('NumericGreaterThan matches above the bound', when({ NumericGreaterThan: { 's3:max-keys': '10' } }), list(maxKeys('11')), 'Allow'),
  row('NumericGreaterThan excludes the bound', when({ NumericGreaterThan: { 's3:max-keys': '10' } }), list(maxKeys('10')), 'NotApplicable'),
  row('NumericGreaterThanEquals includes the bound', when({ NumericGreaterThanEquals: { 's3:max-keys': '10' } }), list(maxKeys('10')), 'Allow'),
  row('Numeric comparisons handle negative and decimal values', when({ NumericGreaterThan: { 's3:max-keys': '-1.5' } }), list(maxKeys('-1')), 'Allow'),
]

const now = (iso: string): Keys => ({ 'aws:currenttime': iso })
const window2024 = when({ DateGreaterThan: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' }, DateLessThan: { 'aws:CurrentTime': '2024-12-31T23:59:59Z' } })
const dateRows: Row[] = [
  row('DateGreaterThan allows after the date', when({ DateGreaterThan: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' } }), get(now('2024-06-01T12:00:00Z')), 'Allow'),
  row('DateGreaterThan rejects before the date', when({ DateGreaterThan: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' } }), get(now('2023-12-31T23:59:59Z')), 'NotApplicable'),
  row('DateLessThan accepts a date-only policy value', when({ DateLessThan: { 'aws:CurrentTime': '2024-01-01' } }), get(now('2023-12-31T10:00:00Z')), 'Allow'),
  row('a time window allows inside it', window2024, get(now('2024-07-04T00:00:00Z')), 'Allow'),
  row('a time window rejects after it', window2024, get(now('2025-01-01T00:00:00Z')), 'NotApplicable'),
  row('a time window rejects when the time is absent', window2024, get(), 'NotApplicable'),
  row('DateEquals compares epoch seconds with ISO 8601', when({ DateEquals: { 'aws:CurrentTime': '1704067200' } }), get(now('2024-01-01T00:00:00Z')), 'Allow'),
  row('aws:EpochTime compares with an ISO 8601 policy value', when({ DateGreaterThan: { 'aws:EpochTime': '2024-01-01T00:00:00Z' } }), get({ 'aws:epochtime': '1717243200' }), 'Allow'),
  row('DateEquals honours time zone offsets', when({ DateEquals: { 'aws:CurrentTime': '2024-01-01T01:00:00+01:00' } }), get(now('2024-01-01T00:00:00Z')), 'Allow'),
  row('DateNotEquals on an absent key is true', when({ DateNotEquals: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' } }), get(), 'Allow'),
  row('DateNotEquals fails on the same instant', when({ DateNotEquals: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' } }), get(now('2024-01-01T00:00:00.000Z')), 'NotApplicable'),
  row('DateLessThanEquals includes the instant', when({ DateLessThanEquals: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' } }), get(now('2024-01-01T00:00:00Z')), 'Allow'),
  row('DateLessThan excludes the instant', when({ DateLessThan: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' } }), get(now('2024-01-01T00:00:00Z')), 'NotApplicable'),
  row('DateGreaterThanEquals includes the instant', when({ DateGreaterThanEquals: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' } }), get(now('2024-01-01T00:00:00Z')), 'Allow'),
  row('a malformed request date never matches', when({ DateGreaterThan: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' } }), get(now('yesterday')), 'NotApplicable'),
]

const tagKeys = (...keys: string[]): Keys => ({ 's3:requestobjecttagkeys': keys })
const allTagsAllowed = when({ 'ForAllValues:StringEquals': { 's3:RequestObjectTagKeys': ['Department', 'Project'] } })
const anyTagRequired = when({ 'ForAnyValue:StringEquals': { 's3:RequestObjectTagKeys': ['Department', 'Project'] } })
const allTagsGuarded = when({ 'ForAllValues:StringEquals': { 's3:RequestObjectTagKeys': ['Department', 'Project'] }, Null: { 's3:RequestObjectTagKeys': 'false' } })
const setRows: Row[] = [
  row('ForAllValues matches when every value is listed', allTagsAllowed, get(tagKeys('Department')), 'Allow'),
  row('ForAllValues fails when one value is not listed', allTagsAllowed, get(tagKeys('Department', 'Cost')), 'NotApplicable'),
  row('ForAllValues on an empty set is true', allTagsAllowed, get(tagKeys()), 'Allow'),
  row('ForAllValues on an absent key is true', allTagsAllowed, get(), 'Allow'),
  row('ForAllValues with a Null guard rejects an absent key', allTagsGuarded, get(), 'NotApplicable'),
  row('ForAllValues with a Null guard rejects an empty set', allTagsGuarded, get(tagKeys()), 'NotApplicable'),
  row('ForAllValues with a Null guard allows listed values', allTagsGuarded, get(tagKeys('Project')), 'Allow'),
  row('ForAnyValue matches when one value is listed', anyTagRequired, get(tagKeys('Cost', 'Project')), 'Allow'),
  row('ForAnyValue fails when no value is listed', anyTagRequired, get(tagKeys('Cost')), 'NotApplicable'),
  row('ForAnyValue on an empty set is false', anyTagRequired, get(tagKeys()), 'NotApplicable'),
  row('ForAnyValue on an absent key is false', anyTagRequired, get(), 'NotApplicable'),
  row('ForAnyValue treats a single string as a one-element set', anyTagRequired, get({ 's3:requestobjecttagkeys': 'Department' }), 'Allow'),
  row('ForAnyValue:StringNotEquals needs one unlisted value (none)', when({ 'ForAnyValue:StringNotEquals': { 's3:RequestObjectTagKeys': 'Department' } }), get(tagKeys('Department')), 'NotApplicable'),
  row('ForAnyValue:StringNotEquals needs one unlisted value (one)', when({ 'ForAnyValue:StringNotEquals': { 's3:RequestObjectTagKeys': 'Department' } }), get(tagKeys('Department', 'X')), 'Allow'),
  row('ForAllValues:StringLike matches each value against the patterns', when({ 'ForAllValues:StringLike': { 's3:RequestObjectTagKeys': 'proj-*' } }), get(tagKeys('proj-1', 'proj-2')), 'Allow'),
  row('ForAllValues:StringLike fails on one non-matching value', when({ 'ForAllValues:StringLike': { 's3:RequestObjectTagKeys': 'proj-*' } }), get(tagKeys('proj-1', 'cost')), 'NotApplicable'),
  row('set qualifiers are case-insensitive', when({ 'foranyvalue:StringEquals': { 's3:RequestObjectTagKeys': 'Department' } }), get(tagKeys('Department')), 'Allow'),
]

const requireEncryption = [when({}), policy(deny('s3:PutObject', '*', { Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } } }))]
const nullRows: Row[] = [
  row('Null "true" deny hits a request without the key', requireEncryption, onObject(alice, 's3:PutObject', 'x'), 'Deny'),
  row('Null "true" deny passes a request with the key', requireEncryption, onObject(alice, 's3:PutObject', 'x', { 's3:x-amz-server-side-encryption': 'AES256' }), 'Allow'),
  row('Null "false" matches a present key', when({ Null: { 'aws:TokenIssueTime': 'false' } }), get({ 'aws:tokenissuetime': '2024-01-01T00:00:00Z' }), 'Allow'),
  row('Null "false" fails on an absent key', when({ Null: { 'aws:TokenIssueTime': 'false' } }), get(), 'NotApplicable'),
  row('Null treats an empty multi-valued key as absent', when({ Null: { 's3:RequestObjectTagKeys': 'true' } }), get(tagKeys()), 'Allow'),
  row('Null treats an empty string as present', when({ Null: { 's3:prefix': 'false' } }), list({ 's3:prefix': '' }), 'Allow'),
  row('Null accepts a JSON boolean', when({ Null: { 's3:prefix': true } }), list(), 'Allow'),
]

const source = (arn: string): Keys => ({ 'aws:sourcearn': arn })
const arnRows: Row[] = [
  row('ArnLike matches wildcards within components', when({ ArnLike: { 'aws:SourceArn': 'arn:aws:sns:*:123456789012:topic*' } }), get(source('arn:aws:sns:us-east-1:123456789012:topic-a')), 'Allow'),
  row('ArnLike fails on another account', when({ ArnLike: { 'aws:SourceArn': 'arn:aws:sns:*:123456789012:topic*' } }), get(source('arn:aws:sns:us-east-1:999999999999:topic-a')), 'NotApplicable'),
  row('a wildcard in one ARN component does not span colons', when({ ArnLike: { 'aws:SourceArn': 'arn:aws:sns:*:123456789012:t' } }), get(source('arn:aws:sns:us-east-1:extra:123456789012:t')), 'NotApplicable'),
  row('ArnEquals matches an identical ARN', when({ ArnEquals: { 'aws:SourceArn': 'arn:aws:s3:::examplebucket' } }), get(source('arn:aws:s3:::examplebucket')), 'Allow'),
  row('ArnLike lets * in the resource component span "/"', when({ ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::examplebucket/*' } }), get(source('arn:aws:s3:::examplebucket/a/b')), 'Allow'),
  row('ArnLike on a value that is not an ARN is false', when({ ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::*' } }), get(source('examplebucket')), 'NotApplicable'),
  row('ArnNotLike on an absent key is true', when({ ArnNotLike: { 'aws:SourceArn': 'arn:aws:s3:::*' } }), get(), 'Allow'),
  row('ArnNotEquals fails on the named ARN', when({ ArnNotEquals: { 'aws:SourceArn': 'arn:aws:s3:::examplebucket' } }), get(source('arn:aws:s3:::examplebucket')), 'NotApplicable'),
  row('ArnLike on aws:PrincipalArn matches users of an account', when({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:user/*' } }), get(), 'Allow'),
  row('ArnLike with a variable in the resource component resolves it', when({ ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::home-${aws:username}' } }), get(source('arn:aws:s3:::home-alice')), 'Allow'),
]

const b64 = Buffer.from('BinaryValueInBase64').toString('base64')
const binaryRows: Row[] = [
  row('BinaryEquals matches the same base64 bytes', when({ BinaryEquals: { 's3:x-amz-meta-key': b64 } }), get({ 's3:x-amz-meta-key': b64 }), 'Allow'),
  row('BinaryEquals rejects other bytes', when({ BinaryEquals: { 's3:x-amz-meta-key': b64 } }), get({ 's3:x-amz-meta-key': Buffer.from('other').toString('base64') }), 'NotApplicable'),
]

t.test('Bool and aws:SecureTransport', async t => runRows(t, secureRows))
t.test('IpAddress and NotIpAddress', async t => runRows(t, ipRows))
t.test('String operators, IfExists and AND/OR rules', async t => runRows(t, stringRows))
t.test('policy variables in condition values', async t => runRows(t, variableConditionRows))
t.test('Numeric operators with s3:max-keys', async t => runRows(t, numericRows))
t.test('Date operators with aws:CurrentTime', async t => runRows(t, dateRows))
t.test('ForAllValues and ForAnyValue', async t => runRows(t, setRows))
t.test('Null', async t => runRows(t, nullRows))
t.test('ARN operators', async t => runRows(t, arnRows))
t.test('BinaryEquals', async t => runRows(t, binaryRows))

t.test('parseConditionOperator reads qualifiers and IfExists', async t => {
  t.match(parseConditionOperator('ForAllValues:StringLikeIfExists'), { base: { name: 'StringLike' }, qualifier: 'ForAllValues', isIfExists: true })
  t.match(parseConditionOperator('NumericLessThan'), { base: { name: 'NumericLessThan', isNegated: false }, isIfExists: false })
  t.match(parseConditionOperator('NotIpAddress'), { base: { isNegated: true } })
  t.equal(parseConditionOperator('StringEqualz'), undefined)
  t.equal(parseConditionOperator('NullIfExists'), undefined)
  t.equal(parseConditionOperator('ForAnyValue:Null'), undefined)
  t.equal(parseConditionOperator('Sometimes:StringEquals'), undefined)
})
