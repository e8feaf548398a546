// STS session tokens: stateless, AES-256-GCM sealed with a per-installation key kept in the state directory.
import { createCipheriv, createDecipheriv, randomBytes, randomInt } from 'node:crypto'
import { closeSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { S3Error } from '../errors/s3-error.js'
import type { State, UserRecord } from '../state/types.js'

/** What a session token carries; every daemon sharing the state directory can open it. */
export interface SessionClaims {
  /** The user the session acts as. */
  user: string
  /** The long-term access key that asked for the session: deleting it ends the session. */
  parentAccessKeyId: string
  accessKeyId: string
  secretAccessKey: string
  issuedAt: Date
  expiresAt: Date
  /** Session policy text: it can only narrow the user's rights. */
  policy?: string
  /**
   * Named policies (AssumeRole's PolicyArns: built-in or bridgectl policies) that, with `policy`, form the session
   * policy: their statements together, as AWS combines an inline and managed session policies.
   */
  policyNames?: string[]
  /**
   * When the parent key's secret that asked for the session was made: the session lives only while that secret
   * does (current, or old inside its rotation window), so rotating a leaked secret ends the sessions minted with it.
   */
  parentSecretCreatedAt?: string
}

const KEY_FILE = 'session.key'
const TOKEN_PREFIX = 'SBS1'
const AAD = Buffer.from('s3bridge-session-v1')
const IV_BYTES = 12
const TAG_BYTES = 16
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** Temporary access key ids start with ASIA, as AWS's do, so tools recognise them. */
export function newSessionAccessKeyId (): string {
  let id = 'ASIA'
  for (let i = 0; i < 16; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)]
  return id
}

/**
 * The sealing key of this installation: 32 random bytes in `session.key` (mode 0600) in the state directory,
 * made on first use. link(2) publishes it atomically, so two daemons racing to create it agree on one key.
 */
export function sessionKey (stateDir: string): Buffer {
  const path = join(stateDir, KEY_FILE)
  try {
    return readKey(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  const fd = openSync(tmp, 'wx', 0o600)
  try { writeSync(fd, randomBytes(32).toString('hex') + '\n') } finally { closeSync(fd) }
  try {
    linkSync(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  } finally {
    unlinkSync(tmp)
  }
  return readKey(path)
}

function readKey (path: string): Buffer {
  const text = readFileSync(path, 'utf8').trim()
  if (!/^[0-9a-f]{64}$/.test(text)) throw new Error(`${path} does not hold a 256-bit hex key`)
  return Buffer.from(text, 'hex')
}

interface WireClaims { u: string, p: string, a: string, s: string, i: number, e: number, pol?: string, pn?: string[], pc?: string }

export function sealSession (claims: SessionClaims, key: Buffer): string {
  const wire: WireClaims = {
    u: claims.user,
    p: claims.parentAccessKeyId,
    a: claims.accessKeyId,
    s: claims.secretAccessKey,
    i: Math.floor(claims.issuedAt.getTime() / 1000),
    e: Math.floor(claims.expiresAt.getTime() / 1000),
    ...(claims.policy === undefined ? {} : { pol: claims.policy }),
    ...(claims.policyNames === undefined ? {} : { pn: claims.policyNames }),
    ...(claims.parentSecretCreatedAt === undefined ? {} : { pc: claims.parentSecretCreatedAt }),
  }
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(AAD)
  const sealed = Buffer.concat([iv, cipher.update(JSON.stringify(wire), 'utf8'), cipher.final(), cipher.getAuthTag()])
  return TOKEN_PREFIX + sealed.toString('base64url')
}

/** The claims of a token this installation sealed; undefined for anything forged, truncated or garbled. */
export function openSession (token: string, key: Buffer): SessionClaims | undefined {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined
  const sealed = Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url')
  if (sealed.length < IV_BYTES + TAG_BYTES + 2) return undefined
  let wire: unknown
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES))
    decipher.setAAD(AAD)
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
    const plain = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()])
    wire = JSON.parse(plain.toString('utf8'))
  } catch {
    return undefined
  }
  return isWireClaims(wire) ? fromWire(wire) : undefined
}

function isWireClaims (v: unknown): v is WireClaims {
  if (typeof v !== 'object' || v === null) return false
  const w = v as Record<string, unknown>
  return typeof w.u === 'string' && typeof w.p === 'string' && typeof w.a === 'string' && typeof w.s === 'string'
    && typeof w.i === 'number' && typeof w.e === 'number' && (w.pol === undefined || typeof w.pol === 'string')
    && (w.pn === undefined || (Array.isArray(w.pn) && w.pn.every(n => typeof n === 'string'))) && (w.pc === undefined || typeof w.pc === 'string')
}

function fromWire (w: WireClaims): SessionClaims {
  return {
    user: w.u,
    parentAccessKeyId: w.p,
    accessKeyId: w.a,
    secretAccessKey: w.s,
    issuedAt: new Date(w.i * 1000),
    expiresAt: new Date(w.e * 1000),
    ...(w.pol === undefined ? {} : { policy: w.pol }),
    ...(w.pn === undefined ? {} : { policyNames: w.pn }),
    ...(w.pc === undefined ? {} : { parentSecretCreatedAt: w.pc }),
  }
}

/**
 * Opens a request's token and checks it is still alive: not expired, its user enabled, its parent key
 * present and active, and the parent's secret that asked for it still valid. Throws InvalidToken or ExpiredToken, the errors S3 answers.
 */
export function resolveSession (state: State, token: string, now: Date, key: Buffer): { claims: SessionClaims, user: UserRecord } {
  const claims = openSession(token, key)
  if (!claims) throw new S3Error('InvalidToken')
  if (claims.expiresAt.getTime() <= now.getTime()) throw new S3Error('ExpiredToken')
  const user = state.users[claims.user]
  const parent = user?.keys.find(k => k.accessKeyId === claims.parentAccessKeyId)
  const isParentAlive = parent !== undefined && parent.status === 'Active' && !(parent.expiresAt && Date.parse(parent.expiresAt) <= now.getTime())
  if (!user || !user.enabled || !isParentAlive) {
    throw new S3Error('InvalidToken', {}, { message: 'The provided token is no longer valid: its user or parent access key is disabled or deleted.' })
  }
  const pc = claims.parentSecretCreatedAt // absent in tokens sealed before it was kept: they live as they did
  const isSecretAlive = pc === undefined || parent.createdAt === pc ||
    (parent.oldCreatedAt === pc && parent.oldExpiresAt !== undefined && Date.parse(parent.oldExpiresAt) > now.getTime())
  if (!isSecretAlive) throw new S3Error('InvalidToken', {}, { message: 'The provided token is no longer valid: the secret that asked for it was rotated away.' })
  return { claims, user }
}
