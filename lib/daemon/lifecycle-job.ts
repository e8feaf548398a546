// The lifecycle job: once a day, each bucket's enabled rules expire the objects (files) and abort the multipart
// uploads that are due. It acts for the bucket's owner, through the whole permission model (the owner's policies,
// the bucket policy, the filesystem): a file the owner could not delete with DeleteObject stays.
import { closeSync } from 'node:fs'
import { lstat, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ACCOUNT_ID, authorize } from '../access/authorize.js'
import { deleteNeed, keyPath } from '../access/fs-needs.js'
import { identityPolicies } from '../access/policy-cache.js'
import { publicIdsOf } from '../access/public-access-block.js'
import { gidOfGroup } from '../auth/groups.js'
import { supplementaryGroups } from '../auth/identity.js'
import { userPrincipal, type Principal } from '../auth/principal.js'
import { dueAt, isDue, ruleCovers, storedLifecycle, type LifecycleRule } from '../config/lifecycle-rules.js'
import { tryLock, writeAtomic } from '../state/store.js'
import type { BucketRecord, State } from '../state/types.js'
import { listObjects } from '../storage/listing.js'
import { liveUploads } from '../storage/multipart-list.js'
import { abortUpload } from '../storage/multipart.js'
import { deleteObject, type BucketRef } from '../storage/objects.js'
import { checkFolderForWrite, posixLayerFor } from '../storage/posix-access.js'
import type { ObjectInfo } from '../storage/types.js'
import { FolderDates, loadFolderTable, saveFolderTable } from './lifecycle-folders.js'
import type { JobDeps } from './scheduled-jobs.js'

/** Counts of one run, and the first keys expired (for the log and tests; a run may delete millions). */
export interface LifecycleRun {
  expired: number, aborted: number, kept: number, sample: string[]
  /** Buckets with enabled rules this run applied (or tried to); those whose directory it could not see are not. */
  applied: string[]
}
const SAMPLE_KEYS = 100

/** Thrown by the delete's guard: the key holds another file than the one the rule judged (rewritten meanwhile). */
class Changed extends Error {}

/**
 * A prefix that can cover no key of this bucket (a folder part with `.`, `..` or an empty segment, a leading `/`,
 * the staging folder): the listing would read outside the bucket, or under names no key has. Such a rule acts on
 * nothing (AWS accepts any prefix; so does PUT here).
 */
function isWalkablePrefix (prefix: string): boolean {
  const folders = prefix.split('/').slice(0, -1)
  return !prefix.startsWith('/') && folders.every(s => s !== '' && s !== '.' && s !== '..') && folders[0] !== '.s3bridge' && !prefix.includes('\0')
}

/** The bucket owner as a principal (its NSS groups), or undefined when the owner is no enabled bridge user. */
async function ownerOf (d: JobDeps, bucket: BucketRecord): Promise<Principal | undefined> {
  const user = d.state.snapshot().users[bucket.owner]
  if (user === undefined || !user.enabled) return undefined
  return userPrincipal(user, await supplementaryGroups(user.uid, user.gid), d.config)
}

/**
 * The state as it is now, if the rule still stands as the run found it: the same bucket (name and createdAt), the
 * rule by its ID, enabled and unchanged, the same owner, still enabled, with the uid, gid and role the run acts
 * with. Asked before every delete (the state is in memory), so a DeleteBucketLifecycle, a rule disabled or an owner
 * disabled or re-mapped stops a run under way (AWS: removed or disabled rules stop acting); the bucket record and
 * the owner's policies returned are the current ones, so a Deny set meanwhile binds the next delete.
 */
function stillStands (d: JobDeps, bucket: BucketRecord, rule: LifecycleRule, owner?: Principal): { state: State, bucket: BucketRecord } | undefined {
  const state = d.state.snapshot()
  const now = state.buckets[bucket.name]
  if (now === undefined || now.createdAt !== bucket.createdAt || now.owner !== bucket.owner) return undefined
  const current = storedLifecycle(now.lifecycle)?.rules.find(r => r.id === rule.id)
  if (current === undefined || current.status !== 'Enabled' || JSON.stringify(current) !== JSON.stringify(rule)) return undefined
  const user = state.users[bucket.owner]
  if (user === undefined || !user.enabled) return undefined
  if (owner !== undefined) {
    const as = userPrincipal(user, owner.groups, d.config)
    if (as.uid !== owner.uid || as.gid !== owner.gid || as.role !== owner.role) return undefined
  }
  return { state, bucket: now }
}

/**
 * The job's request context for policy conditions: now, over no network, on the owner's behalf by the service
 * (aws:ViaAWSService true: a Deny a policy means for network clients, such as a LAN-only `NotIpAddress`, can exempt
 * the job with `"Bool": {"aws:ViaAWSService": "false"}`, as AWS's own services are exempted).
 */
