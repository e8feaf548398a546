// Cluster metrics over the workers' IPC channel: the primary asks the workers that are up, and sums their answers.
import type { Worker } from 'node:cluster'
import { AggregatorRegistry, type Registry } from 'prom-client'

const REQUEST = 's3bridge:metrics-request'
const RESPONSE = 's3bridge:metrics-response'
/** A worker that does not answer in time (busy, dying) is left out of this scrape rather than failing it. */
const ANSWER_TIMEOUT_MS = 3_000

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>
interface MetricsRequest { type: typeof REQUEST, id: number }
interface MetricsResponse { type: typeof RESPONSE, id: number, metrics: MetricsJson }

function isMessage<T extends { type: string }> (m: unknown, type: T['type']): m is T {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type
}

/** In a worker: answers the primary's metric requests from this worker's registry. */
export function answerMetricRequests (registry: Registry): void {
  process.on('message', (m: unknown) => {
    if (!isMessage<MetricsRequest>(m, REQUEST)) return
    void registry.getMetricsAsJSON().then(metrics => {
      const answer: MetricsResponse = { type: RESPONSE, id: m.id, metrics }
      process.send?.(answer)
    })
  })
}

let nextRequestId = 0

/** In the primary: every ready worker's metrics, aggregated (counters summed, state gauges by max). */
export async function clusterMetrics (workers: readonly Worker[]): Promise<{ text: string, contentType: string }> {
  const id = nextRequestId++
  const answers = await Promise.all(workers.map(w => new Promise<MetricsJson | undefined>(resolve => {
    const onMessage = (m: unknown): void => {
      if (!isMessage<MetricsResponse>(m, RESPONSE) || m.id !== id) return
      finish(m.metrics)
    }
    const finish = (metrics: MetricsJson | undefined): void => {
      clearTimeout(timer)
      w.off('message', onMessage)
      resolve(metrics)
    }
    const timer = setTimeout(() => finish(undefined), ANSWER_TIMEOUT_MS)
    w.on('message', onMessage)
    const request: MetricsRequest = { type: REQUEST, id }
    if (w.isConnected()) w.send(request)
    else finish(undefined)
  })))
  const registry = AggregatorRegistry.aggregate(answers.filter((a): a is MetricsJson => a !== undefined))
  return { text: await registry.metrics(), contentType: registry.contentType }
}
