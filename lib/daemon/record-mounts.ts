// Buckets mapped before mount points were recorded (lib/storage/bucket-roots.ts) get theirs at start, but only
// from a directory with something in it besides the bridge's staging folder, on a filesystem other than the root
// one: an empty directory, or one on the root filesystem, may be the bare mount point of an export that is not
// mounted yet, and recording that would refuse the bucket once the export is back. Those keep the existence check
// until `bridgectl buckets modify NAME --record-mount`.
import type { Logger } from '../log.js'
import type { StateStore } from '../state/store.js'
import type { BucketRecord } from '../state/types.js'
import { hasEntries, mountPointOf, rootProblemWithin } from '../storage/bucket-roots.js'

export async function recordMissingMountPoints (state: StateStore, log: Logger, problem: (b: BucketRecord) => Promise<string | undefined> = rootProblemWithin): Promise<void> {
  const found: Array<{ name: string, path: string, mountPoint: string }> = []
  const unrecorded = Object.values(state.snapshot().buckets).filter(b => b.mountPoint === undefined)
  // Not from a hung filesystem (that would keep the daemon from starting); all checked at once.
  const problems = await Promise.all(unrecorded.map(b => problem(b)))
  for (const [i, b] of unrecorded.entries()) {
    try {
      if (problems[i] !== undefined || !await hasEntries(b.path)) continue
      const mountPoint = await mountPointOf(b.path)
      // A NAS bucket found on the root filesystem is most likely a mount point whose export is not mounted (with
      // files written there by older versions): left unrecorded rather than tied to the wrong filesystem.
      if (mountPoint !== '/') found.push({ name: b.name, path: b.path, mountPoint })
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
