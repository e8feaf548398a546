// bridgectl buckets: map directories as buckets, list, view, modify (ACEs, object ACL policy), delete.
import { chmodSync, chownSync, existsSync, mkdirSync, realpathSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { PUBLIC_ACCESS_BLOCK_ELEMENTS, storedPublicAccessBlock } from '../../access/public-access-block.js'
import { storedOwnershipControls } from '../../access/object-ownership.js'
import { storedLifecycle } from '../../config/lifecycle-rules.js'
import { bucketNameProblem } from '../../state/bucket-names.js'
import { bucketPathProblem, canonicalPath } from '../../state/bucket-paths.js'
import type { BucketAce, BucketPermission, BucketRecord, State } from '../../state/types.js'
import { gidOfGroup } from '../../auth/groups.js'
import { AdminError, emit, fields, table, UsageError } from '../output.js'
import { parse } from '../parse-args.js'
import type { AdminServices, Command } from '../services.js'
import { bucketOf } from '../lookups.js'
import { ADMIN_ANSWER_MS, mountPointOfSync, rootProblemWithin, swappableParent } from '../../storage/bucket-roots.js'

const PERMS: Record<string, BucketPermission> = { read: 'READ', write: 'WRITE', read_acp: 'READ_ACP', write_acp: 'WRITE_ACP', full_control: 'FULL_CONTROL' }

/** Parses OneFS's ACE syntax: "name=peter,type=user,perm=write". */
export function parseAce (text: string): BucketAce {
  const parts = Object.fromEntries(text.split(',').map(p => p.split('=').map(s => s.trim()) as [string, string]))
  const { name, type, perm } = parts
  if (!name || !type || !perm) throw new UsageError(`ACE "${text}" must look like name=peter,type=user,perm=write`)
  if (type !== 'user' && type !== 'group' && type !== 'wellknown') throw new UsageError(`ACE type "${type}" must be user, group or wellknown`)
  if (type === 'wellknown' && name !== 'everyone' && name !== 'authenticated') throw new UsageError('wellknown ACE names are everyone and authenticated')
  const permission = PERMS[perm.toLowerCase()]
  if (!permission) throw new UsageError(`ACE perm "${perm}" must be one of ${Object.keys(PERMS).join(', ')}`)
  return { name, type, permission }
}

function ownerExists (s: AdminServices, owner: string): void {
  if (!s.state.snapshot().users[owner]) throw new AdminError(`user "${owner}" does not exist; create it first with: bridgectl users create ${owner} --uid N --gid N`)
}

/**
 * Makes path and its missing parents, each with exactly mode (chmod after mkdir: the umask would cut group
 * write). The bucket directory itself belongs to the bucket owner, so the owner can write to the new bucket; the
 * parents made for it stay root's: whoever owns a bucket root's parent can rename the root away and put a symlink
 * in its place. Folders that existed stay as they are. chmod comes before chown: a chown keeps a folder's setgid
 * bit, a chmod by a process outside its group may drop it.
 */
function makeBucketDirectory (path: string, mode: number, owner: { uid: number, gid: number }): void {
  const missing: string[] = []
  for (let p = path; !existsSync(p) && p !== dirname(p); p = dirname(p)) missing.unshift(p)
  for (const dir of missing) {
    mkdirSync(dir, { mode })
    chmodSync(dir, mode)
    if (dir === path) chownSync(dir, owner.uid, owner.gid)
  }
}

/** "ok", or "unavailable: why" as the daemon would see it now (lib/storage/bucket-roots.ts). */
async function availability (b: BucketRecord): Promise<string> {
  const problem = await rootProblemWithin(b, ADMIN_ANSWER_MS)
  return problem === undefined ? 'ok' : `unavailable: ${problem}`
}

const create: Command = {
  summary: 'map an existing directory as a bucket',
  usage: 'buckets create NAME PATH [--owner USER] [--create-path] [--object-acl-policy replace|deny]',
  async run (args, s) {
    const { values, positionals } = parse(args, { owner: { type: 'string' }, 'create-path': { type: 'boolean' }, 'object-acl-policy': { type: 'string' } }, ['NAME', 'PATH'])
    const [name, rawPath] = positionals as [string, string]
    const problem = bucketNameProblem(name)
    if (problem) throw new AdminError(`invalid bucket name "${name}": the name ${problem}`)
    const owner = (values.owner as string | undefined) ?? 'root'
    if (owner !== 'root') ownerExists(s, owner)
    const policy = (values['object-acl-policy'] as string | undefined) ?? 'replace'
    if (policy !== 'replace' && policy !== 'deny') throw new UsageError('--object-acl-policy must be replace or deny')
    const path = resolve(rawPath)
    const refuseOverlap = (buckets: Record<string, BucketRecord>): void => {
      const target = canonicalPath(path)
      const problem = bucketPathProblem(target, { stateDir: s.config.stateDir, buckets })
      if (problem) throw new AdminError(`path "${target}" ${problem}: a bucket needs a directory of its own`)
    }
    refuseOverlap(s.state.snapshot().buckets) // before --create-path makes anything
    let st = statSync(path, { throwIfNoEntry: false })
    if (!st) {
      if (!values['create-path']) throw new AdminError(`path "${path}" does not exist; create it, or pass --create-path`)
      const user = s.state.snapshot().users[owner]
      makeBucketDirectory(path, s.config.bucketDirectoryCreateMode, user ? { uid: user.uid, gid: user.gid } : { uid: 0, gid: 0 })
      st = statSync(path)
    }
    if (!st.isDirectory()) throw new AdminError(`path "${path}" is not a directory`)
    const real = realpathSync(path)
    const swappable = await swappableParent(real)
    if (swappable !== undefined) throw new AdminError(`path "${real}": ${swappable}`)
    const mountPoint = mountPointOfSync(real)
    await s.state.mutate(state => {
      if (state.buckets[name]) throw new AdminError(`bucket "${name}" already exists (path ${state.buckets[name]!.path})`)
      refuseOverlap(state.buckets)
      state.buckets[name] = { name, path: real, mountPoint, owner, createdAt: s.now().toISOString(), createdByS3: false, acl: [], objectAclPolicy: policy }
    })
    const ownerUser = s.state.snapshot().users[owner]
    const dir = statSync(real)
    // The bucket's owner writes as its own uid: a directory it may not write is mapped all the same (an admin may
    // mean it read-only), but said, since its uploads would all be 403 (walkthrough 23 #9).
    const note = ownerUser !== undefined && !mayWrite(dir, ownerUser.uid, ownerUser.gid)
      ? `note: ${real} is uid ${dir.uid}, gid ${dir.gid}, mode ${(dir.mode & 0o7777).toString(8)}: ${owner} (uid ${ownerUser.uid}) may not write in it, so its uploads will be refused; chown it if ${owner} should write\n`
      : ''
    emit(s.out, { name, path: real, owner, mountPoint }, () => `created bucket ${name} -> ${real} (owner ${owner}; on the filesystem mounted at ${mountPoint})\n${note}`)
  },
}

/** Write and search by the mode bits alone (ACLs and supplementary groups aside: a hint, not the permission check). */
function mayWrite (st: { uid: number, gid: number, mode: number }, uid: number, gid: number): boolean {
  if (uid === 0) return true
  const bits = st.uid === uid ? (st.mode >> 6) & 7 : st.gid === gid ? (st.mode >> 3) & 7 : st.mode & 7
  return (bits & 3) === 3
}

const list: Command = {
  summary: 'list buckets',
  usage: 'buckets list [--json]',
  async run (args, s) {
    parse(args, {}, [])
    const records = Object.values(s.state.snapshot().buckets).sort((a, b) => a.name < b.name ? -1 : 1)
    const buckets = await Promise.all(records.map(async b => ({ ...b, status: await availability(b) })))
    emit(s.out, buckets, () => table(buckets.map(b => ({ name: b.name, path: b.path, owner: b.owner, acl_policy: b.objectAclPolicy, status: b.status, created: b.createdAt })), ['name', 'path', 'owner', 'acl_policy', 'status', 'created']))
  },
}

const view: Command = {
  summary: 'show one bucket',
  usage: 'buckets view NAME [--json]',
  async run (args, s) {
    const { positionals } = parse(args, {}, ['NAME'])
    const b = bucketOf(s.state.snapshot(), positionals[0]!)
    const { policy, cors, publicAccessBlock, lifecycle, ownershipControls, ...rest } = b
    const rules = storedLifecycle(lifecycle)?.rules ?? []
    const blocked = PUBLIC_ACCESS_BLOCK_ELEMENTS.filter(([, field]) => storedPublicAccessBlock(publicAccessBlock)?.[field] === true).map(([element]) => element)
    const status = await availability(b)
    emit(s.out, { ...b, status }, () => fields({ ...rest, mountPoint: b.mountPoint ?? '(not recorded: see buckets modify --record-mount)', status, acl: b.acl.map(a => `${a.type}:${a.name}:${a.permission}`).join(' ') || '(none)', policy: policy ? 'yes' : 'no', cors: cors ? 'yes' : 'no', publicAccessBlock: publicAccessBlock === undefined ? '(none)' : blocked.join(' ') || '(all off)', objectOwnership: storedOwnershipControls(ownershipControls)?.objectOwnership ?? '(none: files are their writers\')', lifecycle: rules.length === 0 ? '(none)' : `${rules.filter(r => r.status === 'Enabled').length} of ${rules.length} rules enabled: ${rules.map(r => r.id).join(', ')}` }))
  },
}

/**
 * ACEs name users and groups, resolved only when a request is checked: a typo would grant nothing, and a name
 * added before its user exists would grant to whoever gets that name later. So a user must be a bridge user and a
 * group must resolve through NSS now; a numeric gid is taken as it is.
 */
function refuseUnknownGrantee (ace: BucketAce, state: State): void {
  if (ace.type === 'user' && !state.users[ace.name]) throw new AdminError(`ACE user "${ace.name}" is not a bridge user (see: bridgectl users list)`)
  if (ace.type === 'group' && !/^\d+$/.test(ace.name) && gidOfGroup(ace.name) === undefined) throw new AdminError(`ACE group "${ace.name}" is not known to NSS (getent group ${ace.name}); use an existing group name or a numeric gid`)
}

const modify: Command = {
  summary: 'change a bucket\'s ACL entries, object ACL policy, owner or recorded mount point',
  usage: 'buckets modify NAME [--add-ace "name=N,type=user|group|wellknown,perm=P"]... [--remove-ace ACE]... [--object-acl-policy replace|deny] [--owner USER] [--record-mount]',
  async run (args, s) {
    const { values, positionals } = parse(args, { 'add-ace': { type: 'string', multiple: true }, 'remove-ace': { type: 'string', multiple: true }, 'object-acl-policy': { type: 'string' }, owner: { type: 'string' }, 'record-mount': { type: 'boolean' } }, ['NAME'])
    const name = positionals[0]!
    const add = ((values['add-ace'] as string[] | undefined) ?? []).map(parseAce)
    const remove = ((values['remove-ace'] as string[] | undefined) ?? []).map(parseAce)
    const policy = values['object-acl-policy'] as string | undefined
    if (policy !== undefined && policy !== 'replace' && policy !== 'deny') throw new UsageError('--object-acl-policy must be replace or deny')
    const owner = values.owner as string | undefined
    if (owner !== undefined && owner !== 'root') ownerExists(s, owner)
    // --record-mount: the directory now lives on another filesystem on purpose (data moved to a new disk or export).
    let mountPoint: string | undefined
    if (values['record-mount']) {
      const path = s.state.snapshot().buckets[name]?.path
      if (path === undefined) throw new AdminError(`bucket "${name}" does not exist (see: bridgectl buckets list)`)
      const st = statSync(path, { throwIfNoEntry: false })
      if (!st?.isDirectory()) throw new AdminError(`bucket "${name}": its directory ${path} is missing or not a directory; mount its filesystem first`)
      mountPoint = mountPointOfSync(path)
    }
    if (!add.length && !remove.length && !policy && !owner && mountPoint === undefined) throw new UsageError('nothing to change: give --add-ace, --remove-ace, --object-acl-policy, --owner or --record-mount')
    const same = (a: BucketAce, b: BucketAce): boolean => a.name === b.name && a.type === b.type && a.permission === b.permission
    const result = await s.state.mutate(state => {
      const b = state.buckets[name]
      if (!b) throw new AdminError(`bucket "${name}" does not exist (see: bridgectl buckets list)`)
      // As PutBucketAcl answers AccessControlListNotSupported there: entries would grant nothing, and would come into
      // force unseen the day the setting is removed.
      if (add.length && storedOwnershipControls(b.ownershipControls)?.objectOwnership === 'BucketOwnerEnforced') {
        throw new AdminError(`bucket "${name}" has S3 Object Ownership BucketOwnerEnforced: ACLs are off, so no ACE can be added (remove the setting first: aws s3api delete-bucket-ownership-controls)`)
      }
      for (const r of remove) {
        if (!b.acl.some(a => same(a, r))) throw new AdminError(`bucket "${name}" has no ACE ${r.type}:${r.name}:${r.permission}`)
        b.acl = b.acl.filter(a => !same(a, r))
      }
      for (const a of add) {
        refuseUnknownGrantee(a, state)
        if (!b.acl.some(x => same(x, a))) b.acl.push(a)
      }
      if (policy) b.objectAclPolicy = policy
      if (owner) b.owner = owner
      if (mountPoint !== undefined) b.mountPoint = mountPoint
      return b
    })
    emit(s.out, result, () => `modified bucket ${name}\n`)
  },
}

const remove: Command = {
  summary: 'unmap a bucket (the directory and its files stay)',
  usage: 'buckets delete NAME',
  async run (args, s) {
    const { positionals } = parse(args, {}, ['NAME'])
    const name = positionals[0]!
    await s.state.mutate(state => {
      if (!state.buckets[name]) throw new AdminError(`bucket "${name}" does not exist (see: bridgectl buckets list)`)
      delete state.buckets[name]
    })
    emit(s.out, { deleted: name }, () => `unmapped bucket ${name}; its directory and files are untouched\n`)
  },
}

interface CorsRuleRow { id?: string, allowedOrigins: string[], allowedMethods: string[], allowedHeaders: string[], exposeHeaders: string[], maxAgeSeconds?: number }

const cors: Command = {
  summary: 'show the CORS rules a bucket answers browsers with (set them with S3 PutBucketCors)',
  usage: 'buckets cors NAME [--json]',
  async run (args, s) {
    const { positionals } = parse(args, {}, ['NAME'])
    const b = bucketOf(s.state.snapshot(), positionals[0]!)
    // The HTTP layer validated these rules before storing them (lib/http/cors.ts).
    const rules = ((b.cors as { rules?: CorsRuleRow[] } | undefined)?.rules ?? [])
    emit(s.out, { bucket: b.name, rules }, () => rules.length === 0
      ? `bucket ${b.name} has no CORS configuration (cross-origin access follows the daemon's defaultCors)\n`
      : table(rules.map((r, i) => ({
        rule: i + 1,
        id: r.id,
        origins: r.allowedOrigins.join(' '),
        methods: r.allowedMethods.join(' '),
        headers: r.allowedHeaders.join(' ') || undefined,
        expose: r.exposeHeaders.join(' ') || undefined,
        max_age: r.maxAgeSeconds,
      })), ['rule', 'id', 'origins', 'methods', 'headers', 'expose', 'max_age']))
  },
}

export const bucketCommands: Record<string, Command> = { create, list, view, modify, cors, delete: remove }
