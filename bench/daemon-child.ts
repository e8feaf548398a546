// The daemon under test as its own process: starts bridged's server, adds the bench user and buckets,
// reports {endpoint, accessKeyId, secretAccessKey} as one JSON line on fd 3, and stops on SIGTERM.
// Its stdout (the access log) should go to /dev/null so that logging costs what it costs in production.
import { createWriteStream } from 'node:fs'
import { parseConfig } from '../lib/config/schema.js'
import { startDaemon } from '../lib/daemon/server.js'
import { createLogger } from '../lib/log.js'
import { newAccessKey } from '../lib/auth/keys.js'

export interface ChildSpec {
  dir: string
  uid: number
  gid: number
  /** bucket name → absolute directory (made and chowned by the parent) */
  buckets: Record<string, string>
  logLevel: 'debug' | 'info' | 'warn' | 'error'
  fsync: boolean
}

async function run (): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec
  const config = parseConfig({
    http: { host: '127.0.0.1', port: 0 },
    stateDir: 'state',
    rootPath: 'buckets',
    logLevel: spec.logLevel,
    fsync: spec.fsync,
  }, spec.dir)
  const daemon = await startDaemon(config, { log: createLogger(spec.logLevel) })
  const key = newAccessKey(new Date())
  const now = new Date().toISOString()
  await daemon.services.state.mutate(s => {
    s.users.bench = { name: 'bench', uid: spec.uid, gid: spec.gid, role: 'user', enabled: true, createdAt: now, keys: [key], policies: [] }
    for (const [name, path] of Object.entries(spec.buckets)) {
      s.buckets[name] = { name, path, owner: 'bench', createdAt: now, createdByS3: false, acl: [], objectAclPolicy: 'replace' }
    }
  })
  const out = createWriteStream('', { fd: 3 })
  out.end(JSON.stringify({ endpoint: daemon.endpoint, accessKeyId: key.accessKeyId, secretAccessKey: key.secret }) + '\n')
  // BENCH_MEMLOG=N: report where the daemon's memory is every N seconds (heap vs external vs RSS).
  const every = Number(process.env.BENCH_MEMLOG ?? 0)
  if (every > 0) {
    setInterval(() => {
      const m = process.memoryUsage()
      const mib = (n: number): string => (n / 2 ** 20).toFixed(0)
      process.stderr.write(`[daemon memory] rss ${mib(m.rss)} heapTotal ${mib(m.heapTotal)} heapUsed ${mib(m.heapUsed)} external ${mib(m.external)} arrayBuffers ${mib(m.arrayBuffers)} MiB\n`)
    }, every * 1000).unref()
  }
  process.once('SIGTERM', () => { void daemon.close().then(() => process.exit(0)) })
}

run().catch(err => {
  process.stderr.write(`daemon-child: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
