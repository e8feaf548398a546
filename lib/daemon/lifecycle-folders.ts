// When each folder under a lifecycle rule's prefix came to be where it is, so that a folder an NFS user moved into
// the prefix counts as new there (docs/design.md, "Lifecycle"). `mv old-project scratch/` sets the ctime of the
// moved folder only: the files inside keep their old mtime and ctime, and judged by their own dates they would be
// expired at the next run, although on AWS an object moved (copied) under a prefix is a new object.
//
// The job keeps, per bucket, a table of the folders its last complete walk saw (path -> inode and the date the
// folder is taken to have arrived), in the state directory beside the state documents, so every daemon sharing the
// state reads the same one. Inode numbers, not device numbers: an NFS share has another st_dev on every host and
// after every remount, while its inode numbers (NFS file ids) stay. A folder at a path the last walk covered that
// is not in the table, or is another inode now, arrived since that walk: it dates from the later of its ctime (a
// rename sets it) and the start of that walk. A folder the table knows keeps its date, however busy it is since (a
// folder's ctime moves with every file made or removed in it, so ctimes alone would keep busy folders from ever
// expiring). A folder met for the first time (a new rule, the first run) dates from its ctime when that is later
// than its mtime, which is what a rename (or chmod, chown) leaves and a file made or removed inside does not;
// otherwise it adds nothing. Dates are never capped at the job's clock: a later date only delays an expiry, and a
// run with its clock behind must not write early dates the next runs would trust.
// A file's date is then the latest of its own mtime and ctime and the dates of the folders on its path.
import { randomBytes } from 'node:crypto'
import { lstat, mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'

/** What the last complete walk of a bucket saw, as kept on disk. */
export interface FolderTable {
  /** The bucket's createdAt: a bucket deleted and created again under the name starts afresh. */
  createdAt: string
  /** When that walk began (ms), and the rule prefixes it listed in full. */
  walkedAt: number
  walked: string[]
  /** [folder path relative to the bucket, inode, arrival in ms (0: before anything was known)]. */
  folders: Array<[string, string, number]>
}

/** The table read back: none yet (or another bucket's), one, or one that exists but cannot be trusted. */
export type LoadedTable = { state: 'none' } | { state: 'ok', table: FolderTable } | { state: 'unreadable', reason: string }

/** A folder whose ctime is later than its mtime by more than this had its inode changed, not its entries. */
const RENAME_SLACK_NS = 1_000_000_000n

function tablePath (stateDir: string, bucket: string): string {
  return join(stateDir, 'lifecycle', `${bucket}.folders.json`)
}

function isEntry (e: unknown): e is [string, string, number] {
  return Array.isArray(e) && e.length === 3 && typeof e[0] === 'string' && typeof e[1] === 'string' && typeof e[2] === 'number' && Number.isFinite(e[2])
}

export async function loadFolderTable (stateDir: string, bucket: string, createdAt: string): Promise<LoadedTable> {
  let text: string
  try {
    text = await readFile(tablePath(stateDir, bucket), 'utf8')
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? { state: 'none' } : { state: 'unreadable', reason: (err as Error).message }
  }
  let t: Partial<FolderTable>
  try {
    t = JSON.parse(text) as Partial<FolderTable>
  } catch {
    return { state: 'unreadable', reason: 'not valid JSON' }
  }
  if (typeof t !== 'object' || t === null) return { state: 'unreadable', reason: 'not a table' }
  if (t.createdAt !== createdAt) return { state: 'none' } // an earlier bucket of this name
  if (typeof t.walkedAt !== 'number' || !Number.isFinite(t.walkedAt) || !Array.isArray(t.walked) || !t.walked.every(p => typeof p === 'string') ||
    !Array.isArray(t.folders) || !t.folders.every(isEntry)) return { state: 'unreadable', reason: 'not a table of this version' }
  return { state: 'ok', table: t as FolderTable }
}

/**
 * Written to a temp file named for this host, process and a random part (daemons in containers on several hosts
 * may share a pid), flushed, then renamed over the table: readers see the old table or the new one.
 */
export async function saveFolderTable (stateDir: string, bucket: string, table: FolderTable): Promise<void> {
  const dir = join(stateDir, 'lifecycle')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const path = tablePath(stateDir, bucket)
  const tmp = `${path}.tmp-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    const fh = await open(tmp, 'wx', 0o600)
    try {
      await fh.writeFile(JSON.stringify(table))
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => undefined)
    throw err
  }
}

const ceilMs = (ns: bigint): number => Number((ns + 999_999n) / 1_000_000n)

/** The folders of one bucket's walks: each looked at once per run, its arrival judged against the last table. */
export class FolderDates {
  /** The last table's folders (its array is not kept: a table may hold millions). */
  private readonly previous: Map<string, [string, number]> | undefined
  private readonly last: Pick<FolderTable, 'walked' | 'walkedAt'> | undefined
  private readonly observed = new Map<string, [string, number]>()
  /** The last table exists but could not be read. */
  private readonly isUnknown: boolean
  /** The folders of the last key looked at (the walks go in key order, so only the current path is needed). */
  private chain: Array<{ folder: string, at: Promise<number> }> = []

  /**
   * `last`: the last complete walk's table; undefined when there is none (every folder is met for the first time);
   * 'unreadable' when one exists but cannot be read: then nothing is known of when any folder arrived, and each
   * counts as arrived now (or at its ctime, if later): the rules' Days start again once, rather than a folder moved
   * in since the last walk counting from its files' dates.
   */
  constructor (private readonly root: string, last: FolderTable | 'unreadable' | undefined, private readonly nowMs: number) {
    this.isUnknown = last === 'unreadable'
    this.last = last === undefined || last === 'unreadable' ? undefined : { walked: last.walked, walkedAt: last.walkedAt }
    this.previous = last === undefined || last === 'unreadable' ? undefined : new Map(last.folders.map(([path, ino, at]) => [path, [ino, at]]))
  }

  /**
   * Whether the last walk would have put the folder in its table had it been there: the folder lies under a prefix
   * it listed in full, or on the path to one (a walk records the folders of its prefix's path, keys or not).
   */
  private covered (folder: string): boolean {
    return this.last !== undefined && this.last.walked.some(p => (folder + '/').startsWith(p) || p.startsWith(folder + '/'))
  }

  private async arrival (folder: string): Promise<number> {
    const seen = this.observed.get(folder)
    if (seen !== undefined) return seen[1] // an earlier rule's walk of this run looked already
    const known = this.previous?.get(folder)
    let st
    try {
      st = await lstat(join(this.root, folder), { bigint: true })
    } catch {
      // Gone or unreadable (ESTALE, EIO): nothing under it is due this run, and what the table knew is kept for the
      // next (dropped, a folder there since long would count as new then).
      if (known !== undefined) this.observed.set(folder, known)
      return NaN
    }
    if (!st.isDirectory()) return NaN
    const ino = String(st.ino)
    let at: number
    if (known !== undefined && known[0] === ino) at = known[1]
    else if (this.isUnknown) at = Math.max(ceilMs(st.ctimeNs), this.nowMs)
    else if (this.covered(folder)) at = Math.max(ceilMs(st.ctimeNs), this.last?.walkedAt ?? 0)
    else at = st.ctimeNs > st.mtimeNs + RENAME_SLACK_NS ? ceilMs(st.ctimeNs) : 0
    this.observed.set(folder, [ino, at])
    return at
  }

  /** The latest arrival of the folders on a key's path (0 for a key at the top), NaN when one is not known. */
  async ofKey (key: string): Promise<number> {
    const parts = key.split('/').slice(0, -1)
    let latest = 0
    let folder = ''
    for (let i = 0; i < parts.length; i++) {
      folder = i === 0 ? parts[0]! : `${folder}/${parts[i]!}`
      if (this.chain[i]?.folder !== folder) {
        this.chain.length = i
        this.chain.push({ folder, at: this.arrival(folder) })
      }
      latest = Math.max(latest, await this.chain[i]!.at)
    }
    return latest
  }

  /** The table to keep after walks that listed every key under `walked` completely. */
  table (createdAt: string, walked: string[]): FolderTable {
    return { createdAt, walkedAt: this.nowMs, walked, folders: [...this.observed].map(([path, [ino, at]]) => [path, ino, at]) }
  }
}
