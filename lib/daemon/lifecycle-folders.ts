// When each folder under a lifecycle rule's prefix came to be where it is, so that a folder an NFS user moved into
// the prefix counts as new there (docs/design.md, "Lifecycle"). `mv old-project scratch/` sets the ctime of the
// moved folder only: the files inside keep their old mtime and ctime, and judged by their own dates they would be
// expired at the next run, although on AWS an object moved (copied) under a prefix is a new object.
//
// The job keeps, per bucket, a table of the folders its last complete walk saw (path -> device:inode and the date
// the folder is taken to have arrived), in the state directory beside the state documents, so every daemon
// sharing the state reads the same one. A folder at a path the last walk covered that is not in the table, or is
// another inode now, arrived since that walk: it dates from the later of its ctime (a rename sets it) and the
// start of that walk. A folder the table knows keeps its date, however busy it is since (a folder's ctime moves
// with every file made or removed in it, so ctimes alone would keep busy folders from ever expiring). A folder met
// for the first time (a new rule, the first run) dates from its ctime when that is later than its mtime, which is
// what a rename (or chmod, chown) leaves and a file made or removed inside does not; otherwise it adds nothing.
// A file's date is then the latest of its own mtime and ctime and the dates of the folders on its path.
import { lstat, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeAtomic } from '../state/store.js'

/** What the last complete walk of a bucket saw. */
export interface FolderTable {
  /** The bucket's createdAt: a bucket deleted and created again under the name starts afresh. */
  createdAt: string
  /** When that walk began (ms), and the rule prefixes it listed in full. */
  walkedAt: number
  walked: string[]
  /** Folder path (relative to the bucket) -> [device:inode, arrival in ms; 0: before anything was known]. */
  folders: Record<string, [string, number]>
}

/** A folder whose ctime is later than its mtime by more than this had its inode changed, not its entries. */
const RENAME_SLACK_NS = 1_000_000_000n

function tablePath (stateDir: string, bucket: string): string {
  return join(stateDir, 'lifecycle', `${bucket}.folders.json`)
}

/** The table of the bucket's last complete walk, or undefined (none yet, another bucket of that name, unreadable). */
export async function loadFolderTable (stateDir: string, bucket: string, createdAt: string): Promise<FolderTable | undefined> {
  try {
    const t = JSON.parse(await readFile(tablePath(stateDir, bucket), 'utf8')) as FolderTable
    if (t.createdAt !== createdAt || !Number.isFinite(t.walkedAt) || !Array.isArray(t.walked) || typeof t.folders !== 'object' || t.folders === null) return undefined
    return t
  } catch {
    return undefined // no walk yet, or a table that cannot be read: every folder is met for the first time
  }
}

export async function saveFolderTable (stateDir: string, bucket: string, table: FolderTable): Promise<void> {
  await mkdir(join(stateDir, 'lifecycle'), { recursive: true, mode: 0o700 })
  writeAtomic(tablePath(stateDir, bucket), JSON.stringify(table))
}

const ceilMs = (ns: bigint): number => Number((ns + 999_999n) / 1_000_000n)

/** The folders of one bucket's walk: each looked at once per run, its arrival judged against the last table. */
export class FolderDates {
  private readonly seen = new Map<string, Promise<number>>()
  private readonly observed: Record<string, [string, number]> = {}

  constructor (private readonly root: string, private readonly previous: FolderTable | undefined, private readonly nowMs: number) {}

  /** Whether the last walk listed everything under `folder` (a rule prefix it walked covers the folder's keys). */
  private covered (folder: string): boolean {
    return this.previous !== undefined && this.previous.walked.some(p => (folder + '/').startsWith(p))
  }

  private async arrival (folder: string): Promise<number> {
    let st
    try {
      st = await lstat(join(this.root, folder), { bigint: true })
    } catch {
      return NaN // gone or unreadable: not known, so nothing under it is due this run
    }
    if (!st.isDirectory()) return NaN
    const id = `${st.dev}:${st.ino}`
    const known = this.previous?.folders[folder]
    let at: number
    if (known !== undefined && known[0] === id) at = known[1]
    else if (this.covered(folder)) at = Math.min(this.nowMs, Math.max(ceilMs(st.ctimeNs), this.previous?.walkedAt ?? 0))
    else at = st.ctimeNs > st.mtimeNs + RENAME_SLACK_NS ? Math.min(this.nowMs, ceilMs(st.ctimeNs)) : 0
    this.observed[folder] = [id, at]
    return at
  }

  /** The latest arrival of the folders on a key's path (0 for a key at the top), NaN when one is not known. */
  async ofKey (key: string): Promise<number> {
    const parts = key.split('/').slice(0, -1)
    let latest = 0
    for (let i = 1; i <= parts.length; i++) {
      const folder = parts.slice(0, i).join('/')
      let p = this.seen.get(folder)
      if (p === undefined) { p = this.arrival(folder); this.seen.set(folder, p) }
      latest = Math.max(latest, await p)
    }
    return latest
  }

  /** The table to keep after a walk that listed every key under `walked` completely. */
  table (createdAt: string, walked: string[]): FolderTable {
    return { createdAt, walkedAt: this.nowMs, walked, folders: this.observed }
  }
}
