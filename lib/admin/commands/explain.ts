// bridgectl explain: which layer allows or denies a user's S3 request, and why (policy, bucket ACL, each folder, the file).
import { publicIdsOf } from '../../access/public-access-block.js'
import { isIP } from 'node:net'
import { authorize, type LayerVerdict } from '../../access/authorize.js'
import { fsNeedsFor } from '../../access/fs-needs.js'
import { OPERATION_ACCESS } from '../../access/actions.js'
import { tagKeyUse } from '../../access/object-tag-keys.js'
import { bucketPolicyOf, identityPolicies } from '../../access/policy-cache.js'
import { supplementaryGroups } from '../../auth/identity.js'
import { anonymousPrincipal, userPrincipal, type Principal } from '../../auth/principal.js'
import { gidOfGroup } from '../../auth/groups.js'
import { existingTagConditions } from '../../storage/object-tags.js'
import { posixLayerFor } from '../../storage/posix-access.js'
import type { ObjectKey } from '../../storage/types.js'
import type { BucketRecord, UserRecord } from '../../state/types.js'
import { objectAcpAllowed } from '../../access/s3-acl-posix.js'
import { checkSearchPath, readObjectAcl } from '../../storage/object-acl-store.js'
import { keySegments, keyToPath } from '../../storage/paths.js'
import { AdminError, emit, UsageError } from '../output.js'
import { effectiveStatus } from '../lookups.js'
import { parse } from '../parse-args.js'
import type { AdminServices, Command } from '../services.js'

/**
 * Accepts an operation name (GetObject) or an IAM action (s3:GetObject) and returns the operation. Several
 * operations share some actions (s3:ListBucket: HeadBucket, ListObjects, ListObjectsV2): the one with the most
 * filesystem needs answers "can they do everything this action allows", so HeadBucket cannot hide a listing the
 * kernel refuses. A tie goes to the operation named after the action (s3:GetObject: GetObject), else to the
 * later row (s3:ListBucket: ListObjectsV2, what clients send today).
 */
function operationOf (action: string, bucketRoot: string, key: string | undefined): { operation: string, sharedWith: string[] } {
  if (Object.hasOwn(OPERATION_ACCESS, action)) return { operation: action, sharedWith: [] }
  const candidates = Object.entries(OPERATION_ACCESS).filter(([, a]) => a.action.toLowerCase() === action.toLowerCase()).map(([op]) => op)
  if (!candidates.length) throw new UsageError(`unknown action "${action}": use an S3 operation such as GetObject, PutObject, DeleteObject, ListObjectsV2, or an IAM action such as s3:GetObject`)
  const needs = (op: string): number => fsNeedsFor(op, bucketRoot, key).length
  const isNamesake = (op: string): boolean => `s3:${op}`.toLowerCase() === action.toLowerCase()
  const operation = candidates.reduce((best, op) => needs(op) > needs(best) || (needs(op) === needs(best) && !isNamesake(best)) ? op : best)
  return { operation, sharedWith: candidates.filter(op => op !== operation) }
}

/** Why every request from this user fails before authorization, or undefined when some credential still works. */
function authenticationRefusal (u: UserRecord, now: Date): string | undefined {
  if (!u.enabled) return `user ${u.name} is disabled: every request is refused before authorization`
  const credentials = [...u.keys, ...(u.serviceAccounts ?? [])]
  // A user without any key may be about to get one; explain then answers for that key.
  if (credentials.length && !credentials.some(c => effectiveStatus(c, now) === 'Active')) return `every access key of user ${u.name} is inactive or expired: every request is refused before authorization`
  return undefined
}

async function principalFor (s: AdminServices, name: string): Promise<Principal> {
  if (name === 'anonymous') return anonymousPrincipal(s.config.anonymousUid, s.config.anonymousGid)
  const u = s.state.snapshot().users[name]
  if (!u) throw new AdminError(`user "${name}" does not exist (see: bridgectl users list)`)
  return userPrincipal(u, await supplementaryGroups(u.uid, u.gid), s.config)
}

/** GetObjectAcl/PutObjectAcl's filesystem layer: search on the folders, then the ACP permission on the file. */
async function objectAcpLayer (bucket: BucketRecord, key: ObjectKey, principal: Principal, need: 'READ_ACP' | 'WRITE_ACP', config: AdminServices['config']): Promise<LayerVerdict & { isMissing: boolean }> {
  const search = await checkSearchPath(bucket.path, keySegments(key), principal, { rootHasRights: principal.hasRootRights })
  if (!search.allowed) return { layer: 'filesystem', verdict: 'deny', reason: `search on the folders of ${key}: ${search.reason}`, isMissing: search.isMissing }
  const stored = await readObjectAcl(keyToPath(bucket.path, key)).catch(() => undefined)
  if (stored === undefined) return { layer: 'filesystem', verdict: 'deny', reason: `${key}: no such object`, isMissing: true }
  const allowed = objectAcpAllowed(principal, need, stored, bucket, config)
  return { layer: 'filesystem', verdict: allowed ? 'allow' : 'deny', reason: `${need} on ${key} (owner uid ${stored.uid}): ${allowed ? 'granted' : 'not granted: only the file\'s owner, root with root rights or a stored ' + need + ' or FULL_CONTROL grant'}`, isMissing: false }
}

