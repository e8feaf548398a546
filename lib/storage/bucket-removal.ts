// Removing an S3-made bucket's directory safely (DeleteBucket, lib/http/handlers/buckets.ts): whether anything is
// left in it, and its staging folder set aside whole, and put back when the bucket is kept after all.
import { randomUUID } from 'node:crypto'
import { lstat, readdir, rename, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { S3Error, s3ErrorFromErrno } from '../errors/s3-error.js'
import type { Logger } from '../log.js'
import { STAGING_DIR } from './paths.js'

/**
 * Anything left in the bucket directory except the staging folder counts as content. A directory that cannot be
 * read (EIO, ESTALE) is not taken for empty: the error answers (a missing one is empty).
 */
export async function hasContent (path: string): Promise<boolean> {
  const names = await readdir(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[]
    throw s3ErrorFromErrno(err) ?? err
  })
  return names.some(n => n !== STAGING_DIR)
}

/**
 * Renames the bucket's staging folder out of the bucket directory, next to it (the admin's rootPath, same
 * filesystem), and returns where it went; 503 (retry) when it cannot be. The
 * name is a path an NFS user who owns the bucket directory could have pointed at a folder of theirs: what moved
 * must be the folder the daemon holds (same inode), or it is put back and the delete refused.
 */
export async function setStagingAside (root: string, staging: string, log: Logger): Promise<string> {
  const aside = join(dirname(root), `${STAGING_DIR}-deleting-${randomUUID()}`)
  const held = await stat(staging)
  try {
    await rename(join(root, STAGING_DIR), aside)
  } catch {
    throw new S3Error('ServiceUnavailable', { BucketName: basename(root) }, { message: 'The bucket\'s staging folder could not be set aside while the bucket was being deleted; try again.' })
  }
  const moved = await lstat(aside).catch(() => undefined)
  if (moved === undefined || moved.dev !== held.dev || moved.ino !== held.ino) {
    await rename(aside, join(root, STAGING_DIR)).catch((err: unknown) => {
      log.error({ bucket: basename(root), path: aside, err: (err as Error).message }, 'DeleteBucket moved a folder that was not the bucket\'s staging folder out of the bucket and could not put it back: move it back into the bucket directory as .s3bridge')
    })
    throw new S3Error('ServiceUnavailable', { BucketName: basename(root) }, { message: 'The bucket\'s staging folder was changed while it was being deleted; try again.' })
  }
  return aside
}

/**
 * Puts a staging folder set aside back into the bucket directory that is being kept. When a new `.s3bridge` is there
 * by now (another daemon made one), the uploads stay where they are, and the log says where.
 */
export async function putStagingBack (aside: string, root: string, log: Logger): Promise<void> {
  await rename(aside, join(root, STAGING_DIR)).catch((err: unknown) => {
    log.error({ bucket: basename(root), path: aside, err: (err as Error).message }, 'DeleteBucket kept the bucket but could not put its staging folder back: the multipart uploads in flight are in this folder (root only); move its contents into the bucket\'s .s3bridge')
  })
}
