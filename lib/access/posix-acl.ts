// POSIX ACL codec: the system.posix_acl_{access,default} xattr format, validation, mode helpers and getfacl-style text.
import { S3Error } from '../errors/s3-error.js'

export const ACL_ACCESS_XATTR = 'system.posix_acl_access'
export const ACL_DEFAULT_XATTR = 'system.posix_acl_default'

/** Permission bits of an entry, as in `include/uapi/linux/posix_acl.h`. */
export const ACL_READ = 0x04
export const ACL_WRITE = 0x02
export const ACL_EXECUTE = 0x01

/** On-disk tag values; their numeric order is the order the kernel requires. */
export const ACL_TAG_VALUES = {
  USER_OBJ: 0x01, USER: 0x02, GROUP_OBJ: 0x04, GROUP: 0x08, MASK: 0x10, OTHER: 0x20,
} as const

export type AclQualifiedTag = 'USER' | 'GROUP'
export type AclUnqualifiedTag = 'USER_OBJ' | 'GROUP_OBJ' | 'MASK' | 'OTHER'
export type AclTag = AclQualifiedTag | AclUnqualifiedTag

/** One ACL entry; `perm` is a 0-7 combination of ACL_READ, ACL_WRITE and ACL_EXECUTE. */
export type AclEntry =
  | { readonly tag: AclUnqualifiedTag, readonly perm: number }
  | { readonly tag: AclQualifiedTag, readonly id: number, readonly perm: number }

export type PosixAcl = readonly AclEntry[]

const ACL_XATTR_VERSION = 0x0002
const ACL_UNDEFINED_ID = 0xffffffff
const HEADER_BYTES = 4
const ENTRY_BYTES = 8

const TAG_BY_VALUE = new Map<number, AclTag>(
  Object.entries(ACL_TAG_VALUES).map(([name, value]) => [value, name as AclTag]))

function invalid(message: string): S3Error {
  return new S3Error('InternalError', {}, { message: `Invalid POSIX ACL: ${message}` })
}

export function isQualified(entry: AclEntry): entry is Extract<AclEntry, { id: number }> {
  return entry.tag === 'USER' || entry.tag === 'GROUP'
}

/** Decodes an xattr value; throws S3Error InternalError on a malformed value. */
export function decodePosixAcl(bytes: Uint8Array): AclEntry[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.length < HEADER_BYTES || (buf.length - HEADER_BYTES) % ENTRY_BYTES !== 0)
    throw invalid(`length ${buf.length} is not 4 + 8n`)
  const version = buf.readUInt32LE(0)
  if (version !== ACL_XATTR_VERSION) throw invalid(`version ${version}, expected 2`)
  const entries: AclEntry[] = []
  for (let off = HEADER_BYTES; off < buf.length; off += ENTRY_BYTES) {
    const tagValue = buf.readUInt16LE(off)
    const perm = buf.readUInt16LE(off + 2)
    const id = buf.readUInt32LE(off + 4)
    const tag = TAG_BY_VALUE.get(tagValue)
    if (tag === undefined) throw invalid(`unknown tag 0x${tagValue.toString(16)}`)
    if (perm > 7) throw invalid(`perm 0x${perm.toString(16)} has bits beyond rwx`)
    entries.push(tag === 'USER' || tag === 'GROUP' ? { tag, id, perm } : { tag, perm })
  }
  return entries
}

/** Sorts entries into kernel order: by tag value, then by id. */
export function sortPosixAcl(entries: PosixAcl): AclEntry[] {
  return [...entries].sort((a, b) =>
    ACL_TAG_VALUES[a.tag] - ACL_TAG_VALUES[b.tag] || (isQualified(a) && isQualified(b) ? a.id - b.id : 0))
}

/**
 * Checks an ACL as posix_acl_valid() does (after sorting): returns a description of the
 * first problem, or undefined when the kernel would accept it.
 */
