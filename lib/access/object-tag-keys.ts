// The object-tag condition keys (S3 user guide, "Tagging and access control policies"):
//   s3:ExistingObjectTag/<tag-key>  the tags the object has now: read operations, its ACL and its tags, never
//                                   PutObject or DeleteObject (AWS: "you cannot create a policy to grant or deny a
//                                   user permissions to delete or overwrite an object based on its existing tags");
//   s3:RequestObjectTag/<tag-key>   the tags the request sets: PutObject, CopyObject (tagging directive REPLACE),
//   s3:RequestObjectTagKeys         CreateMultipartUpload, POST and PutObjectTagging. UploadPart and Complete carry
//                                   none, so a policy that demands a request tag on s3:PutObject refuses them, as
//                                   on AWS.
// Tag keys are case-sensitive in S3 ("Environment" and "environment" are two tags an object may have both of), so
// the tag-key part of these condition keys is matched as written while the rest of the name is not
// (conditionKeyName): lower-casing both let an object tagged {classification: internal, Classification: public}
// pass a "StringNotEquals classification public" Deny (review 25).
import type { ObjectTag } from '../storage/types.js'
import type { PolicyDocument } from './policy-document.js'

const EXISTING = 's3:existingobjecttag/'
const REQUEST = 's3:requestobjecttag/'
const REQUEST_KEYS = 's3:requestobjecttagkeys'

/** Operations whose action takes s3:ExistingObjectTag (a copy's or UploadPartCopy's source is read as GetObject). */
const EXISTING_TAG_OPERATIONS = new Set([
  'GetObject', 'HeadObject', 'GetObjectAttributes', 'GetObjectAcl', 'PutObjectAcl', 'GetObjectTagging', 'PutObjectTagging', 'DeleteObjectTagging',
])

/** IAM actions (lower case) that take s3:ExistingObjectTag (Service Authorization Reference for Amazon S3). */
const EXISTING_TAG_ACTIONS = new Set([
  's3:getobject', 's3:getobjectversion', 's3:getobjectattributes', 's3:getobjectversionattributes', 's3:getobjectacl',
  's3:getobjectversionacl', 's3:putobjectacl', 's3:putobjectversionacl', 's3:getobjecttagging', 's3:getobjectversiontagging',
  's3:putobjecttagging', 's3:putobjectversiontagging', 's3:deleteobjecttagging', 's3:deleteobjectversiontagging',
])
/** IAM actions (lower case) that take s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys. */
const REQUEST_TAG_ACTIONS = new Set(['s3:putobject', 's3:putobjecttagging', 's3:putobjectversiontagging'])

/** The actions a tag condition key (as conditionKeyName gives it) applies to; undefined for any other key. */
export function tagKeyActions (key: string): ReadonlySet<string> | undefined {
  if (key.startsWith(EXISTING)) return EXISTING_TAG_ACTIONS
  if (key.startsWith(REQUEST) || key === REQUEST_KEYS) return REQUEST_TAG_ACTIONS
  return undefined
}

export interface TagKeyUse { readonly existing: boolean, readonly request: boolean }

const NONE: TagKeyUse = { existing: false, request: false }
const uses = new WeakMap<PolicyDocument, TagKeyUse>()

/** Which of the tag keys a policy names, worked out once per parsed document (the GET path pays a look-up). */
function useOf (doc: PolicyDocument): TagKeyUse {
  let use = uses.get(doc)
  if (use === undefined) {
    const keys = doc.statements.flatMap(s => s.conditions.map(c => c.key))
    use = { existing: keys.some(k => k.startsWith(EXISTING)), request: keys.some(k => k.startsWith(REQUEST) || k === REQUEST_KEYS) }
    uses.set(doc, use)
  }
  return use
}

/** Whether any of these policies names an existing-object-tag or request-tag key (only then are tags looked at). */
export function tagKeyUse (docs: Iterable<PolicyDocument | undefined>): TagKeyUse {
  let existing = false
  let request = false
  for (const doc of docs) {
    if (doc === undefined) continue
    const u = useOf(doc)
    existing ||= u.existing
    request ||= u.request
  }
  return existing || request ? { existing, request } : NONE
}

export function takesExistingTags (operation: string): boolean {
  return EXISTING_TAG_OPERATIONS.has(operation)
}

/** A policy's condition key as evaluation looks it up: lower case, but a tag key as written. */
export function conditionKeyName (key: string): string {
  const lower = key.toLowerCase()
  for (const prefix of [EXISTING, REQUEST]) {
    if (lower.startsWith(prefix)) return prefix + key.slice(prefix.length)
  }
  return lower
}

function byKey (prefix: string, tags: readonly ObjectTag[]): Record<string, string> {
  // A tag set has each key once (validateTags), and stored sets were validated when they were written.
  return Object.fromEntries(tags.map(({ key, value }) => [prefix + key, value]))
}

/** s3:ExistingObjectTag/<key> for each of the object's tags. */
export function existingTagKeys (tags: readonly ObjectTag[]): Record<string, string> {
  return byKey(EXISTING, tags)
}

/** s3:RequestObjectTag/<key> for each tag the request sets, and s3:RequestObjectTagKeys (absent when it sets none). */
export function requestTagKeys (tags: readonly ObjectTag[] | undefined): Record<string, string | string[]> {
  if (tags === undefined || tags.length === 0) return {}
  return { ...byKey(REQUEST, tags), [REQUEST_KEYS]: tags.map(t => t.key) }
}
