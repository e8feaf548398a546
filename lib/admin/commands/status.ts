// bridgectl status (is the daemon up, what the state holds, is every bucket's directory there) and bridgectl settings
// (the effective configuration, defaults filled in). Settings live in the config file: edit it, then SIGHUP.
import { request } from 'node:http'
import { listAllUploads } from '../../storage/multipart-list.js'
import { ADMIN_ANSWER_MS, rootProblemWithin } from '../../storage/bucket-roots.js'
import type { Config } from '../../config/schema.js'
import { AdminError, emit, fields, table } from '../output.js'
import { parse } from '../parse-args.js'
import type { Command } from '../services.js'

const octal = (mode: number): string => '0' + mode.toString(8)

/** The admin listener's /health: 'ok', 'unavailable' (503: draining or starting), or why it could not be asked. */
function health (config: Config): Promise<string> {
  const admin = config.admin
  if (admin === null) return Promise.resolve('unknown (no admin listener configured)')
  return new Promise(resolve => {
    const host = admin.host === '0.0.0.0' ? '127.0.0.1' : admin.host === '::' ? '::1' : admin.host
    const req = request({ host, port: admin.port, path: '/health', timeout: 2000 }, res => {
      res.resume()
      resolve(res.statusCode === 200 ? 'ok' : `unavailable (HTTP ${res.statusCode ?? '?'})`)
    })
    req.on('timeout', () => req.destroy(new Error('no answer within 2 s')))
    req.on('error', err => resolve(`not reachable at ${admin.host}:${admin.port} (${(err as NodeJS.ErrnoException).code ?? err.message})`))
    req.end()
  })
}

const status: Command = {
  summary: 'daemon health, what the state holds, and every bucket directory; exit 1 when something is wrong',
  usage: 'status [--json]',
  async run (args, s) {
    parse(args, {}, [])
    const state = s.state.snapshot()
    const users = Object.values(state.users)
    const daemon = await health(s.config)
    const buckets = await Promise.all(Object.values(state.buckets).map(async b => {
      const problem = await rootProblemWithin(b, ADMIN_ANSWER_MS) // what the daemon refuses the bucket for (503)
      const uploads = problem === undefined ? (await listAllUploads(b.path).catch(() => [])).length : 0
      return { name: b.name, path: b.path, owner: b.owner, directory: problem ?? 'ok', uploads }
    }))
    const report = {
      config: s.configPath,
      stateDir: s.config.stateDir,
      daemon,
      users: users.length,
      disabledUsers: users.filter(u => !u.enabled).length,
      activeKeys: users.reduce((n, u) => n + u.keys.filter(k => k.status === 'Active').length, 0),
      serviceAccounts: users.reduce((n, u) => n + (u.serviceAccounts?.length ?? 0), 0),
      policies: Object.keys(state.policies).length,
      buckets,
    }
    const { buckets: _, ...summary } = report
    emit(s.out, report, () => fields(summary) + '\n' + table(buckets, ['name', 'path', 'owner', 'directory', 'uploads']))
    const problems = [
      ...(s.config.admin !== null && daemon !== 'ok' ? [`daemon: ${daemon}`] : []),
      ...buckets.filter(b => b.directory !== 'ok').map(b => `bucket ${b.name}: ${b.directory}`),
    ]
    if (problems.length > 0) throw new AdminError(problems.join('; '))
  },
}

const settings: Command = {
  summary: 'the effective configuration, defaults filled in (change it in the config file, then reload with SIGHUP)',
  usage: 'settings [--json]',
  async run (args, s) {
    parse(args, {}, [])
    const c = s.config
    const listener = (l: { host: string, port: number } | null): string | null => l === null ? null : `${l.host}:${l.port}`
    const view = {
      config: s.configPath,
      http: c.httpsOnly ? null : listener(c.http),
      https: c.https === null ? null : { listen: listener(c.https), certFile: c.https.certFile, keyFile: c.https.keyFile },
      admin: listener(c.admin),
      httpsOnly: c.httpsOnly,
      workers: c.workers,
      stateDir: c.stateDir,
      rootPath: c.rootPath,
      region: c.region,
      baseDomains: c.baseDomains,
      bucketDirectoryCreateMode: octal(c.bucketDirectoryCreateMode),
      fileCreateMode: octal(c.fileCreateMode),
      dirCreateMode: octal(c.dirCreateMode),
      anonymous: { uid: c.anonymousUid, gid: c.anonymousGid },
      authenticatedUsersGid: c.authenticatedUsersGid,
      allowRootUsers: c.allowRootUsers,
      allowUserBucketCreation: c.allowUserBucketCreation,
      fsync: c.fsync,
      maxClockSkewMinutes: c.maxClockSkewMs / 60_000,
      staleUploadHours: c.staleUploadHours,
      oldKeyExpiryMinutes: c.oldKeyExpiryMinutes,
      shutdownGraceSeconds: c.shutdownGraceMs / 1000,
      requestIdleTimeoutSeconds: c.requestIdleTimeoutMs / 1000,
      completeKeepAliveMs: c.completeKeepAliveMs,
      statePollMs: c.statePollMs,
      logLevel: c.logLevel,
      defaultCors: c.defaultCors === null ? null : `${c.defaultCors.rules.length} rule(s)`,
      demo: c.demo === null ? null : { bucket: c.demo.bucket, path: c.demo.path, user: c.demo.user, uid: c.demo.uid, gid: c.demo.gid },
    }
    emit(s.out, view, () => fields(view))
  },
}

export const statusCommands: Record<string, Command> = { status }
export const settingsCommands: Record<string, Command> = { settings }
