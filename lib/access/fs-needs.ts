// The filesystem checks each S3 operation needs on a key (acl-model.md section 3.3), shared by handlers and `bridgectl explain`.
import type { FsNeed } from './authorize.js'

/** Relative path of a key in its bucket ('' = the root); directory markers drop their slash. */
export function keyPath (key: string): string {
  return key.endsWith('/') ? key.slice(0, -1) : key
}

/** What writing `key` asks of the filesystem: creating (or replacing) an entry, or, for "k/", marking a folder. */
export function createNeed (bucketRoot: string, key: string): FsNeed {
  return { check: key.endsWith('/') ? 'mark' : 'create', path: keyPath(key), bucketRoot }
}

/**
 * What deleting `key` asks of the filesystem: removing the entry from its folder, or, for "k/", clearing the
 * folder's marker, which changes the folder itself (write on it, as `setfattr -x` needs), not its parent.
 */
export function deleteNeed (bucketRoot: string, key: string): FsNeed {
  return { check: key.endsWith('/') ? 'unmark' : 'delete', path: keyPath(key), bucketRoot }
}

export function fsNeedsFor (operation: string, bucketRoot: string, key?: string): FsNeed[] {
  if (key === undefined) {
    if (/^List(Objects|ObjectsV2|ObjectVersions)$/.test(operation)) return [{ check: 'list', path: '', bucketRoot }]
    return []
  }
  const path = keyPath(key)
  switch (operation) {
    case 'GetObject': case 'HeadObject': // GetObjectAcl/PutObjectAcl ask READ_ACP/WRITE_ACP of the file: objectAcpAllowed
      return [{ check: key.endsWith('/') ? 'list' : 'read', path, bucketRoot }]
    case 'PutObject': case 'CopyObject': case 'PostObject': case 'CreateMultipartUpload': case 'CompleteMultipartUpload':
    case 'UploadPart': case 'UploadPartCopy': case 'AbortMultipartUpload': case 'ListParts': // an upload is the business of who may create its key
      return [createNeed(bucketRoot, key)]
    case 'DeleteObject':
      return [deleteNeed(bucketRoot, key)]
    case 'ListObjects': case 'ListObjectsV2': case 'ListObjectVersions':
      return [{ check: 'list', path, bucketRoot }]
    default:
      return []
  }
}
