// Parsed policy documents by text: state holds policy text, evaluation needs the parsed form, parsing once is enough.
import { isBuiltinPolicyName, BUILTIN_POLICIES } from './builtin-policies.js'
import { MAX_BUCKET_POLICY_BYTES, MAX_IDENTITY_POLICY_BYTES, parsePolicy, type PolicyDocument } from './policy-document.js'
import type { LabelledPolicy } from './authorize.js'
import type { BucketRecord, State } from '../state/types.js'

const cache = new Map<string, PolicyDocument>()
const MAX_CACHED = 1000

function cached (key: string, make: () => PolicyDocument): PolicyDocument {
  let doc = cache.get(key)
  if (!doc) {
    doc = make()
    if (cache.size >= MAX_CACHED) cache.clear()
    cache.set(key, doc)
  }
  return doc
}

export function bucketPolicyDoc (text: string, bucketName: string): PolicyDocument {
  return cached(`b:${bucketName}:${text}`, () => parsePolicy(text, { kind: 'bucket', bucketName, maxBytes: MAX_BUCKET_POLICY_BYTES }))
}

const merged = new Map<string, { parts: ReadonlyArray<PolicyDocument | undefined>, doc: PolicyDocument }>()
const byRecord = new WeakMap<BucketRecord, { text: string, doc: PolicyDocument }>()

/**
 * The bucket's parsed policy, undefined without one. Remembered per state record (records are replaced, never
 * changed, when the state changes): the text-keyed cache builds a key as long as the policy (up to 20 KB) per call.
 */
export function bucketPolicyOf (record: BucketRecord): PolicyDocument | undefined {
  const text = record.policy
  if (text === undefined) return undefined
  const hit = byRecord.get(record)
  if (hit !== undefined && hit.text === text) return hit.doc
  const doc = bucketPolicyDoc(text, record.name)
  byRecord.set(record, { text, doc })
  return doc
}

export function identityPolicyDoc (text: string): PolicyDocument {
  return cached(`i:${text}`, () => parsePolicy(text, { kind: 'identity', maxBytes: MAX_IDENTITY_POLICY_BYTES }))
}

/** A named policy (built-in or from the state), undefined when there is none of that name. */
export function namedPolicy (state: State, name: string): PolicyDocument | undefined {
  if (isBuiltinPolicyName(name)) return BUILTIN_POLICIES[name]
  const text = state.policies[name]?.text
  return text === undefined ? undefined : identityPolicyDoc(text)
}

/**
 * An STS session's policy: the inline one and the named ones together (AWS evaluates a session's inline and
 * managed session policies as one set). A named policy deleted since grants nothing; with neither, undefined.
 */
export function sessionPolicyDoc (state: State, inline: string | undefined, names: readonly string[] | undefined): PolicyDocument | undefined {
  if (names === undefined || names.length === 0) return inline === undefined ? undefined : identityPolicyDoc(inline)
  const docs = [...(inline === undefined ? [] : [identityPolicyDoc(inline)]), ...names.map(n => namedPolicy(state, n))]
  // The merged document is kept while its parts are the same parsed documents: one object per session, so what is
  // worked out per document (lib/access/object-tag-keys.ts) is not worked out again on every request.
  const key = `${inline ?? ''}\0${names.join('\0')}`
  const hit = merged.get(key)
  if (hit !== undefined && hit.parts.length === docs.length && hit.parts.every((d, i) => d === docs[i])) return hit.doc
  const doc: PolicyDocument = { version: '2012-10-17', statements: docs.flatMap(d => d?.statements ?? []) }
  if (merged.size >= MAX_CACHED) merged.clear()
  merged.set(key, { parts: docs, doc })
  return doc
}

/** The identity policies attached to a user: built-in names or custom policies from the state. */
export function identityPolicies (state: State, userName: string): LabelledPolicy[] {
  const user = state.users[userName]
  if (!user) return []
  const out: LabelledPolicy[] = []
  for (const name of user.policies) {
    const doc = namedPolicy(state, name)
    if (doc !== undefined) out.push({ label: `policy ${name}`, doc })
  }
  return out
}
