// The admin listener (config.admin): metrics and health on their own port, never on the S3 ports.
import { createServer } from 'node:http'
import type { ListenerConfig } from '../config/schema.js'
import { createAdminApp, type AdminSources } from '../http/admin-app.js'
import { listen } from './listeners.js'

export interface AdminServer {
  endpoint: string
  close (): Promise<void>
}

export async function startAdminServer (at: ListenerConfig, sources: AdminSources): Promise<AdminServer> {
  const server = createServer(createAdminApp(sources).callback())
  const addr = await listen(server, at, 'admin')
  return {
    endpoint: `http://${at.host.includes(':') ? `[${at.host}]` : at.host}:${addr.port}`,
    close: () => new Promise(resolve => {
      server.close(() => resolve())
      server.closeAllConnections() // scrapes are short; nothing to drain
    }),
  }
}
