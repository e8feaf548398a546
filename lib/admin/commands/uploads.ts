// bridgectl uploads: list in-flight multipart uploads and abort one.
import { listAllUploads } from '../../storage/multipart-list.js'
import { abortUpload } from '../../storage/multipart.js'
import { parseObjectKey } from '../../storage/paths.js'
import { bucketOf } from '../lookups.js'
import { AdminError, emit, table } from '../output.js'
import { parse } from '../parse-args.js'
import type { Command } from '../services.js'

const list: Command = {
  summary: 'list multipart uploads in progress',
  usage: 'uploads list [BUCKET] [--json]',
  async run (args, s) {
    const bare = args.filter(a => !a.startsWith('--'))
    const { positionals } = parse(args, {}, bare.length ? ['BUCKET'] : [])
    const buckets = positionals[0] !== undefined ? [bucketOf(s.state.snapshot(), positionals[0])] : Object.values(s.state.snapshot().buckets)
    const rows: Array<Record<string, string | number>> = []
    for (const b of buckets) {
      for (const u of await listAllUploads(b.path)) rows.push({ bucket: b.name, key: u.key, uploadId: u.uploadId, initiated: u.initiated, initiator: u.initiator.name, parts: u.partCount, bytes: u.bytes })
    }
    emit(s.out, rows, () => table(rows, ['bucket', 'key', 'uploadId', 'initiated', 'initiator', 'parts', 'bytes']))
  },
}

const abort: Command = {
  summary: 'abort a multipart upload and remove its parts',
  usage: 'uploads abort BUCKET KEY UPLOAD_ID',
  async run (args, s) {
    const { positionals } = parse(args, {}, ['BUCKET', 'KEY', 'UPLOAD_ID'])
    const [bucketName, key, uploadId] = positionals as [string, string, string]
    const b = bucketOf(s.state.snapshot(), bucketName)
    try {
      await abortUpload({ name: b.name, root: b.path }, parseObjectKey(key), uploadId)
    } catch (err) {
      throw new AdminError(`no upload ${uploadId} for key "${key}" in bucket ${bucketName} (see: bridgectl uploads list ${bucketName})`)
    }
    emit(s.out, { aborted: uploadId }, () => `aborted upload ${uploadId}\n`)
  },
}

export const uploadCommands: Record<string, Command> = { list, abort }
