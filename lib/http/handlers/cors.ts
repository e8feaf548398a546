// Bucket CORS configuration: PutBucketCors, GetBucketCors, DeleteBucketCors.
import { parseCorsXml, renderCorsXml, storedCors } from '../cors.js'
import { storedConfigHandlers } from './stored-config.js'

const cors = storedConfigHandlers({
  field: 'cors',
  operations: { put: 'PutBucketCors', get: 'GetBucketCors', delete: 'DeleteBucketCors' },
  missing: 'NoSuchCORSConfiguration',
  maxBodyBytes: 64 * 1024, // 100 rules of long origin lists fit easily; anything larger is not a CORS document
  parse: parseCorsXml,
  stored: storedCors,
  render: renderCorsXml,
})
export const putBucketCors = cors.put
export const getBucketCors = cors.get
export const deleteBucketCors = cors.delete