export function validatePosixAcl(entries: PosixAcl): string | undefined {
  const counts = { USER_OBJ: 0, USER: 0, GROUP_OBJ: 0, GROUP: 0, MASK: 0, OTHER: 0 }
  const seen = new Set<string>()
  for (const entry of entries) {
    if (!Number.isInteger(entry.perm) || entry.perm < 0 || entry.perm > 7)
      return `${entry.tag} perm ${entry.perm} is not within rwx`
    counts[entry.tag]++
    if (isQualified(entry)) {
      if (!Number.isInteger(entry.id) || entry.id < 0 || entry.id >= ACL_UNDEFINED_ID)
        return `${entry.tag} id ${entry.id} is not a valid uid/gid`
      const key = `${entry.tag}:${entry.id}`
      if (seen.has(key)) return `duplicate ${entry.tag} entry for id ${entry.id}`
      seen.add(key)
    }
  }
  for (const tag of ['USER_OBJ', 'GROUP_OBJ', 'OTHER'] as const)
    if (counts[tag] !== 1) return `needs exactly one ${tag} entry, found ${counts[tag]}`
  if (counts.MASK > 1) return `needs at most one MASK entry, found ${counts.MASK}`
  if (counts.MASK === 0 && counts.USER + counts.GROUP > 0) return 'named USER or GROUP entries require a MASK entry'
  return undefined
}

/** Encodes entries (any order) into the bytes setfacl writes; throws S3Error InternalError if invalid. */
export function encodePosixAcl(entries: PosixAcl): Buffer {
  const problem = validatePosixAcl(entries)
  if (problem !== undefined) throw invalid(problem)
  const sorted = sortPosixAcl(entries)
  const buf = Buffer.alloc(HEADER_BYTES + ENTRY_BYTES * sorted.length)
  buf.writeUInt32LE(ACL_XATTR_VERSION, 0)
  sorted.forEach((entry, i) => {
    const off = HEADER_BYTES + ENTRY_BYTES * i
    buf.writeUInt16LE(ACL_TAG_VALUES[entry.tag], off)
    buf.writeUInt16LE(entry.perm, off + 2)
    buf.writeUInt32LE(isQualified(entry) ? entry.id : ACL_UNDEFINED_ID, off + 4)
  })
  return buf
}

/** The minimal three-entry ACL equivalent to a mode's permission bits. */
export function aclFromMode(mode: number): AclEntry[] {
  return [
    { tag: 'USER_OBJ', perm: (mode >> 6) & 7 },
    { tag: 'GROUP_OBJ', perm: (mode >> 3) & 7 },
    { tag: 'OTHER', perm: mode & 7 },
  ]
}

function permOf(entries: PosixAcl, tag: AclUnqualifiedTag): number | undefined {
  return entries.find(e => e.tag === tag)?.perm
}

/** The 0o777 permission bits the kernel keeps in st_mode for an ACL: group bits = MASK when present. */
export function modeFromAcl(entries: PosixAcl): number {
  const user = permOf(entries, 'USER_OBJ') ?? 0
  const group = permOf(entries, 'MASK') ?? permOf(entries, 'GROUP_OBJ') ?? 0
  const other = permOf(entries, 'OTHER') ?? 0
  return (user << 6) | (group << 3) | other
}

/** True when the ACL says nothing beyond the mode bits (the kernel then stores no xattr). */
export function isMinimalAcl(entries: PosixAcl): boolean {
  return entries.every(e => e.tag === 'USER_OBJ' || e.tag === 'GROUP_OBJ' || e.tag === 'OTHER')
}

/** What chmod(2) does to an ACL (__posix_acl_chmod): USER_OBJ, MASK (else GROUP_OBJ) and OTHER take the mode. */
export function chmodAcl(entries: PosixAcl, mode: number): AclEntry[] {
  const hasMask = entries.some(e => e.tag === 'MASK')
  return entries.map((entry): AclEntry => {
    switch (entry.tag) {
      case 'USER_OBJ': return { tag: entry.tag, perm: (mode >> 6) & 7 }
      case 'MASK': return { tag: entry.tag, perm: (mode >> 3) & 7 }
      case 'GROUP_OBJ': return hasMask ? entry : { tag: entry.tag, perm: (mode >> 3) & 7 }
      case 'OTHER': return { tag: entry.tag, perm: mode & 7 }
      default: return entry
    }
  })
}

