// The object-tag condition keys (S3 user guide, "Tagging and access control policies"):
//   s3:ExistingObjectTag/<tag-key>  the tags the object has now: read operations, its ACL and its tags, never
//                                   PutObject or DeleteObject (AWS: "you cannot create a policy to grant or deny a
//                                   user permissions to delete or overwrite an object based on its existing tags");
//   s3:RequestObjectTag/<tag-key>   the tags the request sets: PutObject, CopyObject (tagging directive REPLACE),
//   s3:RequestObjectTagKeys         CreateMultipartUpload, POST and PutObjectTagging. UploadPart and Complete carry
//                                   none, so a policy that demands a request tag on s3:PutObject refuses them, as
//                                   on AWS.
// Policy key names are case-insensitive (they are lower-cased when a policy is parsed), tag keys are not: two tags
// whose keys differ only in case both answer the one condition key, as a multi-valued key (any value may match a
// positive operator, a negated one must hold for all), so a Deny on either cannot be dodged by the other's case.
import type { ObjectTag } from '../storage/types.js'
import type { PolicyDocument } from './policy-document.js'

const EXISTING = 's3:existingobjecttag/'
const REQUEST = 's3:requestobjecttag/'
const REQUEST_KEYS = 's3:requestobjecttagkeys'

/** Operations whose action takes s3:ExistingObjectTag (a copy's or UploadPartCopy's source is read as GetObject). */
const EXISTING_TAG_OPERATIONS = new Set([
  'GetObject', 'HeadObject', 'GetObjectAttributes', 'GetObjectAcl', 'PutObjectAcl', 'GetObjectTagging', 'PutObjectTagging', 'DeleteObjectTagging',
])

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

function byLowerKey (prefix: string, tags: readonly ObjectTag[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const { key, value } of tags) {
    const name = prefix + key.toLowerCase()
    const had = out[name]
    out[name] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value]
  }
  return out
}

/** s3:ExistingObjectTag/<key> for each of the object's tags. */
export function existingTagKeys (tags: readonly ObjectTag[]): Record<string, string | string[]> {
  return byLowerKey(EXISTING, tags)
}

/** s3:RequestObjectTag/<key> for each tag the request sets, and s3:RequestObjectTagKeys (absent when it sets none). */
export function requestTagKeys (tags: readonly ObjectTag[] | undefined): Record<string, string | string[]> {
  if (tags === undefined || tags.length === 0) return {}
  return { ...byLowerKey(REQUEST, tags), [REQUEST_KEYS]: tags.map(t => t.key) }
}
