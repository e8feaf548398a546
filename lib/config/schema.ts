// The typed, validated bridge configuration and the checks that turn raw JSON into it.
import { S3Error } from '../errors/s3-error.js'
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
  /**
   * A CompleteMultipartUpload still assembling after this long answers 200 at once and sends a space this often
   * until its XML (or an <Error> document) is ready, as AWS does, so clients' read timeouts (60 s in botocore) do
   * not fire while tens of GiB are copied.
   */
  readonly completeKeepAliveMs: number
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

/** A start failure caused by a valid-looking field (a missing certificate, a busy port): names the field the OS error does not. */
export function fieldFailure (field: string, value: string, err: unknown): Error {
  return new Error(`config field "${field}" (${value}): ${(err as Error).message ?? String(err)}`, { cause: err })
}

type Raw = Record<string, unknown>

const KNOWN_FIELDS = ['http', 'https', 'admin', 'stateDir', 'region', 'baseDomains', 'rootPath', 'allowUserBucketCreation',
  'bucketDirectoryCreateMode', 'fileCreateMode', 'dirCreateMode', 'anonymous', 'authenticatedUsersGid',
  'allowRootUsers', 'allowUserBucketCreation', 'fsync', 'maxClockSkewMinutes', 'staleUploadHours', 'oldKeyExpiryMinutes',
  'statePollMs', 'shutdownGraceSeconds', 'requestIdleTimeoutSeconds', 'completeKeepAliveMs', 'logLevel', 'demo', 'httpsOnly', 'workers', 'defaultCors']

/** An object whose keys are all known: a typo inside a section is refused like one at the top level. */
function obj (raw: unknown, field: string, known: readonly string[]): Raw {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(field, 'an object', raw)
  const o = raw as Raw
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new ConfigError(field === '(top level)' ? k : `${field}.${k}`, `one of the known fields (${known.join(', ')})`, o[k])
  }
  return o
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
/** Mode bits a create mode may not carry, and why (setgid on folders is how group-shared trees work). */
const FORBIDDEN_BITS = {
  file: { bits: 0o6000, why: 'without setuid or setgid bits: every uploaded file would run as its owner or group' },
  dir: { bits: 0o4000, why: 'without the setuid bit, which means nothing on folders (setgid and sticky are fine)' },
} as const

function mode (raw: Raw, field: string, dflt: string, kind: keyof typeof FORBIDDEN_BITS): number {
  const v = raw[field] ?? dflt
  const expected = 'an octal mode string such as "0755"'
  if (typeof v !== 'string' || !/^0?[0-7]{3,4}$/.test(v)) throw new ConfigError(field, expected, v)
  const n = parseInt(v, 8)
  if (n > 0o7777) throw new ConfigError(field, expected, v)
  if ((n & FORBIDDEN_BITS[kind].bits) !== 0) throw new ConfigError(field, `${expected}, ${FORBIDDEN_BITS[kind].why}`, v)
  return n
}
/** A configured listener needs its port: a missing one would silently listen on a random port. 0 (any) must be explicit. */
function listener (raw: unknown, field: string, known: readonly string[] = LISTENER_FIELDS): ListenerConfig | null {
  if (raw === undefined || raw === null) return null
  const o = obj(raw, field, known)
  if (o.port === undefined) throw new ConfigError(`${field}.port`, 'a port from 0 to 65535 (0: any free port)', undefined)
  return { host: str(o, 'host', field + '.', '127.0.0.1'), port: int(o, 'port', field + '.', 0, 0, 65535) }
}
/** uid/gid 0 for unsigned requests would give anyone who reaches the endpoint root's file access. */
function nonRootId (raw: Raw, field: string, prefix: string): number {
  const v = int(raw, field, prefix, 65534, 0, 2 ** 32 - 2)
  if (v === 0) throw new ConfigError(prefix + field, 'an id other than 0 (unsigned requests must not act as root; default 65534, nobody)', v)
  return v
}

