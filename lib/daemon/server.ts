// Starting and stopping one bridged: services, the S3 listeners, and a graceful close.
import { createServer, type Server } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { Config } from '../config/schema.js'
import { createApp } from '../http/app.js'
import type { Services } from '../http/types.js'
import { createLogger, type Logger } from '../log.js'
import { StateStore } from '../state/store.js'

export interface RunningDaemon {
  services: Services
  /** Base URL of the HTTP listener (or HTTPS when it is the only one). */
  endpoint: string
  httpsEndpoint?: string
  close (): Promise<void>
}

export interface StartOptions { log?: Logger, now?: () => Date }

function listen (server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server.address() as AddressInfo))
  })
}

export async function startDaemon (config: Config, opts: StartOptions = {}): Promise<RunningDaemon> {
  const log = opts.log ?? createLogger(config.logLevel)
  const state = new StateStore(config.stateDir, { pollMs: config.statePollMs, onError: m => log.warn(m) })
  state.watch()
  const services: Services = { config, state, log, now: opts.now ?? (() => new Date()) }
  const app = createApp(services)
  const servers: Server[] = []
  let endpoint = ''
  let httpsEndpoint: string | undefined
  if (config.http) {
    const server = createServer(app.callback())
    server.requestTimeout = 0 // large uploads; slow clients are bounded by headersTimeout and the socket timeout
    server.keepAliveTimeout = 65_000
    const addr = await listen(server, config.http.host, config.http.port)
    endpoint = `http://${config.http.host}:${addr.port}`
    servers.push(server)
  }
  if (config.https) {
    const tls = config.https
    const server = createTlsServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, app.callback()) as unknown as Server
    const addr = await listen(server, tls.host, tls.port)
    httpsEndpoint = `https://${tls.host}:${addr.port}`
    endpoint ||= httpsEndpoint
    servers.push(server)
  }
  return {
    services,
    endpoint,
    httpsEndpoint,
    close: async () => {
      state.close()
      await Promise.all(servers.map(s => new Promise<void>(resolve => {
        s.close(() => resolve())
        s.closeIdleConnections()
      })))
    },
  }
}
