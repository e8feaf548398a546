// A bucket's S3 Object Ownership: PutBucketOwnershipControls, GetBucketOwnershipControls, DeleteBucketOwnershipControls.
import { isObjectOwnership, storedOwnershipControls, type OwnershipControls } from '../../access/object-ownership.js'
import { S3Error } from '../../errors/s3-error.js'
import type { BucketRecord } from '../../state/types.js'
import { children, parseXml, rootElement, texts } from '../xml/parse.js'
import { renderXml } from '../xml/render.js'
import { storedConfigHandlers } from './stored-config.js'

/** <OwnershipControls><Rule><ObjectOwnership>…</ObjectOwnership></Rule></OwnershipControls>: one rule, one value. */
export async function parseOwnershipControlsXml (text: string): Promise<OwnershipControls> {
  const doc = await parseXml(text)
  if (Object.keys(doc).length !== 1) throw new S3Error('MalformedXML')
  const root = rootElement(doc, 'OwnershipControls')
  const rules = children(root, 'Rule')
  for (const name of Object.keys(root as object)) if (name !== '$' && name !== 'Rule') throw new S3Error('MalformedXML')
  if (rules.length !== 1) throw new S3Error('MalformedXML')
  for (const name of Object.keys(rules[0] as object)) if (name !== '$' && name !== 'ObjectOwnership') throw new S3Error('MalformedXML')
  const values = texts(rules[0], 'ObjectOwnership')
  const value = values[0]
  if (values.length !== 1 || value === undefined || !isObjectOwnership(value)) throw new S3Error('MalformedXML')
  return { objectOwnership: value }
}

/** AWS: ACLs can be switched off only on a bucket whose ACL gives no one but its owner anything. */
export function checkOwnershipAgainstAcl (config: OwnershipControls, bucket: BucketRecord): void {
  if (config.objectOwnership === 'BucketOwnerEnforced' && bucket.acl.length > 0) throw new S3Error('InvalidBucketAclWithObjectOwnership')
}

const controls = storedConfigHandlers({
  field: 'ownershipControls',
  operations: { put: 'PutBucketOwnershipControls', get: 'GetBucketOwnershipControls', delete: 'DeleteBucketOwnershipControls' },
  missing: 'OwnershipControlsNotFoundError',
  maxBodyBytes: 16 * 1024,
  parse: parseOwnershipControlsXml,
  stored: storedOwnershipControls,
  render: config => renderXml('OwnershipControls', { Rule: { ObjectOwnership: config.objectOwnership } }),
  check: checkOwnershipAgainstAcl,
})
export const putBucketOwnershipControls = controls.put
export const getBucketOwnershipControls = controls.get
export const deleteBucketOwnershipControls = controls.delete
