// The lifecycle job: once a day, each bucket's enabled rules expire the objects (files) and abort the multipart
// uploads that are due. It acts for the bucket's owner: a file the owner could not delete over S3 (or NFS) stays.
import { dueAt, ruleCovers, storedLifecycle, type LifecycleRule } from '../config/lifecycle-rules.js'
import { keyPath } from '../access/fs-needs.js'
import { supplementaryGroups } from '../auth/identity.js'
import { userPrincipal, type Principal } from '../auth/principal.js'
import type { BucketRecord } from '../state/types.js'
import { listObjects } from '../storage/listing.js'
import { listAllUploads } from '../storage/multipart-list.js'
import { abortUpload } from '../storage/multipart.js'
import { getObjectTags } from '../storage/object-tags.js'
import { deleteObject, type BucketRef } from '../storage/objects.js'
import { checkFolderForWrite, posixAccess } from '../storage/posix-access.js'
import type { ObjectInfo } from '../storage/types.js'
import type { JobDeps } from './scheduled-jobs.js'

export interface LifecycleRun { expired: string[], aborted: string[], kept: number }

/** Thrown by the delete's guard: the key holds another file than the one the rule judged (rewritten meanwhile). */
class Changed extends Error {}

function sameFile (seen: ObjectInfo, current: ObjectInfo | undefined): boolean {
  return current === undefined || (current.lastModified.getTime() === seen.lastModified.getTime() && current.size === seen.size && current.etag === seen.etag)
}

/** The bucket owner as a principal (its NSS groups), or undefined when the owner is no enabled bridge user. */
async function ownerOf (d: JobDeps, bucket: BucketRecord): Promise<Principal | undefined> {
  const user = d.state.snapshot().users[bucket.owner]
  if (user === undefined || !user.enabled) return undefined
  return userPrincipal(user, await supplementaryGroups(user.uid, user.gid), d.config)
}

async function expireByRule (d: JobDeps, ref: BucketRef, owner: Principal, rule: LifecycleRule, run: LifecycleRun): Promise<void> {
  const expiration = rule.expiration
  if (expiration === undefined || (expiration.days === undefined && expiration.date === undefined)) return
  const now = d.now()
  const access = posixAccess({ bucketRoot: ref.root, principal: owner, rootHasRights: owner.hasRootRights })
  const checkFolder = async (dir: Parameters<typeof checkFolderForWrite>[2], want: Parameters<typeof checkFolderForWrite>[3]): Promise<void> => {
    if (!(await checkFolderForWrite(owner, owner.hasRootRights, dir, want)).allowed) throw new Changed()
  }
  let after: string | undefined
  for (;;) {
    const page = await listObjects(ref, { prefix: rule.scope.prefix, maxKeys: 1000, after })
    for (const info of page.objects) {
      // Folder markers are folders on the NAS: expiring one would clear a mark, not free anything; they stay.
      if (info.isDirectoryMarker) continue
      const due = dueAt(expiration, info.lastModified)
      if (due === undefined || due.getTime() > now.getTime()) continue
      const tags = rule.scope.tags.length > 0 ? await getObjectTags(ref, info.key).catch(() => []) : []
      if (!ruleCovers(rule.scope, info, tags)) continue
      const may = await access.canDelete(keyPath(info.key))
      if (!may.allowed) {
        run.kept++
        d.log.warn({ job: 'lifecycle', bucket: ref.name, key: info.key, rule: rule.id, reason: may.layer }, 'lifecycle: the bucket owner may not delete this object; it stays')
        continue
      }
      try {
        await deleteObject(ref, info.key, undefined, checkFolder, current => { if (!sameFile(info, current)) throw new Changed() })
        run.expired.push(info.key)
      } catch (err) {
        if (!(err instanceof Changed)) throw err
        run.kept++ // rewritten or moved since it was listed: judged again tomorrow
      }
    }
    if (!page.isTruncated || page.lastReturned === undefined) return
    after = page.lastReturned
  }
}

async function abortByRule (d: JobDeps, ref: BucketRef, rule: LifecycleRule, run: LifecycleRun): Promise<void> {
  const days = rule.abortIncompleteMultipartUploadDays
  if (days === undefined) return
  const now = d.now().getTime()
  for (const upload of await listAllUploads(ref.root)) {
    if (!upload.key.startsWith(rule.scope.prefix)) continue
    const due = dueAt({ days }, new Date(upload.initiated))
    if (due === undefined || due.getTime() > now) continue
    try {
      await abortUpload(ref, upload.key, upload.uploadId)
      run.aborted.push(upload.uploadId)
    } catch { /* completed or aborted meanwhile */ }
  }
}

/** Applies every bucket's enabled lifecycle rules once (or one bucket's). */
export async function applyLifecycle (d: JobDeps, only?: string): Promise<LifecycleRun> {
  const run: LifecycleRun = { expired: [], aborted: [], kept: 0 }
  for (const bucket of Object.values(d.state.snapshot().buckets)) {
    if (only !== undefined && bucket.name !== only) continue
    const config = storedLifecycle(bucket.lifecycle)
    const rules = config?.rules.filter(r => r.status === 'Enabled') ?? []
    if (rules.length === 0) continue
    if (await d.roots.verdict(bucket) !== undefined) continue // missing, unmounted or hung: not to be read, let alone pruned
    const ref = { name: bucket.name, root: bucket.path }
    const before = { expired: run.expired.length, aborted: run.aborted.length, kept: run.kept }
    try {
      const owner = rules.some(r => r.expiration !== undefined) ? await ownerOf(d, bucket) : undefined
      for (const rule of rules) {
        if (owner !== undefined) await expireByRule(d, ref, owner, rule, run)
        else if (rule.expiration !== undefined) d.log.warn({ job: 'lifecycle', bucket: bucket.name, owner: bucket.owner }, 'lifecycle: the bucket owner is no enabled bridge user; nothing is expired')
        await abortByRule(d, ref, rule, run)
      }
    } catch (err) {
      d.log.warn({ job: 'lifecycle', bucket: bucket.name, err: (err as Error).message }, 'lifecycle: could not apply the rules')
    }
    const expired = run.expired.length - before.expired
    const aborted = run.aborted.length - before.aborted
    if (expired + aborted > 0 || run.kept > before.kept) d.log.info({ job: 'lifecycle', bucket: bucket.name, expired, aborted, kept: run.kept - before.kept }, 'lifecycle rules applied')
  }
  return run
}