function jobConditionKeys (now: Date): Record<string, string> {
  return {
    'aws:currenttime': now.toISOString(),
    'aws:epochtime': String(Math.floor(now.getTime() / 1000)),
    'aws:securetransport': 'true',
    'aws:viaawsservice': 'true',
    'aws:principalisawsservice': 'false',
    's3:resourceaccount': ACCOUNT_ID,
    'aws:resourceaccount': ACCOUNT_ID,
  }
}

/** At most this many "stays" lines per rule and run; then a count (a share can hold millions of such files). */
const KEPT_LINES = 20

/**
 * When the file at a key began to be what it is here: the later of its mtime and its ctime, rounded up to the
 * millisecond, and of when each folder on its path arrived (lifecycle-folders.ts). A file moved, untarred or
 * rsynced into the prefix keeps an old mtime, but the move sets its ctime; a folder moved in sets neither on its
 * files, so the folders count too. It is new here, as AWS counts from the object's creation; a later date can only
 * delay an expiry, never advance it.
 */
async function madeAtMs (root: string, key: string, folders: FolderDates): Promise<number> {
  try {
    const st = await lstat(join(root, keyPath(key)), { bigint: true })
    const ns = st.ctimeNs > st.mtimeNs ? st.ctimeNs : st.mtimeNs
    return Math.max(Number((ns + 999_999n) / 1_000_000n), await folders.ofKey(key))
  } catch {
    return NaN // not known: never due (the job errs towards keeping)
  }
}

function sameFile (seen: ObjectInfo, current: ObjectInfo | undefined, isOtherFile?: boolean): boolean {
  return current === undefined || (isOtherFile !== true && current.lastModified.getTime() === seen.lastModified.getTime() && current.size === seen.size && current.etag === seen.etag)
}

/** Returns whether the rule's prefix was listed to its end (a run stopped by a changed rule or owner was not). */
async function expireByRule (d: JobDeps, bucket: BucketRecord, owner: Principal, rule: LifecycleRule, run: LifecycleRun, folders: FolderDates): Promise<boolean> {
  const expiration = rule.expiration
  if (expiration === undefined || (expiration.days === undefined && expiration.date === undefined)) return true
  if (!isWalkablePrefix(rule.scope.prefix)) {
    d.log.warn({ job: 'lifecycle', bucket: bucket.name, rule: rule.id, prefix: rule.scope.prefix }, 'lifecycle: the rule\'s prefix can name no key of the bucket; it acts on nothing')
    return true
  }
  const ref: BucketRef = { name: bucket.name, root: bucket.path }
  const now = d.now()
  let keptLines = 0
  const kept = (key: string, fields: Record<string, unknown>, msg: string): void => {
    run.kept++
    if (++keptLines <= KEPT_LINES) d.log.warn({ job: 'lifecycle', bucket: ref.name, key, rule: rule.id, ...fields }, msg)
  }
  const checkFolder = async (dir: Parameters<typeof checkFolderForWrite>[2], want: Parameters<typeof checkFolderForWrite>[3]): Promise<void> => {
    if (!(await checkFolderForWrite(owner, owner.hasRootRights, dir, want)).allowed) throw new Changed()
  }
  // The folders on the way to the prefix go into the table whatever keys it holds, so a swap of one is seen.
  await folders.ofKey(rule.scope.prefix)
  let after: string | undefined
  for (;;) {
    if (stillStands(d, bucket, rule, owner) === undefined) return false
    const page = await listObjects(ref, { prefix: rule.scope.prefix, maxKeys: 1000, after })
    for (const info of page.objects) {
      // Every folder the walk passes goes into the table, due files or not: the next run tells arrivals by it.
      await folders.ofKey(info.key)
      // Folder markers are folders on the NAS: expiring one would clear a mark, not free anything; they stay.
      if (info.isDirectoryMarker || !ruleCovers(rule.scope, info, info.meta.tags ?? [])) continue
      if (!isDue(dueAt(expiration, info.lastModified.getTime()), now)) continue
      if (!isDue(dueAt(expiration, await madeAtMs(ref.root, info.key, folders)), now)) continue
      const current = stillStands(d, bucket, rule, owner)
      if (current === undefined) return false
      // The owner's DeleteObject, judged as one over S3 would be: its policies and the bucket policy as they are now
      // (a Deny on s3:DeleteObject binds the job too), the bucket ACL, and the filesystem for its uid, gid and groups.
      const decision = await authorize({
        operation: 'DeleteObject', bucket: current.bucket, key: info.key, principal: owner, conditionKeys: jobConditionKeys(now),
        identityPolicies: identityPolicies(current.state, owner.name), fs: [deleteNeed(ref.root, info.key)], gidOf: gidOfGroup,
        publicIds: publicIdsOf(d.config), posix: posixLayerFor(owner),
      })
      if (!decision.allowed) {
        if (decision.isMissing) continue // gone meanwhile
        const denied = decision.layers.find(l => l.verdict === 'deny')
        kept(info.key, { reason: denied ? `${denied.layer}: ${denied.reason}` : 'denied' }, 'lifecycle: the bucket owner may not delete this object; it stays')
        continue
      }
      try {
        await deleteObject(ref, info.key, undefined, checkFolder, (current, isOtherFile) => { if (!sameFile(info, current, isOtherFile)) throw new Changed() })
        run.expired++
        if (run.sample.length < SAMPLE_KEYS) run.sample.push(info.key)
      } catch (err) {
        // One key that cannot go (rewritten since it was listed, an immutable file, a read-only snapshot folder)
        // stays, named in the log; the rest of the rule goes on.
        if (err instanceof Changed) run.kept++
        else kept(info.key, { err: (err as Error).message }, 'lifecycle: could not delete this object; it stays')
      }
    }
    if (!page.isTruncated || page.lastReturned === undefined) break
    after = page.lastReturned
  }
  if (keptLines > KEPT_LINES) d.log.warn({ job: 'lifecycle', bucket: ref.name, rule: rule.id, kept: keptLines }, `lifecycle: ${keptLines} due objects stayed (the first ${KEPT_LINES} are named above)`)
  return true
}

