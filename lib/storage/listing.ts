// Listing: walks bucket directories depth-first in S3 key order, with prefix, delimiter and markers.
import { lstat } from 'node:fs/promises'
import { lowerBound, sortedDir } from './dir-cache.js'
import { join } from 'node:path'
import { compareKeys } from './key-order.js'
import { STAGING_DIR } from './paths.js'
import { objectInfo, type BucketRef } from './objects.js'
import { readStoredMeta } from './xattrs.js'
import type { ObjectInfo, ObjectKey } from './types.js'

export interface ListParams {
  prefix: string
  delimiter?: string
  /** Exclusive lower bound (marker, start-after, continuation token). */
  after?: string
  maxKeys: number
  /** Permission hook: may the principal list this directory? Unreadable folders are skipped. */
  canEnter?: (dirPath: string) => Promise<boolean>
}

export interface ListPage {
  objects: ObjectInfo[]
  commonPrefixes: string[]
  isTruncated: boolean
  /** The last key or common prefix returned, for the next page's marker. */
  lastReturned?: string
}

type Entry = { kind: 'object', info: ObjectInfo } | { kind: 'dir', key: string, path: string }

const STAT_BATCH = 64

/** Where to start in a sorted folder: skip entries below the prefix and the lower bound, by binary search. */
function startIndex (keys: readonly string[], isDir: Uint8Array, dirKey: string, p: ListParams): number {
  let start = 0
  if (p.prefix.length > dirKey.length && p.prefix.startsWith(dirKey)) {
    const rest = p.prefix.slice(dirKey.length)
    start = lowerBound(keys, rest)
    // A folder whose key is a prefix of the wanted prefix ("a/" for "a/b") sorts just before it.
    if (start > 0 && isDir[start - 1] === 1 && rest.startsWith(keys[start - 1]!)) start--
  }
  if (p.after !== undefined && p.after.startsWith(dirKey) && p.after.length > dirKey.length) {
    const rest = p.after.slice(dirKey.length)
    let i = lowerBound(keys, rest)
    if (i > 0 && isDir[i - 1] === 1 && rest.startsWith(keys[i - 1]!)) i--
    start = Math.max(start, i)
  }
  return start
}

/** Can any key under folder key D satisfy the prefix and the lower bound? */
function folderMayMatch (d: string, prefix: string, after: string | undefined): boolean {
  if (!(d.startsWith(prefix) || prefix.startsWith(d))) return false
  if (after === undefined || compareKeys(d, after) > 0 || after.startsWith(d)) return true
  return false
}

async function * walk (bucket: BucketRef, dirPath: string, dirKey: string, p: ListParams, collapse: boolean): AsyncGenerator<Entry> {
  const { sortKeys, isDir } = await sortedDir(dirPath, dirKey === '' ? STAGING_DIR : undefined)
  const entries = { length: sortKeys.length }
  const entryAt = (i: number): { name: string, sortKey: string, isDir: boolean } => {
    const sortKey = sortKeys[i]!
    const dir = isDir[i] === 1
    return { name: dir ? sortKey.slice(0, -1) : sortKey, sortKey, isDir: dir }
  }
  for (let i = startIndex(sortKeys, isDir, dirKey, p); i < entries.length; i++) {
    const e = entryAt(i)
    const key = dirKey + e.sortKey
    if (!key.startsWith(p.prefix) && !p.prefix.startsWith(key)) {
      if (compareKeys(key, p.prefix) > 0) break // sorted: nothing later can match the prefix
      continue
    }
    if (e.isDir) {
      if (!folderMayMatch(key, p.prefix, p.after)) continue
      const path = join(dirPath, e.name)
      if (collapse && key.startsWith(p.prefix) && key.length > p.prefix.length) {
        yield { kind: 'dir', key, path } // delimiter '/': the folder is one common prefix, no need to descend
        continue
      }
      if (p.canEnter && !await p.canEnter(path)) continue
      const st = await lstat(path, { bigint: true }).catch(() => undefined)
      if (!st?.isDirectory()) continue
      const stored = await readStoredMeta(path)
      if (stored && key.startsWith(p.prefix) && (p.after === undefined || compareKeys(key, p.after) > 0)) {
        yield { kind: 'object', info: objectInfo(key as ObjectKey, st, stored) }
      }
      yield * walk(bucket, path, key, p, collapse)
      continue
    }
    if (!key.startsWith(p.prefix) || (p.after !== undefined && compareKeys(key, p.after) <= 0)) continue
    // Stat a run of files together so the thread pool works in parallel.
    const run = [e]
    while (run.length < STAT_BATCH && i + 1 < entries.length && isDir[i + 1] === 0) {
      const next = entryAt(i + 1)
      if (!(dirKey + next.sortKey).startsWith(p.prefix)) break
      run.push(next)
      i++
    }
    const infos = await Promise.all(run.map(async f => {
      const path = join(dirPath, f.name)
      const st = await lstat(path, { bigint: true }).catch(() => undefined)
      if (!st?.isFile()) return undefined
      return objectInfo((dirKey + f.sortKey) as ObjectKey, st, await readStoredMeta(path))
    }))
    for (const info of infos) if (info) yield { kind: 'object', info }
  }
}

/** Folder that holds every key with this prefix: the prefix up to its last '/'. */
function startFolder (prefix: string): string {
  const cut = prefix.lastIndexOf('/')
  return cut < 0 ? '' : prefix.slice(0, cut + 1)
}

export async function listObjects (bucket: BucketRef, p: ListParams): Promise<ListPage> {
  const page: ListPage = { objects: [], commonPrefixes: [], isTruncated: false }
  const folderKey = startFolder(p.prefix)
  // Keys never start with '/' nor hold empty segments: such a prefix matches nothing (and must not be
  // collapsed into a real folder by the path split below).
  if (folderKey.startsWith('/') || folderKey.includes('//')) return page
  let dirPath = bucket.root
  for (const seg of folderKey.split('/').filter(Boolean)) {
    dirPath = join(dirPath, seg)
    const st = await lstat(dirPath).catch(() => undefined)
    if (!st?.isDirectory() || seg === STAGING_DIR) return page
  }
  if (folderKey !== '' && p.canEnter && !await p.canEnter(dirPath)) return page
  const collapse = p.delimiter === '/'
  let lastPrefix: string | undefined
  let count = 0
  for await (const entry of walk(bucket, dirPath, folderKey, p, collapse)) {
    const key = entry.kind === 'object' ? entry.info.key : entry.key
    let commonPrefix: string | undefined
    if (p.delimiter) {
      const cut = key.indexOf(p.delimiter, p.prefix.length)
      if (cut >= 0) commonPrefix = key.slice(0, cut + p.delimiter.length)
    }
    if (commonPrefix !== undefined && commonPrefix === lastPrefix) continue
    if (commonPrefix !== undefined && p.after !== undefined && compareKeys(commonPrefix, p.after) <= 0) continue
    if (count >= p.maxKeys) {
      page.isTruncated = true
      break
    }
    if (commonPrefix !== undefined) {
      page.commonPrefixes.push(commonPrefix)
      lastPrefix = commonPrefix
      page.lastReturned = commonPrefix
    } else if (entry.kind === 'object') {
      page.objects.push(entry.info)
      page.lastReturned = key
    } else {
      continue
    }
    count++
  }
  return page
}
