// Branded keys and the shapes storage hands back (files and streams, never HTTP).
import type { Readable } from 'node:stream'

export type ObjectKey = string & { readonly brand: 'ObjectKey' }

export interface StandardHeaders {
  contentType?: string
  contentEncoding?: string
  contentDisposition?: string
  contentLanguage?: string
  cacheControl?: string
  expires?: string
}

export interface ObjectMeta extends StandardHeaders {
  /** x-amz-meta-* without the prefix, lower-case names. */
  user: Record<string, string>
  /** x-amz-checksum-<alg> the client sent, algorithm -> base64. */
  checksums?: Record<string, string>
  /** The object's tag set (x-amz-tagging, PutObjectTagging), in the order it was given. */
  tags?: ObjectTag[]
  /** x-amz-website-redirect-location: kept and returned; the bridge serves no website endpoint to act on it. */
  websiteRedirectLocation?: string
}

export interface ObjectTag { key: string, value: string }

export interface ObjectInfo {
  key: ObjectKey
  size: number
  etag: string
  lastModified: Date
  isDirectoryMarker: boolean
  meta: ObjectMeta
  /** Number of parts for a multipart object, when known. */
  partCount?: number
  /** A multipart object's part sizes and the parts' checksums, as Complete stored them (not yet checked). */
  partTable?: { sizes: unknown, checksums?: string[] }
  ownerUid: number
  ownerGid: number
  /** The file's permission bits (a copy's new file gets no more than these). */
  mode: number
}

export interface ObjectStream {
  info: ObjectInfo
  body: Readable
  /** Inclusive byte range actually served. */
  range?: { start: number, end: number }
}

/** What GetObject serves: a stream, or for small objects and ranges the bytes themselves. */
export interface ServedObject {
  info: ObjectInfo
  body: Readable | Buffer
  range?: { start: number, end: number }
}

export interface PosixOwner { uid: number, gid: number }
