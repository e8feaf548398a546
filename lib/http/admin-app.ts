// The admin listener's app: GET /metrics (Prometheus text) and GET /health. Never mounted on the S3 port.
import Koa from 'koa'
import { Router } from '@koa/router'

export interface AdminSources {
  /** Prometheus exposition text and its content type (one registry, or all workers aggregated). */
  metrics (): Promise<{ text: string, contentType: string }>
  /** Whether this bridged can serve S3 requests now; false while starting or draining. */
  isHealthy (): boolean
}

export function createAdminApp (sources: AdminSources): Koa {
  const app = new Koa({ proxy: false })
  app.silent = true
  const router = new Router()
  router.get('/metrics', async ctx => {
    const { text, contentType } = await sources.metrics()
    ctx.type = contentType
    ctx.body = text
  })
  router.get('/health', ctx => {
    const isHealthy = sources.isHealthy()
    ctx.status = isHealthy ? 200 : 503
    ctx.body = { status: isHealthy ? 'ok' : 'unavailable' }
  })
  app.use(router.routes()).use(router.allowedMethods())
  return app
}
