// Which condition keys a policy written now may use. A key the bridge never fills makes a Deny on it a silent
// no-op (fail-open) and an Allow on it dead: a typo (aws:SorceIp) or a key AWS fills and the bridge does not
// (aws:ResourceTag/...) is refused when the policy is written, with AWS's MalformedPolicy text. Policies
// stored before this check are still read as they are.

/** Keys lib/http/authorize.ts (request) and lib/access/policy.ts (principal) fill. */
const FILLED = [
  'aws:sourceip', 'aws:securetransport', 'aws:currenttime', 'aws:epochtime', 'aws:referer', 'aws:useragent',
  'aws:username', 'aws:userid', 'aws:principaltype', 'aws:principalarn', 'aws:principalaccount',
  'aws:requestedregion', 'aws:resourceaccount', 'aws:principalisawsservice', 'aws:viaawsservice',
  's3:prefix', 's3:delimiter', 's3:max-keys', 's3:x-amz-acl', 's3:x-amz-content-sha256', 's3:signatureversion',
  's3:authtype', 's3:signatureage', 's3:x-amz-copy-source', 's3:x-amz-metadata-directive', 's3:if-match',
  's3:if-none-match', 's3:objectcreationoperation', 's3:x-amz-grant-read', 's3:x-amz-grant-write',
  's3:x-amz-grant-read-acp', 's3:x-amz-grant-write-acp', 's3:x-amz-grant-full-control', 's3:x-amz-storage-class',
  's3:x-amz-server-side-encryption', 's3:x-amz-server-side-encryption-aws-kms-key-id',
  's3:x-amz-server-side-encryption-customer-algorithm', 's3:x-amz-website-redirect-location', 's3:versionid',
  's3:resourceaccount', 's3:x-amz-object-ownership', 's3:tlsversion', 'aws:tokenissuetime', 's3:requestobjecttagkeys',
]
/** The object-tag keys (lib/access/object-tag-keys.ts), each followed by a tag key. */
const FILLED_PREFIXES = ['s3:existingobjecttag/', 's3:requestobjecttag/']

/**
 * AWS keys whose absence here tells the truth, so a policy may name them: no MFA, organisations, VPCs, access
 * points, service principals, principal tags (bridge users have none), object lock (not offered), a CreateBucket
 * location constraint (none is sent to the bridge's one region).
 */
const ABSENT_HERE = [
  'aws:calledvia', 'aws:calledviafirst', 'aws:calledvialast', 'aws:federatedprovider', 'aws:multifactorauthage',
  'aws:multifactorauthpresent', 'aws:principalorgid', 'aws:principalorgpaths', 'aws:principalservicename',
  'aws:principalservicenameslist', 'aws:resourceorgid', 'aws:resourceorgpaths', 'aws:sourceaccount', 'aws:sourcearn',
  'aws:sourceidentity', 'aws:sourceorgid', 'aws:sourceorgpaths', 'aws:sourcevpc', 'aws:sourcevpce', 'aws:sourcevpcarn',
  'aws:vpcsourceip', 'aws:vpceaccount', 'aws:vpceorgid', 'aws:vpceorgpaths', 'aws:ec2instancesourcevpc',
  'aws:ec2instancesourceprivateipv4', 's3:accesspointnetworkorigin', 's3:dataaccesspointaccount',
  's3:dataaccesspointarn', 's3:locationconstraint', 's3:object-lock-mode', 's3:object-lock-retain-until-date',
  's3:object-lock-remaining-retention-days', 's3:object-lock-legal-hold',
]
const ABSENT_HERE_PREFIXES = ['aws:principaltag/']
const NAMED_PREFIXES = [...FILLED_PREFIXES, ...ABSENT_HERE_PREFIXES]

/** Keys AWS fills and the bridge does not (yet; bucket tags as a resource's tags): a policy naming them would not do what it says. */
const NOT_FILLED = ['aws:tagkeys']
const NOT_FILLED_PREFIXES = ['aws:requesttag/', 'aws:resourcetag/']

const KNOWN = new Set([...FILLED, ...ABSENT_HERE])

/** Why a policy written now may not use this condition key (lower-cased), or undefined when it may. */
export function conditionKeyProblem (key: string): string | undefined {
  if (KNOWN.has(key) || NAMED_PREFIXES.some(p => key.startsWith(p) && key.length > p.length)) return undefined
  if (NOT_FILLED.includes(key) || NOT_FILLED_PREFIXES.some(p => key.startsWith(p))) {
    return `Conditions do not apply to combination of actions and resources in statement (the bridge does not support the condition key ${key})`
  }
  return `Conditions do not apply to combination of actions and resources in statement (unknown condition key ${key})`
}
