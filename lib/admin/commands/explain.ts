// bridgectl explain: which layer allows or denies a user's S3 request, and why (policy, bucket ACL, each folder, the file).
import { authorize, type LayerVerdict } from '../../access/authorize.js'
import { fsNeedsFor } from '../../access/fs-needs.js'
import { OPERATION_ACCESS } from '../../access/actions.js'
import { identityPolicies } from '../../access/policy-cache.js'
import { supplementaryGroups } from '../../auth/identity.js'
import { anonymousPrincipal, userPrincipal, type Principal } from '../../auth/principal.js'
import { gidOfGroup } from '../../auth/groups.js'
import { posixAccess } from '../../storage/posix-access.js'
import { AdminError, emit, UsageError } from '../output.js'
import { parse } from '../parse-args.js'
import type { AdminServices, Command } from '../services.js'

/** Accepts an operation name (GetObject) or an IAM action (s3:GetObject) and returns the operation. */
function operationOf (action: string): string {
  if (Object.hasOwn(OPERATION_ACCESS, action)) return action
  const byAction = Object.entries(OPERATION_ACCESS).find(([, a]) => a.action.toLowerCase() === action.toLowerCase())
  if (byAction) return byAction[0]
  throw new UsageError(`unknown action "${action}": use an S3 operation such as GetObject, PutObject, DeleteObject, ListObjectsV2, or an IAM action such as s3:GetObject`)
}

async function principalFor (s: AdminServices, name: string): Promise<Principal> {
  if (name === 'anonymous') return anonymousPrincipal(s.config.anonymousUid, s.config.anonymousGid)
  const u = s.state.snapshot().users[name]
  if (!u) throw new AdminError(`user "${name}" does not exist (see: bridgectl users list)`)
  return userPrincipal(u, await supplementaryGroups(u.uid, u.gid), s.config)
}

const explain: Command = {
  summary: 'explain which layer allows or denies an S3 action for a user (or anonymous)',
  usage: 'explain USER|anonymous BUCKET [KEY] ACTION [--json]',
  async run (args, s) {
    const bare = args.filter(a => !a.startsWith('--'))
    const { positionals } = parse(args, {}, bare.length >= 4 ? ['USER', 'BUCKET', 'KEY', 'ACTION'] : ['USER', 'BUCKET', 'ACTION'])
    const [userName, bucketName] = positionals as [string, string]
    const key = positionals.length === 4 ? positionals[2] : undefined
    const operation = operationOf(positionals[positionals.length - 1]!)
    const state = s.state.snapshot()
    const bucket = state.buckets[bucketName]
    if (!bucket) throw new AdminError(`bucket "${bucketName}" does not exist (see: bridgectl buckets list)`)
    const principal = await principalFor(s, userName)
    const now = s.now()
    const decision = await authorize({
      operation,
      bucket,
      key,
      principal,
      conditionKeys: { 'aws:currenttime': now.toISOString(), 'aws:epochtime': String(Math.floor(now.getTime() / 1000)), 'aws:securetransport': 'false' },
      identityPolicies: principal.kind === 'user' ? identityPolicies(state, principal.name) : [],
      fs: fsNeedsFor(operation, bucket.path, key),
      gidOf: gidOfGroup,
      posix: root => posixAccess({ bucketRoot: root, principal, rootHasRights: principal.hasRootRights }),
    })
    const who = principal.kind === 'user' ? `${principal.name} (uid ${principal.uid}, gid ${principal.gid}, groups ${principal.groups.join(',')})` : `anonymous (uid ${principal.uid}, gid ${principal.gid})`
    const line = (l: LayerVerdict): string => `  ${l.layer.padEnd(11)} ${l.verdict.toUpperCase().padEnd(5)} ${l.reason}`
    emit(s.out, { principal: who, operation, bucket: bucketName, key, allowed: decision.allowed, layers: decision.layers }, () =>
      `${operation} on ${bucketName}${key !== undefined ? '/' + key : ''} as ${who}\n${decision.layers.map(line).join('\n')}\n=> ${decision.allowed ? 'ALLOWED' : 'DENIED'}${decision.isMissing ? ' (the path does not exist)' : ''}\n`)
  },
}

export const explainCommands: Record<string, Command> = { explain }