const LISTENER_FIELDS = ['host', 'port'] as const
const TLS_FIELDS = ['host', 'port', 'certFile', 'keyFile'] as const

/** Validates raw parsed JSON into a Config; relative paths resolve against baseDir. */
export function parseConfig (input: unknown, baseDir: string): Config {
  const raw = obj(input, '(top level)', KNOWN_FIELDS)
  const http = listener(raw.http, 'http')
  let https: TlsConfig | null = null
  if (raw.https !== undefined && raw.https !== null) {
    const o = obj(raw.https, 'https', TLS_FIELDS)
    const l = listener(o, 'https', TLS_FIELDS) as ListenerConfig
    https = { ...l, certFile: resolve(baseDir, str(o, 'certFile', 'https.')), keyFile: resolve(baseDir, str(o, 'keyFile', 'https.')) }
  }
  if (http === null && https === null) throw new ConfigError('http', 'a listener {host, port} (or set https)', raw.http)
  const httpsOnly = bool(raw, 'httpsOnly', false)
  if (httpsOnly && https === null) throw new ConfigError('https', 'a listener {host, port, certFile, keyFile} when httpsOnly is true', raw.https)
  const baseDomains = raw.baseDomains ?? []
  if (!Array.isArray(baseDomains) || baseDomains.some(d => typeof d !== 'string' || !/^[a-z0-9.-]{1,255}$/i.test(d))) {
    throw new ConfigError('baseDomains', 'a list of DNS names such as ["s3.example.com"]', baseDomains)
  }
  const anon = obj(raw.anonymous ?? {}, 'anonymous', ['uid', 'gid'])
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
    region: region(raw),
    baseDomains: Object.freeze((baseDomains as string[]).map(d => d.toLowerCase())),
    rootPath: resolve(baseDir, str(raw, 'rootPath', '')),
    bucketDirectoryCreateMode: mode(raw, 'bucketDirectoryCreateMode', '0755', 'dir'),
    fileCreateMode: mode(raw, 'fileCreateMode', '0644', 'file'),
    dirCreateMode: mode(raw, 'dirCreateMode', '0755', 'dir'),
    anonymousUid: nonRootId(anon, 'uid', 'anonymous.'),
    anonymousGid: nonRootId(anon, 'gid', 'anonymous.'),
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
    completeKeepAliveMs: int(raw, 'completeKeepAliveMs', '', 2000, 0, 20_000), // a space at least every 20 s, well inside 60 s read timeouts
    logLevel,
    defaultCors: corsRules(raw.defaultCors),
    demo: parseDemo(raw.demo, baseDir),
  })
}

function region (raw: Raw): string {
  const v = str(raw, 'region', '', 'us-east-1')
  if (!/^[a-z0-9-]{1,64}$/.test(v)) throw new ConfigError('region', 'a region name such as "us-east-1"', v)
  return v
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
    // S3's MalformedXML text speaks of XML; this list is JSON: say what its rules may not be.
    const why = err instanceof S3Error && err.code === 'MalformedXML'
      ? 'a rule has no AllowedOrigins or AllowedMethods, an ID over 255 characters, a MaxAgeSeconds that is not a whole number of seconds, or a field that is not a list of strings'
      : (err as Error).message
    throw new ConfigError('defaultCors', `${expected}; ${why}`, raw)
  }
}

function parseDemo (raw: unknown, baseDir: string): DemoConfig | null {
  if (raw === undefined || raw === null) return null
  const o = obj(raw, 'demo', ['bucket', 'path', 'user', 'uid', 'gid'])
  return {
    bucket: str(o, 'bucket', 'demo.'),
    path: resolve(baseDir, str(o, 'path', 'demo.')),
    user: str(o, 'user', 'demo.', 'demo'),
    uid: int(o, 'uid', 'demo.', 1000, 0, 2 ** 32 - 2),
    gid: int(o, 'gid', 'demo.', 1000, 0, 2 ** 32 - 2),
  }
}