/** This run's FolderDates from the last table (in a function of its own, so the parsed table is not kept by the run). */
async function folderDatesOf (d: JobDeps, bucket: BucketRecord, now: number): Promise<{ folders: FolderDates, unreadable?: string }> {
  const loaded = await loadFolderTable(d.config.stateDir, bucket.name, bucket.createdAt)
  return { folders: new FolderDates(bucket.path, loaded.state === 'ok' ? loaded.table : loaded.state === 'unreadable' ? 'unreadable' : undefined, now), unreadable: loaded.state === 'unreadable' ? loaded.reason : undefined }
}

/**
 * The bucket's expiration rules, each walked with one FolderDates; the folder table is kept only when every walk
 * reached its end (a partial walk would make the folders it missed look new at the next run).
 */
async function expireByRules (d: JobDeps, bucket: BucketRecord, owner: Principal, rules: readonly LifecycleRule[], run: LifecycleRun): Promise<void> {
  const now = d.now().getTime()
  // A table that is there but cannot be read (torn, edited, of another version): no folder's arrival is known, and
  // each counts as arrived now (FolderDates), so the rules' Days start again once for what lies in folders.
  const { folders, unreadable } = await folderDatesOf(d, bucket, now)
  if (unreadable !== undefined) d.log.warn({ job: 'lifecycle', bucket: bucket.name, reason: unreadable }, 'lifecycle: the folder table cannot be read; every folder counts as arrived today, and a new table is written')
  let complete = true
  for (const rule of rules) complete = await expireByRule(d, bucket, owner, rule, run, folders) && complete
  if (!complete) return
  const walked = [...new Set(rules.map(r => r.scope.prefix).filter(isWalkablePrefix))]
  try {
    await saveFolderTable(d.config.stateDir, bucket.name, folders.table(bucket.createdAt, walked))
  } catch (err) {
    // Without it the next run meets every folder for the first time (ctime later than mtime still counts).
    d.log.warn({ job: 'lifecycle', bucket: bucket.name, err: (err as Error).message }, 'lifecycle: could not keep the folder table')
  }
}

async function abortByRules (d: JobDeps, bucket: BucketRecord, rules: readonly LifecycleRule[], run: LifecycleRun): Promise<void> {
  const aborting = rules.filter(r => r.abortIncompleteMultipartUploadDays !== undefined)
  if (aborting.length === 0) return
  const ref: BucketRef = { name: bucket.name, root: bucket.path }
  const now = d.now()
  for (const upload of await liveUploads(ref.root)) {
    const rule = aborting.find(r => ruleCovers(r.scope, { key: upload.key, size: 0 }) && stillStands(d, bucket, r) !== undefined &&
      isDue(dueAt({ days: r.abortIncompleteMultipartUploadDays }, Date.parse(upload.initiated)), now))
    if (rule === undefined) continue
    try {
      await abortUpload(ref, upload.key, upload.uploadId)
      run.aborted++
    } catch { /* completed or aborted meanwhile */ }
  }
}

/** The buckets that have enabled lifecycle rules. */
function bucketsWithRules (d: JobDeps): Array<{ bucket: BucketRecord, rules: LifecycleRule[] }> {
  return Object.values(d.state.snapshot().buckets)
    .map(bucket => ({ bucket, rules: storedLifecycle(bucket.lifecycle)?.rules.filter(r => r.status === 'Enabled') ?? [] }))
    .filter(b => b.rules.length > 0)
}

