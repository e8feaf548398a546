// Parsed policy documents by text: state holds policy text, evaluation needs the parsed form, parsing once is enough.
import { isBuiltinPolicyName, BUILTIN_POLICIES } from './builtin-policies.js'
import { MAX_BUCKET_POLICY_BYTES, MAX_IDENTITY_POLICY_BYTES, parsePolicy, type PolicyDocument } from './policy-document.js'
import type { LabelledPolicy } from './authorize.js'
import type { State } from '../state/types.js'

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

export function identityPolicyDoc (text: string): PolicyDocument {
  return cached(`i:${text}`, () => parsePolicy(text, { kind: 'identity', maxBytes: MAX_IDENTITY_POLICY_BYTES }))
}

/** The identity policies attached to a user: built-in names or custom policies from the state. */
export function identityPolicies (state: State, userName: string): LabelledPolicy[] {
  const user = state.users[userName]
  if (!user) return []
  const out: LabelledPolicy[] = []
  for (const name of user.policies) {
    if (isBuiltinPolicyName(name)) out.push({ label: `policy ${name}`, doc: BUILTIN_POLICIES[name] })
    else {
      const text = state.policies[name]?.text
      if (text !== undefined) out.push({ label: `policy ${name}`, doc: identityPolicyDoc(text) })
    }
  }
  return out
}