/** 'rw-' style text for a perm value. */
export function formatPerm(perm: number): string {
  return `${perm & ACL_READ ? 'r' : '-'}${perm & ACL_WRITE ? 'w' : '-'}${perm & ACL_EXECUTE ? 'x' : '-'}`
}

const TEXT_PREFIX: Record<AclTag, string> = {
  USER_OBJ: 'user:', USER: 'user:', GROUP_OBJ: 'group:', GROUP: 'group:', MASK: 'mask:', OTHER: 'other:',
}

export interface FormatAclOptions {
  /** Name for a uid/gid (as getfacl without -n); numeric ids when absent or when it returns undefined. */
  readonly nameOf?: (tag: AclQualifiedTag, id: number) => string | undefined
  /** Append getfacl's `\t#effective:` comment where the mask removes bits. Default true. */
  readonly showEffective?: boolean
}

/** One entry as getfacl prints it, e.g. `user:1001:rw-` or `mask::r--`. */
export function formatAclEntry(entry: AclEntry, options: FormatAclOptions = {}): string {
  const qualifier = isQualified(entry) ? (options.nameOf?.(entry.tag, entry.id) ?? String(entry.id)) : ''
  return `${TEXT_PREFIX[entry.tag]}${qualifier}:${formatPerm(entry.perm)}`
}

/** getfacl's entry lines (no header), in kernel order, joined with newlines. */
export function formatPosixAcl(entries: PosixAcl, options: FormatAclOptions = {}): string {
  const mask = permOf(entries, 'MASK')
  const showEffective = options.showEffective ?? true
  return sortPosixAcl(entries).map(entry => {
    const text = formatAclEntry(entry, options)
    const isMasked = entry.tag === 'USER' || entry.tag === 'GROUP' || entry.tag === 'GROUP_OBJ'
    if (!showEffective || mask === undefined || !isMasked || (entry.perm & mask) === entry.perm) return text
    return `${text}\t#effective:${formatPerm(entry.perm & mask)}`
  }).join('\n')
}

const TAG_BY_WORD: Record<string, { named?: AclQualifiedTag, unnamed: AclUnqualifiedTag } | undefined> = {
  u: { named: 'USER', unnamed: 'USER_OBJ' }, user: { named: 'USER', unnamed: 'USER_OBJ' },
  g: { named: 'GROUP', unnamed: 'GROUP_OBJ' }, group: { named: 'GROUP', unnamed: 'GROUP_OBJ' },
  m: { unnamed: 'MASK' }, mask: { unnamed: 'MASK' },
  o: { unnamed: 'OTHER' }, other: { unnamed: 'OTHER' },
}

function parsePerm(text: string): number | undefined {
  if (/^[0-7]$/.test(text)) return Number(text)
  let perm = 0
  for (const ch of text) {
    if (ch === 'r') perm |= ACL_READ
    else if (ch === 'w') perm |= ACL_WRITE
    else if (ch === 'x') perm |= ACL_EXECUTE
    else if (ch !== '-') return undefined
  }
  return perm
}

/**
 * Parses numeric setfacl/getfacl text (`u::rw-,u:1001:r,g::r--,m::rw,o::-`, commas or newlines,
 * `#` comments ignored). Throws S3Error InternalError on text it cannot read; does not validate.
 */
export function parsePosixAclText(text: string): AclEntry[] {
  const entries: AclEntry[] = []
  for (const raw of text.split(/[,\n]/)) {
    const line = raw.replace(/#.*/, '').trim()
    if (line === '') continue
    const match = /^([a-z]+):([0-9]*):?([rwx-]*|[0-7])$/.exec(line)
    const tags = match ? TAG_BY_WORD[match[1] ?? ''] : undefined
    const perm = match ? parsePerm(match[3] ?? '') : undefined
    if (!match || tags === undefined || perm === undefined) throw invalid(`cannot parse entry '${line}'`)
    const qualifier = match[2] ?? ''
    if (qualifier === '') entries.push({ tag: tags.unnamed, perm })
    else if (tags.named !== undefined) entries.push({ tag: tags.named, id: Number(qualifier), perm })
    else throw invalid(`entry '${line}' takes no qualifier`)
  }
  return entries
}