const explain: Command = {
  summary: 'explain which layer allows or denies an S3 action for a user (or anonymous)',
  usage: 'explain USER|anonymous BUCKET [KEY] ACTION [--https] [--source-ip IP] [--json]',
  async run (args, s) {
    const bare = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--source-ip')
    const { values, positionals } = parse(args, { https: { type: 'boolean' }, 'source-ip': { type: 'string' } }, bare.length >= 4 ? ['USER', 'BUCKET', 'KEY', 'ACTION'] : ['USER', 'BUCKET', 'ACTION'])
    const isHttps = values.https === true
    const sourceIp = values['source-ip'] as string | undefined
    if (sourceIp !== undefined && isIP(sourceIp) === 0) throw new UsageError(`--source-ip "${sourceIp}" is not an IP address`)
    const [userName, bucketName] = positionals as [string, string]
    const key = positionals.length === 4 ? positionals[2] : undefined
    const state = s.state.snapshot()
    const bucket = state.buckets[bucketName]
    if (!bucket) throw new AdminError(`bucket "${bucketName}" does not exist (see: bridgectl buckets list)`)
    const { operation, sharedWith } = operationOf(positionals[positionals.length - 1]!, bucket.path, key)
    // Without a key there is no file to check, and an ALLOWED would stand for the policy and bucket ACL alone.
    if (key === undefined && OPERATION_ACCESS[operation]?.resource === 'object') {
      throw new UsageError(`${operation} acts on an object: name its key (explain USER BUCKET KEY ${positionals[positionals.length - 1]!})`)
    }
    const also = sharedWith.length ? ` (the action also covers ${sharedWith.join(', ')}; this one needs the most)` : ''
    const principal = await principalFor(s, userName)
    const now = s.now()
    const user = state.users[userName]
    const refusal = principal.kind === 'user' && user ? authenticationRefusal(user, now) : undefined
    if (refusal !== undefined) {
      // Same exit status as any other DENIED: explain reports, it does not fail.
      const layers = [{ layer: 'authentication', verdict: 'deny', reason: refusal }]
      emit(s.out, { principal: userName, operation, sharedWith, bucket: bucketName, key, allowed: false, layers }, () =>
        `${operation} on ${bucketName}${key !== undefined ? '/' + key : ''} as ${userName}${also}\n  authentication DENY ${refusal}\n=> DENIED\n`)
      return
    }
    const identity = principal.kind === 'user' ? identityPolicies(state, principal.name) : []
    // The object's own tags are part of the request as the daemon would judge it (s3:ExistingObjectTag/<key>).
    const tagUse = tagKeyUse([...identity.map(l => l.doc), bucketPolicyOf(bucket)])
    const tagKeys = tagUse.existing && key !== undefined ? await existingTagConditions({ name: bucket.name, root: bucket.path }, key as ObjectKey, operation) : {}
    const query = {
      operation,
      bucket,
      key,
      principal,
      // The request explain imagines: only these keys; a condition on any other (a header, the prefix) sees it absent.
      conditionKeys: {
        'aws:currenttime': now.toISOString(), 'aws:epochtime': String(Math.floor(now.getTime() / 1000)), 'aws:securetransport': String(isHttps),
        ...(sourceIp === undefined ? {} : { 'aws:sourceip': sourceIp }),
        ...tagKeys,
      },
      identityPolicies: identity,
      fs: fsNeedsFor(operation, bucket.path, key),
      gidOf: gidOfGroup,
      publicIds: publicIdsOf(s.config),
      posix: posixLayerFor(principal),
    }
    let decision = await authorize(query)
    // The object-ACL calls ask READ_ACP or WRITE_ACP of the file (after search on its folders), as the daemon does.
    const acp = operation === 'GetObjectAcl' ? 'READ_ACP' : operation === 'PutObjectAcl' ? 'WRITE_ACP' : undefined
    if (decision.allowed && acp !== undefined && key !== undefined) {
      const layer = await objectAcpLayer(bucket, key as ObjectKey, principal, acp, s.config)
      decision = { ...decision, allowed: layer.verdict === 'allow', isMissing: layer.isMissing, layers: [...decision.layers, layer] }
    }
    // An operation that needs a second action (GetObjectAttributes: s3:GetObject) is allowed only if that is too.
    const alsoAction = OPERATION_ACCESS[operation]?.alsoAction
    if (decision.allowed && alsoAction !== undefined) {
      const second = await authorize({ ...query, action: alsoAction, fs: [] })
      decision = { ...decision, allowed: second.allowed, layers: [...decision.layers, ...second.layers.filter(l => l.layer === 'policy' || !second.allowed)] }
    }
    const who = principal.kind === 'user' ? `${principal.name} (uid ${principal.uid}, gid ${principal.gid}, groups ${principal.groups.join(',')})` : `anonymous (uid ${principal.uid}, gid ${principal.gid})`
    const line = (l: LayerVerdict): string => `  ${l.layer.padEnd(11)} ${l.verdict.toUpperCase().padEnd(5)} ${l.reason}`
    // Said, because a policy condition on anything else (a header, the prefix, the time of a real request) may
    // decide differently for the real request.
    const tagNote = Object.keys(tagKeys).length ? `, the object's tags as it has them now (${Object.entries(tagKeys).map(([k, v]) => `${k.slice('s3:existingobjecttag/'.length)}=${String(v)}`).join(', ')})` : ''
    const assumed = `${isHttps ? 'HTTPS' : 'plain HTTP'}, ${sourceIp === undefined ? 'no source IP' : `from ${sourceIp}`}, no request headers or query (policy conditions on them see them absent; --https, --source-ip IP)${tagNote}`
    emit(s.out, { principal: who, operation, sharedWith, bucket: bucketName, key, request: assumed, allowed: decision.allowed, layers: decision.layers }, () =>
      `${operation} on ${bucketName}${key !== undefined ? '/' + key : ''} as ${who}${also}\n  request     ${assumed}\n${decision.layers.map(line).join('\n')}\n=> ${decision.allowed ? 'ALLOWED' : 'DENIED'}${decision.isMissing ? ' (the path does not exist)' : ''}\n`)
  },
}

export const explainCommands: Record<string, Command> = { explain }
