// Is a bucket's directory really there? A NAS export that is not mounted (not yet at boot, or no longer) leaves a
// bare mount-point directory, and an admin's rmdir leaves nothing. Served as they are, every object looks deleted
// (an empty listing, NoSuchKey), writes land on the host's own disk where the mount will later hide them, and
// `aws s3 sync --delete` or `rclone sync` *from* the bucket deletes the backup's copies as well.
//
// So a bucket records the mount point of the filesystem its directory was on when it was mapped: the nearest
// ancestor (the directory itself included) whose device differs from its parent's. The directory is served while
// it exists, is a directory, is on the device of that mount point, and the mount point still is one (its device
// differs from its parent's). Only devices of the moment are compared, never stored ones: device numbers change
// across reboots and NFS remounts, and the daemon's own mount namespace (systemd's ReadWritePaths and
// ProtectSystem bind mounts) shows the same devices under other mount entries. docs/design.md has the cases.
import { statSync, type Stats } from 'node:fs'
import { lstat, opendir, realpath, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { packageRoot } from '../config/package-root.js'
import { ACL_ACCESS_XATTR } from '../access/posix-acl.js'
import { forgetStagingOffMount, STAGING_DIR } from './paths.js'
import { getAttribute } from './xattr.js'

export interface MappedRoot {
  /** The bucket's name, for messages. */
  readonly name?: string
  /** The bucket's directory: absolute and symlink-free. */
  readonly path: string
  /** Where its filesystem was mounted when it was mapped; undefined for buckets mapped before this was recorded. */
  readonly mountPoint?: string
}

/** The mount point of the filesystem holding `dir` (absolute, symlink-free), as this process sees it. */
export function mountPointOfSync (dir: string): string {
  let cur = dir
  let st = statSync(cur)
  while (cur !== '/') {
    const parent = dirname(cur)
    const ps = statSync(parent)
    if (ps.dev !== st.dev) return cur
    cur = parent
    st = ps
  }
  return '/'
}

/** mountPointOfSync without blocking the event loop. */
export async function mountPointOf (dir: string): Promise<string> {
  let cur = dir
  let st = await stat(cur)
  while (cur !== '/') {
    const parent = dirname(cur)
    const ps = await stat(parent)
    if (ps.dev !== st.dev) return cur
    cur = parent
    st = ps
  }
  return '/'
}

/** Whether the directory holds anything besides the bridge's own staging folder (and ones set aside). */
export async function hasEntries (dir: string): Promise<boolean> {
  // The iterator closes the folder when the loop ends or returns.
  for await (const e of await opendir(dir)) if (!e.name.startsWith(STAGING_DIR)) return true
  return false
}

function statFailure (err: unknown, what: string): string {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ENOTDIR' ? `${what} is missing` : `${what} cannot be read (${code ?? String(err)})`
}

let trusted: ReadonlySet<number> | undefined

/**
 * Owners of the folders above a bucket's directory that may change them without that being a risk: root, the
 * daemon's own user, and the owner of the daemon's code (who can make it run anything already).
 */
export function trustedOwners (): ReadonlySet<number> {
  if (trusted === undefined) {
    const own = process.geteuid?.() ?? 0
    let codeOwner = 0
    try { codeOwner = statSync(packageRoot()).uid } catch { /* no package root: root and the daemon's user only */ }
    trusted = new Set([0, own, codeOwner])
  }
  return trusted
}

/**
 * Why someone else could put another directory, or a symlink, where the bucket's directory is: the daemon, as
 * root, would then serve whatever it leads to (another user's files, the host's /etc) under the bucket's name.
 * The directory's own name can be replaced by whoever may change the folder holding it, and that folder's by
 * whoever may change the one above, up to /: so every folder above must belong to a trusted owner (above) and be
 * writable by no group but root's and by no others, except a sticky folder (/tmp) holding a name of a trusted
 * owner, which others cannot rename. A folder with an access ACL counts as writable by others when its mask lets
 * anyone beyond the owner write (a named user's rwx shows as the group write bit, whatever the group). Each folder
 * is judged before the name under it is looked at, and a name that cannot be looked at is a problem too: review 17
 * won a race in which the name went missing for an instant, which read as "nothing to say". Undefined when no one
 * else can. A symlink on the way is followed only when it is a trusted owner's in a folder only they may change.
 * `toBeMade`: names missing from some point on are yet to be made by the daemon (CreateBucket, the demo
 * bucket, the state directory): the folder that is to hold the first of them is judged, and the walk ends there.
 */
export async function swappableParent (path: string, opts: { owners?: ReadonlySet<number>, toBeMade?: boolean } = {}): Promise<string | undefined> {
  const owners = opts.owners ?? trustedOwners()
  const names = path.split('/').filter(n => n !== '')
  let folder = '/'
  let st: Stats
  try {
    st = await lstat(folder)
  } catch (err) {
    return `/ cannot be examined (${(err as NodeJS.ErrnoException).code ?? String(err)})`
  }
  for (const [i, name] of names.entries()) {
    const child = join(folder, name)
    const byOthers = !owners.has(st.uid)
      ? `its owner uid ${st.uid}`
      : (st.mode & 0o020) !== 0 && (st.gid !== 0 || await hasAccessAcl(folder))
          ? (st.gid !== 0 ? `group ${st.gid}` : 'a user or group its ACL lets write')
          : (st.mode & 0o002) !== 0 ? 'everyone' : undefined
    let cs: Stats | undefined
    try {
      cs = await lstat(child)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (!(opts.toBeMade === true && code === 'ENOENT')) return `${child} cannot be examined (${code ?? String(err)})`
    }
    if (cs?.isSymbolicLink() === true) {
      // A link only trusted owners could have made or replaced (an admin's /srv -> /data/srv) is as safe as a
      // folder: the walk goes on from where it leads. Any other is the swap this check is for.
      if (byOthers !== undefined || !owners.has(cs.uid)) return `${child} is a symlink that ${byOthers ?? `uid ${cs.uid}`} could have put there; the bridge does not follow it`
      let target: string
      try {
        target = await realpath(child)
      } catch (err) {
        return `${child} is a symlink that cannot be followed (${(err as NodeJS.ErrnoException).code ?? String(err)})`
      }
      return swappableParent(join(target, ...names.slice(i + 1)), opts)
    }
    if (cs !== undefined && !cs.isDirectory()) return opts.toBeMade === true ? undefined : `${child} is not a directory` // making it fails on its own
    const stickyGuards = owners.has(st.uid) && (st.mode & 0o1000) !== 0 && cs !== undefined && owners.has(cs.uid)
    if (byOthers !== undefined && !stickyGuards) {
      return `the folder ${folder} above it can be changed by ${byOthers}, who could put another directory or a symlink in place of ${child}; ` +
        'map a directory whose parent folders only root can change (chown root and chmod go-w them, or map a folder higher up)'
    }
    if (cs === undefined) break
    folder = child
    st = cs
  }
  return undefined
}

/** Whether a folder has an access ACL (beyond its mode bits); one that cannot be read counts as one (refuse, not guess). */
async function hasAccessAcl (folder: string): Promise<boolean> {
  try {
    await getAttribute(folder, ACL_ACCESS_XATTR)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return !(code === 'ENODATA' || code === 'ENOATTR' || code === 'ENOTSUP' || code === 'EOPNOTSUPP')
  }
}

/** A mount point's check: a problem, or the device of the filesystem mounted there. */
export interface MountAnswer { problem?: string, dev?: number }

/** Whether a filesystem is still mounted at `mount` (its device differs from its parent's), and which. */
export async function mountAnswer (mount: string): Promise<MountAnswer> {
  let m: Stats, parent: Stats | undefined
  try {
    [m, parent] = await Promise.all([stat(mount), mount === '/' ? undefined : stat(dirname(mount))])
  } catch (err) {
    return { problem: statFailure(err, `the mount point ${mount} it was mapped on`) }
  }
  if (parent !== undefined && parent.dev === m.dev) return { problem: `no filesystem is mounted at ${mount}, where it was mapped` }
  return { dev: m.dev }
}

/**
 * Why the bucket cannot be served now (for logs and admins, not for clients), or undefined when it can. The mount
 * point is asked first (through `mountOf`, which BucketRoots shares between the buckets of one mount): when a
 * NAS server is gone, its mount point's stat is the one call left stuck, not one per bucket exported from it.
 */
export async function rootProblem (root: MappedRoot, mountOf: (mount: string) => Promise<MountAnswer> = mountAnswer): Promise<string | undefined> {
  const mount = root.mountPoint
  const mounted = mount === undefined ? undefined : await mountOf(mount)
  if (mounted?.problem !== undefined) return mounted.problem
  let dir: Stats
  try {
    dir = await stat(root.path)
  } catch (err) {
    return statFailure(err, `its directory ${root.path}`)
  }
  if (!dir.isDirectory()) return `its path ${root.path} is not a directory`
  if (mounted !== undefined && dir.dev !== mounted.dev) return `it is no longer on the filesystem mounted at ${mount}, where it was mapped`
  return swappableParent(root.path)
}

/**
 * How long a bucket's filesystem gets to answer the check's stat before the bucket counts as unavailable: a hard
 * NFS mount whose server is gone blocks every call on it, forever, and its requests would hang with it (and, one
 * pool thread each, the whole daemon). The stat itself stays stuck until the filesystem answers.
 */
export const ROOT_ANSWER_MS = 10_000
/** How long bridgectl waits for a bucket's filesystem before it reports it as not answering. */
export const ADMIN_ANSWER_MS = 5_000

export function notAnswering (root: MappedRoot, ms: number): string {
  return `its filesystem does not answer (no reply to a stat of ${root.path} in ${ms / 1000} s: a hung NFS mount?)`
}

/** The first of `p` and `late()` after `ms`. */
export async function within<T> (p: Promise<T>, ms: number, late: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<T>(resolve => {
    timer = setTimeout(() => resolve(late()), ms)
    timer.unref()
  })
  try {
    return await Promise.race([p, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** rootProblem, or notAnswering when it has no answer within `ms`. */
export function rootProblemWithin (root: MappedRoot, ms = ROOT_ANSWER_MS): Promise<string | undefined> {
  return within(rootProblem(root), ms, () => notAnswering(root, ms))
}

interface Known {
  okAt?: number
  running?: Promise<string | undefined>
  problem?: string
  timedOut?: Promise<string | undefined>
  /** The verdict on `running` within the deadline (shared by its callers), once one was asked for. */
  judged?: { of: Promise<string | undefined>, verdict: Promise<string | undefined> }
}

/** A local path whose stat never waits on a bucket's filesystem: the canary of the I/O thread pool's queue. */
const CANARY_PATH = '/'

/**
 * Canaries a check without an answer gets before it is called hung: one per call the check may still have to queue
 * for (the mount point, the directory, then the staging folder's mount comparison: an open, two reads and a close),
 * so a check that waits its turn behind slow but moving I/O at every step is not mistaken for one that hangs. Each
 * takes a moment when the pool is free, so a real hang is called within a few milliseconds of the deadline still.
 */
const CANARY_ROUNDS = 8

/** What a stat of CANARY_PATH, queued now, answers: whether the pool starts new jobs. */
function canary (): Promise<'canary'> {
  return stat(CANARY_PATH).then(() => 'canary' as const, () => 'canary' as const)
}

export function poolBusy (root: MappedRoot, ms: number): string {
  return `no reply to a stat of ${root.path} in ${ms / 1000} s, and every I/O thread of the daemon is busy (hung filesystems, or more load than UV_THREADPOOL_SIZE threads serve)`
}

/**
 * rootProblem for every request, cheaply: a "fine" answer is reused for `okForMs` (unless the caller asks for a
 * fresh one: listings, and before answering that a key does not exist), checks asked for while one is running share
 * it, and a problem is never reused, so a bucket is served again as soon as its filesystem is back. A check with
 * no answer after `answerWithinMs` is a problem for its callers (the bucket's filesystem hangs).
 * `onChange` hears each change of verdict (the first check included only when it finds a problem).
 */
export class BucketRoots {
  private readonly verdicts = new Map<string, Known>()
  /** Mount-point checks in flight, shared by every bucket of that mount (a fine answer is not reused after). */
  private readonly mounts = new Map<string, Promise<MountAnswer>>()

  constructor (
    private readonly onChange: (root: MappedRoot, problem: string | undefined) => void = () => {},
    private readonly okForMs = 250,
    private readonly answerWithinMs = ROOT_ANSWER_MS,
  ) {}

  /** problem() as a promise always, for callers off the request path (start-up, jobs, scrapes). */
  verdict (root: MappedRoot, opts: { fresh?: boolean } = {}): Promise<string | undefined> {
    return this.problem(root, opts) ?? Promise.resolve(undefined)
  }

  problem (root: MappedRoot, opts: { fresh?: boolean } = {}): Promise<string | undefined> | undefined {
    const key = `${root.path}\0${root.mountPoint ?? ''}`
    let entry = this.verdicts.get(key)
    if (entry === undefined) {
      if (this.verdicts.size >= 10_000) this.verdicts.clear() // buckets mapped and unmapped over a long life
      entry = {}
      this.verdicts.set(key, entry)
    }
    if (opts.fresh !== true && entry.okAt !== undefined && Date.now() - entry.okAt < this.okForMs) return undefined
    // A check in flight is shared even by callers that want a fresh verdict: it began moments ago, or it is stuck
    // on a hung filesystem, where a stat per request would leave one more pool thread stuck each time.
    if (entry.running !== undefined) return this.answer(root, entry, entry.running)
    const e = entry
    const seen = e.okAt !== undefined || e.problem !== undefined
    const running = rootProblem(root, mount => this.mountShared(mount)).then(async problem => {
      if (e.running === running) e.running = undefined
      if (problem === undefined) {
        e.okAt = Date.now()
        // The staging folder's descriptor is held for the daemon's life: after the filesystem was unmounted
        // and mounted again it is on the old mount, and uploads staged there could not be renamed into place.
        await forgetStagingOffMount(root.path)
      } else {
        e.okAt = undefined
      }
      if ((seen || problem !== undefined) && problem !== e.problem) this.onChange(root, problem)
      e.problem = problem
      return problem
    })
    e.running = running
    return this.answer(root, e, running)
  }

  private mountShared (mount: string): Promise<MountAnswer> {
    let running = this.mounts.get(mount)
    if (running === undefined) {
      running = mountAnswer(mount).finally(() => this.mounts.delete(mount))
      this.mounts.set(mount, running)
    }
    return running
  }

  /** The check's verdict, or after answerWithinMs "does not answer" (logged once through onChange). */
  private answer (root: MappedRoot, e: Known, running: Promise<string | undefined>): Promise<string | undefined> {
    // The same stuck check already ran out of time: say so at once instead of making each caller wait again.
    if (e.timedOut === running && e.problem !== undefined) return Promise.resolve(e.problem)
    if (e.judged?.of !== running) e.judged = { of: running, verdict: this.judge(root, e, running) }
    return e.judged.verdict
  }

  /**
   * The check's verdict, or "does not answer" (logged once through onChange). The deadline runs from when the check
   * was queued, so a check still waiting for a pool thread behind slow but moving I/O would read as a hang: past
   * it, a stat of a local path is queued as a canary. The pool runs its jobs in order, so once a canary is done the
   * check's pending call has started; further canaries (CANARY_ROUNDS) cover a check that moved on to its next
   * call meanwhile. All done and still no answer: this filesystem hangs. A canary that waits too: every thread is
   * taken, and after twice the deadline more the bucket is refused all the same.
   */
  private async judge (root: MappedRoot, e: Known, running: Promise<string | undefined>): Promise<string | undefined> {
    const ms = this.answerWithinMs
    const late = Symbol('late')
    let problem: string | undefined
    const first = await within<string | undefined | typeof late>(running, ms, () => late)
    if (first !== late) return first
    for (let round = 0; problem === undefined; round++) {
      const next = await within<string | undefined | 'canary' | typeof late>(Promise.race([running, canary()]), 2 * ms, () => late)
      if (next === late) problem = poolBusy(root, ms)
      else if (next !== 'canary') return next
      else if (round === CANARY_ROUNDS - 1) problem = notAnswering(root, ms)
    }
    e.timedOut = running
    if (e.problem !== problem) {
      e.problem = problem
      e.okAt = undefined
      this.onChange(root, problem)
    }
    return problem
  }
}