/** Applies every bucket's enabled lifecycle rules once (or one bucket's), but those in `skip`. */
export async function applyLifecycle (d: JobDeps, only?: string, skip: ReadonlySet<string> = new Set()): Promise<LifecycleRun> {
  const run: LifecycleRun = { expired: 0, aborted: 0, kept: 0, sample: [], applied: [] }
  for (const { bucket, rules } of bucketsWithRules(d)) {
    if ((only !== undefined && bucket.name !== only) || skip.has(bucket.name)) continue
    if (await d.roots.verdict(bucket) !== undefined) continue // missing, unmounted or hung: not to be read, let alone pruned
    run.applied.push(bucket.name)
    const before = { ...run }
    const failed = (err: unknown): void => { d.log.warn({ job: 'lifecycle', bucket: bucket.name, err: (err as Error).message }, 'lifecycle: could not apply the rules') }
    try {
      const expiring = rules.filter(r => r.expiration?.days !== undefined || r.expiration?.date !== undefined)
      const owner = expiring.length > 0 ? await ownerOf(d, bucket) : undefined
      if (expiring.length > 0 && owner === undefined) d.log.warn({ job: 'lifecycle', bucket: bucket.name, owner: bucket.owner }, 'lifecycle: the bucket owner is no enabled bridge user; nothing is expired')
      if (owner !== undefined) await expireByRules(d, bucket, owner, expiring, run)
    } catch (err) { failed(err) }
    // Uploads are aborted whatever became of the expiry.
    try { await abortByRules(d, bucket, rules, run) } catch (err) { failed(err) }
    const counts = { expired: run.expired - before.expired, aborted: run.aborted - before.aborted, kept: run.kept - before.kept }
    if (counts.expired + counts.aborted + counts.kept > 0) d.log.info({ job: 'lifecycle', bucket: bucket.name, ...counts }, 'lifecycle rules applied')
  }
  return run
}

/**
 * One attempt at today's run: once per UTC day across every daemon sharing the state directory. Each takes a lock
 * in STATEDIR/lifecycle/ without waiting and applies the rules of the buckets no daemon has applied today (kept in
 * `last-run` with the day), so a cluster walks each bucket once, not once per host; a bucket this daemon cannot see
 * (not mounted on its host) is left to one that can. 'busy': another daemon holds the lock; 'done': every bucket
 * with rules has had its run today; otherwise this attempt's run, with the buckets still left in `pending`.
 */
export async function applyLifecycleOnceADay (d: JobDeps): Promise<(LifecycleRun & { pending: string[] }) | 'busy' | 'done'> {
  const dir = join(d.config.stateDir, 'lifecycle')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const fd = await tryLock(join(dir, 'run.lock'))
  if (fd === undefined) return 'busy'
  try {
    const day = d.now().toISOString().slice(0, 10)
    const done = new Set(await appliedOn(join(dir, 'last-run'), day))
    const left = (): string[] => bucketsWithRules(d).map(b => b.bucket.name).filter(n => !done.has(n))
    if (left().length === 0) return 'done'
    const run = await applyLifecycle(d, undefined, done)
    for (const name of run.applied) done.add(name)
    writeAtomic(join(dir, 'last-run'), JSON.stringify({ day, applied: [...done] }) + '\n')
    return { ...run, pending: left() }
  } finally {
    closeSync(fd)
  }
}

/** The buckets `last-run` says were applied on `day` (none if it is of another day, missing or unreadable). */
async function appliedOn (path: string, day: string): Promise<string[]> {
  try {
    const last = JSON.parse(await readFile(path, 'utf8')) as { day?: unknown, applied?: unknown }
    return last.day === day && Array.isArray(last.applied) ? last.applied.filter((n): n is string => typeof n === 'string') : []
  } catch {
    return []
  }
}

/**
 * The scheduled run. While another daemon holds the lock, or buckets with rules are left that this daemon cannot
 * see, it asks again every `pollMs` until every bucket had its run, the UTC day is over or the jobs stop: a daemon
 * that dies mid-run, or does not mount a bucket, leaves it to the others.
 */
export async function applyLifecycleToday (d: JobDeps, isStopped: () => boolean, pollMs = 60_000): Promise<void> {
  const day = d.now().toISOString().slice(0, 10)
  while (!isStopped() && d.now().toISOString().slice(0, 10) === day) {
    const attempt = await applyLifecycleOnceADay(d)
    if (attempt === 'done' || (attempt !== 'busy' && attempt.pending.length === 0)) return
    await new Promise(resolve => setTimeout(resolve, pollMs).unref())
  }
}
