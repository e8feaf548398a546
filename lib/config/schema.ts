// The typed, validated bridge configuration and the checks that turn raw JSON into it.
import { resolve } from 'node:path'
import { parseCorsJson, type CorsConfiguration } from './cors-rules.js'

export interface ListenerConfig { host: string, port: number }
export interface TlsConfig extends ListenerConfig { certFile: string, keyFile: string }
export interface DemoConfig { bucket: string, path: string, user: string, uid: number, gid: number }

export interface Config {
  readonly http: ListenerConfig | null
  readonly https: TlsConfig | null
  readonly admin: ListenerConfig | null
  /** Refuse plain HTTP: the http listener is not opened even when configured. */
  readonly httpsOnly: boolean
  /** Worker processes sharing the listeners (node:cluster); 1 = serve in the main process. */
  readonly workers: number
  readonly stateDir: string
  readonly region: string
  readonly baseDomains: readonly string[]
  /** Parent directory for buckets made by S3 CreateBucket. */
  readonly rootPath: string
  readonly bucketDirectoryCreateMode: number
  readonly fileCreateMode: number
  readonly dirCreateMode: number
  readonly anonymousUid: number
  readonly anonymousGid: number
  /** gid that AuthenticatedUsers maps to; null = AuthenticatedUsers grants are NotImplemented. */
  readonly authenticatedUsersGid: number | null
  /** Whether a bridge user mapped to uid 0 gets root's rights (like NFS no_root_squash). */
  readonly allowRootUsers: boolean
  /** Whether users (not only admins) may make buckets with S3 CreateBucket; a policy Deny still applies. */
  readonly allowUserBucketCreation: boolean
  readonly fsync: boolean
  readonly maxClockSkewMs: number
  readonly staleUploadHours: number
  readonly oldKeyExpiryMinutes: number
  readonly statePollMs: number
  readonly shutdownGraceMs: number
  /** A request body that sends nothing this long fails with 400 RequestTimeout (AWS: about 20 s). */
  readonly requestIdleTimeoutMs: number
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error'
  /** CORS rules (AWS CLI JSON shape in the file) for buckets without their own; null = no cross-origin access. */
  readonly defaultCors: CorsConfiguration | null
  readonly demo: DemoConfig | null
}

export class ConfigError extends Error {
  constructor (readonly field: string, expected: string, got: unknown) {
    super(`config: field "${field}" must be ${expected} (got ${JSON.stringify(got)})`)
    this.name = 'ConfigError'
  }
}

type Raw = Record<string, unknown>

const KNOWN_FIELDS = ['http', 'https', 'admin', 'stateDir', 'region', 'baseDomains', 'rootPath', 'allowUserBucketCreation',
  'bucketDirectoryCreateMode', 'fileCreateMode', 'dirCreateMode', 'anonymous', 'authenticatedUsersGid',
  'allowRootUsers', 'allowUserBucketCreation', 'fsync', 'maxClockSkewMinutes', 'staleUploadHours', 'oldKeyExpiryMinutes',
  'statePollMs', 'shutdownGraceSeconds', 'requestIdleTimeoutSeconds', 'logLevel', 'demo', 'httpsOnly', 'workers', 'defaultCors']

function obj (raw: unknown, field: string): Raw {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(field, 'an object', raw)
  return raw as Raw
}
function str (raw: Raw, field: string, prefix: string, dflt?: string): string {
  const v = raw[field] ?? dflt
  if (typeof v !== 'string' || v === '') throw new ConfigError(prefix + field, 'a non-empty string', v)
  return v
}
function int (raw: Raw, field: string, prefix: string, dflt: number, min: number, max: number): number {
  const v = raw[field] ?? dflt
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(prefix + field, `an integer from ${min} to ${max}`, v)
  }
  return v
}
function bool (raw: Raw, field: string, dflt: boolean): boolean {
  const v = raw[field] ?? dflt
  if (typeof v !== 'boolean') throw new ConfigError(field, 'true or false', v)
  return v
}
function mode (raw: Raw, field: string, dflt: string): number {
  const v = raw[field] ?? dflt
  if (typeof v !== 'string' || !/^0?[0-7]{3,4}$/.test(v)) throw new ConfigError(field, 'an octal mode string such as "0755"', v)
  const n = parseInt(v, 8)
  if (n > 0o7777) throw new ConfigError(field, 'an octal mode string such as "0755"', v)
  return n
}
function listener (raw: unknown, field: string): ListenerConfig | null {
  if (raw === undefined || raw === null) return null
  const o = obj(raw, field)
  return { host: str(o, 'host', field + '.', '127.0.0.1'), port: int(o, 'port', field + '.', 0, 0, 65535) }
}

