// Gives the memory freed after a burst of requests back to the kernel, so the daemon's RSS falls again.
//
// glibc's malloc keeps freed memory in its arenas (the main thread's and one per libuv pool thread): after a
// million-key listing or a few large transfers the daemon would otherwise keep its peak RSS for good, and the next
// burst would start from there. Every interval in which requests were served, the addon's trimMemory() runs
// malloc_trim on a pool thread. Without the addon, or with S3BRIDGE_NO_MEMORY_TRIM=1, nothing is done.
import { nativeAddon } from '../storage/native.js'

/** Often enough that memory comes back between bursts; rarely enough that its 10-100 ms of pool time is noise. */
export const TRIM_INTERVAL_MS = 10_000

export interface MemoryTrimmer { stop (): void }

/** Starts trimming every intervalMs while requestsServed() keeps moving (trim: the addon's, unless a test gives one). */
export function startMemoryTrimmer (requestsServed: () => number, opts: { intervalMs?: number, trim?: () => Promise<boolean> } = {}): MemoryTrimmer {
  const trim = opts.trim ?? nativeAddon()?.trimMemory
  if (trim === undefined || process.env.S3BRIDGE_NO_MEMORY_TRIM === '1') return { stop: () => undefined }
  let seen = requestsServed()
  let running = false
  const timer = setInterval(() => {
    const now = requestsServed()
    if (now === seen || running) return
    seen = now
    running = true
    trim().catch(() => false).finally(() => { running = false })
  }, opts.intervalMs ?? TRIM_INTERVAL_MS)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
