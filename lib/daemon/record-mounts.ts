// Buckets mapped before mount points were recorded (lib/storage/bucket-roots.ts) get theirs at start, but only
// from a directory with something in it: an empty one may be the bare mount point of an export that is not
// mounted yet, and recording that would refuse the bucket once the export is back.
import type { Logger } from '../log.js'
import type { StateStore } from '../state/store.js'
import { hasEntries, mountPointOf } from '../storage/bucket-roots.js'

export async function recordMissingMountPoints (state: StateStore, log: Logger): Promise<void> {
  const found: Array<{ name: string, path: string, mountPoint: string }> = []
  for (const b of Object.values(state.snapshot().buckets)) {
    if (b.mountPoint !== undefined) continue
    try {
      if (await hasEntries(b.path)) found.push({ name: b.name, path: b.path, mountPoint: await mountPointOf(b.path) })
    } catch { /* missing or unreadable: the request path reports it */ }
  }
  if (found.length === 0) return
  await state.mutate(s => {
    for (const f of found) {
      const b = s.buckets[f.name]
      if (b !== undefined && b.path === f.path && b.mountPoint === undefined) b.mountPoint = f.mountPoint
    }
  })
  for (const f of found) log.info({ bucket: f.name, path: f.path, mountPoint: f.mountPoint }, `bucket ${f.name}: recorded the mount point of its filesystem, ${f.mountPoint}`)
}