/** Validates raw parsed JSON into a Config; relative paths resolve against baseDir. */
export function parseConfig (input: unknown, baseDir: string): Config {
  const raw = obj(input, '(top level)')
  for (const k of Object.keys(raw)) {
    if (!KNOWN_FIELDS.includes(k)) throw new ConfigError(k, `one of the known fields (${KNOWN_FIELDS.join(', ')})`, raw[k])
  }
  const http = listener(raw.http, 'http')
  let https: TlsConfig | null = null
  if (raw.https !== undefined && raw.https !== null) {
    const o = obj(raw.https, 'https')
    const l = listener(o, 'https') as ListenerConfig
    https = { ...l, certFile: resolve(baseDir, str(o, 'certFile', 'https.')), keyFile: resolve(baseDir, str(o, 'keyFile', 'https.')) }
  }
  if (http === null && https === null) throw new ConfigError('http', 'a listener {host, port} (or set https)', raw.http)
  const httpsOnly = bool(raw, 'httpsOnly', false)
  if (httpsOnly && https === null) throw new ConfigError('https', 'a listener {host, port, certFile, keyFile} when httpsOnly is true', raw.https)
  const baseDomains = raw.baseDomains ?? []
  if (!Array.isArray(baseDomains) || baseDomains.some(d => typeof d !== 'string' || !/^[a-z0-9.-]{1,255}$/i.test(d))) {
    throw new ConfigError('baseDomains', 'a list of DNS names such as ["s3.example.com"]', baseDomains)
  }
  const anon = obj(raw.anonymous ?? {}, 'anonymous')
  const authGid = raw.authenticatedUsersGid ?? null
  if (authGid !== null && (typeof authGid !== 'number' || !Number.isInteger(authGid) || authGid < 0)) {
    throw new ConfigError('authenticatedUsersGid', 'a gid (integer >= 0) or null', authGid)
  }
  const logLevel = raw.logLevel ?? 'info'
  if (logLevel !== 'debug' && logLevel !== 'info' && logLevel !== 'warn' && logLevel !== 'error') {
    throw new ConfigError('logLevel', 'one of debug, info, warn, error', logLevel)
  }
  return Object.freeze({
    http,
    https,
    admin: listener(raw.admin, 'admin'),
    httpsOnly,
    workers: int(raw, 'workers', '', 1, 1, 256),
    stateDir: resolve(baseDir, str(raw, 'stateDir', '')),
    region: str(raw, 'region', '', 'us-east-1'),
    baseDomains: Object.freeze((baseDomains as string[]).map(d => d.toLowerCase())),
    rootPath: resolve(baseDir, str(raw, 'rootPath', '')),
    bucketDirectoryCreateMode: mode(raw, 'bucketDirectoryCreateMode', '0755'),
    fileCreateMode: mode(raw, 'fileCreateMode', '0644'),
    dirCreateMode: mode(raw, 'dirCreateMode', '0755'),
    anonymousUid: int(anon, 'uid', 'anonymous.', 65534, 0, 2 ** 32 - 2),
    anonymousGid: int(anon, 'gid', 'anonymous.', 65534, 0, 2 ** 32 - 2),
    authenticatedUsersGid: authGid as number | null,
    allowRootUsers: bool(raw, 'allowRootUsers', false),
    allowUserBucketCreation: bool(raw, 'allowUserBucketCreation', true),
    fsync: bool(raw, 'fsync', false),
    maxClockSkewMs: int(raw, 'maxClockSkewMinutes', '', 15, 1, 24 * 60) * 60_000,
    staleUploadHours: int(raw, 'staleUploadHours', '', 24 * 7, 1, 24 * 365),
    oldKeyExpiryMinutes: int(raw, 'oldKeyExpiryMinutes', '', 10, 0, 1440),
    statePollMs: int(raw, 'statePollMs', '', 2000, 100, 60_000),
    shutdownGraceMs: int(raw, 'shutdownGraceSeconds', '', 30, 0, 3600) * 1000,
    requestIdleTimeoutMs: int(raw, 'requestIdleTimeoutSeconds', '', 20, 1, 3600) * 1000,
    logLevel,
    defaultCors: corsRules(raw.defaultCors),
    demo: parseDemo(raw.demo, baseDir),
  })
}

/** Checked with AWS's CORS rules here, so a bad list stops the start or is refused by a reload, not by a request. */
function corsRules (raw: unknown): CorsConfiguration | null {
  if (raw === undefined || raw === null) return null
  const expected = 'null or a list of CORS rules such as [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]'
  if (!Array.isArray(raw) || raw.length === 0 || raw.some(r => typeof r !== 'object' || r === null || Array.isArray(r))) {
    throw new ConfigError('defaultCors', expected, raw)
  }
  try {
    return parseCorsJson(raw)
  } catch (err) {
    throw new ConfigError('defaultCors', `${expected}; ${(err as Error).message}`, raw)
  }
}

function parseDemo (raw: unknown, baseDir: string): DemoConfig | null {
  if (raw === undefined || raw === null) return null
  const o = obj(raw, 'demo')
  return {
    bucket: str(o, 'bucket', 'demo.'),
    path: resolve(baseDir, str(o, 'path', 'demo.')),
    user: str(o, 'user', 'demo.', 'demo'),
    uid: int(o, 'uid', 'demo.', 1000, 0, 2 ** 32 - 2),
    gid: int(o, 'gid', 'demo.', 1000, 0, 2 ** 32 - 2),
  }
}
