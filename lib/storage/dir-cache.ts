// Sorted directory listings, cached by the directory's inode and mtime so paging a huge folder does not
// re-read and re-sort it for every page. Bounded by a total entry budget.
import { readdir, stat } from 'node:fs/promises'
import { compareKeys } from './key-order.js'
import { nativeAddon } from './native.js'

export interface SortedDir {
  /** Sort keys in S3 order: a file's name, or a folder's name + '/'. */
  readonly sortKeys: readonly string[]
  readonly isDir: Uint8Array
}

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
    cachedEntries -= hit.dir.sortKeys.length
  }
}

/** The folder's sort keys, unsorted: through the addon (one job, no Dirent per entry) when it is there. */
async function readKeys (dirPath: string, skip: string | undefined): Promise<string[]> {
  const keys: string[] = []
  const native = process.env.S3BRIDGE_NO_NATIVE_STAT === '1' ? undefined : nativeAddon()?.readDirTypes
  if (native) {
    let read: { names: string, types: Uint8Array } | undefined
    try {
      read = await native(dirPath)
    } catch (err) {
      // ENOMEM: the names would not fit one string; anything else (ENOENT, EACCES...) is the folder's answer.
      if ((err as NodeJS.ErrnoException).code !== 'ENOMEM') throw err
    }
    if (read) {
      // split, not indexOf + slice in a loop: that peaked ~100 MiB higher over a million names (measured).
      const names = read.names === '' ? [] : read.names.split('/')
      const types = read.types
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!
        if (name === skip) continue
        const type = types[i]
        if (type === 2) keys.push(name + '/')
        else if (type === 1) keys.push(name)
        // symlinks, sockets, devices and FIFOs are not objects
      }
      return keys
    }
  }
  const dirents = await readdir(dirPath, { withFileTypes: true })
  for (const d of dirents) {
    if (d.name === skip) continue
    if (d.isDirectory()) keys.push(d.name + '/')
    else if (d.isFile()) keys.push(d.name)
    // symlinks, sockets, devices and FIFOs are not objects
  }
  return keys
}

async function readSorted (dirPath: string, skip: string | undefined): Promise<SortedDir> {
  const keys = await readKeys(dirPath, skip)
  let isPlain = true
  for (let i = 0; i < keys.length && isPlain; i++) if (/[\uD800-\uFFFF]/.test(keys[i]!)) isPlain = false
  // UTF-16 order equals UTF-8 byte order unless a name holds characters past U+D7FF.
  if (isPlain) keys.sort()
  else keys.sort(compareKeys)
  const isDir = new Uint8Array(keys.length)
  for (let i = 0; i < keys.length; i++) isDir[i] = keys[i]!.endsWith('/') ? 1 : 0
  return { sortKeys: keys, isDir }
}

/** The folder's entries in S3 key order (empty when it vanished or cannot be read). */
export async function sortedDir (dirPath: string, skip?: string): Promise<SortedDir> {
  try {
    const st = await stat(dirPath, { bigint: true })
    const stamp = `${st.dev}:${st.ino}:${st.mtimeNs}:${st.ctimeNs}:${skip ?? ''}`
    const hit = cache.get(dirPath)
    if (hit && hit.stamp === stamp) {
      cache.delete(dirPath) // refresh its place in the LRU order
      cache.set(dirPath, hit)
      return hit.dir
    }
    const dir = await readSorted(dirPath, skip)
    const isStable = BigInt(Date.now()) * 1_000_000n - st.mtimeNs > RACY_WINDOW_NS
    if (hit) {
      cache.delete(dirPath)
      cachedEntries -= hit.dir.sortKeys.length
    }
    if (isStable && dir.sortKeys.length >= MIN_CACHED_ENTRIES && dir.sortKeys.length <= MAX_CACHED_ENTRIES) {
      evictFor(dir.sortKeys.length)
      cache.set(dirPath, { stamp, dir })
      cachedEntries += dir.sortKeys.length
    }
    return dir
  } catch {
    return { sortKeys: [], isDir: new Uint8Array(0) }
  }
}

/** First index whose sort key is >= target (binary search in S3 order). */
export function lowerBound (keys: readonly string[], target: string): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareKeys(keys[mid]!, target) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}
