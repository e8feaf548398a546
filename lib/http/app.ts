// The S3 Koa application: cross-cutting middleware in one readable order, then the route table.
import Koa from 'koa'
import { accessLog } from './middleware/access-log.js'
import { authenticate } from './middleware/authenticate.js'
import { cors } from './middleware/cors.js'
import { dispatch } from './middleware/dispatch.js'
import { errorResponse } from './middleware/error-response.js'
import { requestMetrics } from './middleware/metrics.js'
import { requestId } from './middleware/request-id.js'
import { resolveTarget } from './middleware/resolve-target.js'
import type { Metrics } from '../metrics.js'
import type { Services } from './types.js'

export interface AppOptions { metrics?: Metrics }

export function createApp (s: Services, opts: AppOptions = {}): Koa {
  const app = new Koa({ proxy: false })
  app.silent = true // errors are rendered and logged by errorResponse, not printed by Koa
  app.use(requestId())
    .use(accessLog(s.log))
  if (opts.metrics) app.use(requestMetrics(opts.metrics))
  app.use(errorResponse(s.log))
    // s.config is swapped on SIGHUP: read baseDomains per request.
    .use((ctx, next) => resolveTarget(s.config.baseDomains)(ctx, next))
    .use(cors(s)) // answers OPTIONS; its Access-Control-* headers survive errorResponse
    .use(authenticate(s))
    .use(dispatch(s))
  return app
}
