// Bucket lifecycle: PutBucketLifecycleConfiguration, GetBucketLifecycleConfiguration, DeleteBucketLifecycle. The
// rules act through the daily job (lib/daemon/lifecycle-job.ts).
import { storedLifecycle } from '../../config/lifecycle-rules.js'
import { parseLifecycleXml, renderLifecycleXml } from '../lifecycle.js'
import { storedConfigHandlers } from './stored-config.js'

const lifecycle = storedConfigHandlers({
  field: 'lifecycle',
  operations: { put: 'PutBucketLifecycleConfiguration', get: 'GetBucketLifecycleConfiguration', delete: 'DeleteBucketLifecycle' },
  missing: 'NoSuchLifecycleConfiguration',
  maxBodyBytes: 2 * 1024 * 1024, // 1,000 rules with long prefixes and a few tags each fit
  parse: parseLifecycleXml,
  stored: storedLifecycle,
  render: renderLifecycleXml,
})
export const putBucketLifecycleConfiguration = lifecycle.put
export const getBucketLifecycleConfiguration = lifecycle.get
export const deleteBucketLifecycle = lifecycle.delete
