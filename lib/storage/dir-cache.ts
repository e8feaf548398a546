// Sorted directory listings, cached by the directory's inode and mtime so paging a huge folder does not
// re-read and re-sort it for every page. Bounded by a total entry budget.
import { isUtf8 } from 'node:buffer'
import type { BigIntStats } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { compareKeys } from './key-order.js'
import { nativeJobs } from './native.js'

/** A folder's entries in S3 key order. Sort keys: a file's name, or a folder's name + '/'. */
export interface SortedDir {
  readonly length: number
  readonly isDir: Uint8Array
  /** The sort key at index i. */
  key: (i: number) => string
  /** First index whose sort key is >= target in S3 order (binary search). */
  lowerBound: (target: string) => number
  /** Whether the name at index i is valid UTF-8 (else key(i) holds U+FFFD for its bad bytes and names no file). */
  isUtf8: (i: number) => boolean
  /** Set while the listing is cached: the folder's inode, mtime and ctime when it was read (listing.ts's read-ahead). */
  stamp?: string
}

/** Keys as JavaScript strings: the path without the addon. */
class StringDir implements SortedDir {
  readonly isDir: Uint8Array
  constructor (private readonly keys: readonly string[]) {
    this.isDir = new Uint8Array(keys.length)
    for (let i = 0; i < keys.length; i++) this.isDir[i] = keys[i]!.endsWith('/') ? 1 : 0
  }

  get length (): number { return this.keys.length }
  key (i: number): string { return this.keys[i]! }
  // readdir decoded the names already: a U+FFFD may have been a bad byte (rarely a real one, hidden too).
  isUtf8 (i: number): boolean { return !this.keys[i]!.includes('\uFFFD') }
  lowerBound (target: string): number {
    let lo = 0
    let hi = this.keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareKeys(this.keys[mid]!, target) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/**
 * Keys packed as UTF-8 in one Buffer, sorted by the addon: a million-name folder is ~25 MiB of bytes and offsets
 * instead of a million strings, and a page decodes only the keys it returns.
 */
class PackedDir implements SortedDir {
  constructor (private readonly keys: Buffer, private readonly offsets: Uint32Array, readonly isDir: Uint8Array) {}
  get length (): number { return this.isDir.length }
  key (i: number): string { return this.keys.toString('utf8', this.offsets[i], this.offsets[i + 1]) }
  isUtf8 (i: number): boolean { return isUtf8(this.keys.subarray(this.offsets[i], this.offsets[i + 1])) }
  lowerBound (target: string): number {
    const t = Buffer.from(target, 'utf8')
    let lo = 0
    let hi = this.isDir.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      // Byte order of the raw name against the UTF-8 target: S3's order, even for names that are not UTF-8.
      if (this.keys.compare(t, 0, t.length, this.offsets[mid], this.offsets[mid + 1]) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

const EMPTY: SortedDir = new StringDir([])

const MAX_CACHED_ENTRIES = 1_500_000
/** Smaller folders are cheap to read again; caching them would only churn the budget. */
const MIN_CACHED_ENTRIES = 2_000
/** A folder changed this recently may change again within the same mtime tick: do not trust the stamp yet. */
const RACY_WINDOW_NS = 2_000_000_000n

const cache = new Map<string, { stamp: string, dir: SortedDir }>()
let cachedEntries = 0

function evictFor (size: number): void {
  for (const [path, hit] of cache) {
    if (cachedEntries + size <= MAX_CACHED_ENTRIES) break
    cache.delete(path)
    cachedEntries -= hit.dir.length
  }
}

/** Node's readdir, one Dirent per entry, sorted here: the path without the addon (or if it runs out of memory). */
async function readStrings (dirPath: string, skip: string | undefined): Promise<SortedDir> {
  const keys: string[] = []
  const dirents = await readdir(dirPath, { withFileTypes: true })
  for (const d of dirents) {
    if (d.name === skip) continue
    if (d.isDirectory()) keys.push(d.name + '/')
    else if (d.isFile()) keys.push(d.name)
    // symlinks, sockets, devices and FIFOs are not objects
  }
  let isPlain = true
  for (let i = 0; i < keys.length && isPlain; i++) if (/[\uD800-\uFFFF]/.test(keys[i]!)) isPlain = false
  // UTF-16 order equals UTF-8 byte order unless a name holds characters past U+D7FF.
  if (isPlain) keys.sort()
  else keys.sort(compareKeys)
  return new StringDir(keys)
}

async function readSorted (dirPath: string, skip: string | undefined): Promise<SortedDir> {
  const native = nativeJobs()?.readDirSorted
  if (native) {
    try {
      const r = await native(dirPath, skip)
      return new PackedDir(r.keys, r.offsets, r.isDir)
    } catch (err) {
      // ENOMEM: past 4 GiB of names; anything else (ENOENT, EACCES...) is the folder's answer.
      if ((err as NodeJS.ErrnoException).code !== 'ENOMEM') throw err
    }
  }
  return readStrings(dirPath, skip)
}

/** A folder held open for reading (listing.ts openFolder): its fstat, and a path that names it whatever renames happen. */
export interface HeldFolder {
  readonly st: BigIntStats
  /** /proc/self/fd/N of the held descriptor. */
  readonly path: string
}

/**
 * The folder's entries in S3 key order (empty when it vanished or cannot be read). With `held`, they are read
 * through its descriptor and the cache is checked against its fstat, so what comes back is that very folder's
 * even if the name dirPath was renamed or exchanged meanwhile; dirPath is then only the cache key.
 */
export async function sortedDir (dirPath: string, skip?: string, held?: HeldFolder): Promise<SortedDir> {
  try {
    const st = held?.st ?? await stat(dirPath, { bigint: true })
    const stamp = `${st.dev}:${st.ino}:${st.mtimeNs}:${st.ctimeNs}:${skip ?? ''}`
    const hit = cache.get(dirPath)
    if (hit && hit.stamp === stamp) {
      cache.delete(dirPath) // refresh its place in the LRU order
      cache.set(dirPath, hit)
      return hit.dir
    }
    const dir = await readSorted(held?.path ?? dirPath, skip)
    const isStable = BigInt(Date.now()) * 1_000_000n - st.mtimeNs > RACY_WINDOW_NS
    if (hit) {
      cache.delete(dirPath)
      cachedEntries -= hit.dir.length
    }
    if (isStable && dir.length >= MIN_CACHED_ENTRIES && dir.length <= MAX_CACHED_ENTRIES) {
      evictFor(dir.length)
      dir.stamp = stamp
      cache.set(dirPath, { stamp, dir })
      cachedEntries += dir.length
    }
    return dir
  } catch {
    return EMPTY
  }
}
