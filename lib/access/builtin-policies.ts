// The named identity policies an admin can attach to a user without writing JSON (as WEKA's pre-defined policies).
import { MAX_BUCKET_POLICY_BYTES, parsePolicy, type PolicyDocument } from './policy-document.js'

export type BuiltinPolicyName = 'read-only' | 'read-write' | 'write-only' | 'full-access'

export const BUILTIN_POLICY_NAMES: readonly BuiltinPolicyName[] = ['read-only', 'read-write', 'write-only', 'full-access']

const ALL_S3 = ['arn:aws:s3:::*']

const READ_ACTIONS = [
  's3:ListAllMyBuckets', 's3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketVersions',
  's3:GetBucketVersioning', 's3:GetObject', 's3:GetObjectVersion', 's3:GetObjectAttributes',
  's3:GetObjectTagging', 's3:GetObjectVersionTagging',
]

// Multipart uploads need abort and part listing so that SDKs can clean up after a failed upload.
const WRITE_ACTIONS = [
  's3:GetBucketLocation', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts',
  's3:ListBucketMultipartUploads',
]

const DELETE_AND_TAG_ACTIONS = [
  's3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectTagging', 's3:DeleteObjectTagging',
]

const statement = (sid: string, actions: readonly string[]): object =>
  ({ Sid: sid, Effect: 'Allow', Action: [...new Set(actions)], Resource: ALL_S3 })

/** The policies as JSON text, the form stored and shown by `bridgectl`. */
export const BUILTIN_POLICY_TEXT: Readonly<Record<BuiltinPolicyName, string>> = {
  'read-only': policyText(statement('ReadOnly', READ_ACTIONS)),
  'write-only': policyText(statement('WriteOnly', WRITE_ACTIONS)),
  'read-write': policyText(statement('ReadWrite', [...READ_ACTIONS, ...WRITE_ACTIONS, ...DELETE_AND_TAG_ACTIONS])),
  'full-access': policyText(statement('FullAccess', ['s3:*'])),
}

function policyText(...statements: object[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements }, null, 2)
}

/** The parsed policies. They are identity policies, but checked against the bucket-policy size (they are not user input). */
export const BUILTIN_POLICIES: Readonly<Record<BuiltinPolicyName, PolicyDocument>> = {
  'read-only': parseBuiltin('read-only'),
  'write-only': parseBuiltin('write-only'),
  'read-write': parseBuiltin('read-write'),
  'full-access': parseBuiltin('full-access'),
}

function parseBuiltin(name: BuiltinPolicyName): PolicyDocument {
  return parsePolicy(BUILTIN_POLICY_TEXT[name], { kind: 'identity', maxBytes: MAX_BUCKET_POLICY_BYTES })
}

export function isBuiltinPolicyName(name: string): name is BuiltinPolicyName {
  return (BUILTIN_POLICY_NAMES as readonly string[]).includes(name)
}
