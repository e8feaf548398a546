// Bucket handlers: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, GetBucketVersioning.
import { chmod, chown, mkdir, readdir, realpath, rmdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { S3Error } from '../../errors/s3-error.js'
import { validateBucketName } from '../../state/bucket-names.js'
import { bucketPathProblem, canonicalPath } from '../../state/bucket-paths.js'
import { existingStagingDir, requestsOnRoot, retireRoot, serveRoot, STAGING_DIR } from '../../storage/paths.js'
import { bucketRecord, hasSameAccess, isSameBucket, ownerXml, principalBucketGrants, requireSameCaller, updateBucket } from '../bucket-access.js'
import { decide, requireAccess } from '../authorize.js'
import { renderXml } from '../xml/render.js'
import { parseXml, rootElement, texts } from '../xml/parse.js'
import type { S3Reply, S3Request, Services } from '../types.js'
import { mountPointOf, swappableParent } from '../../storage/bucket-roots.js'
import { hasContent, putStagingBack, setStagingAside } from '../../storage/bucket-removal.js'
import { bucketAcesFromGrants, expandCannedAcl, hasAclHeaders, isLonePrivate, parseCannedAcl, readAclHeaders, type S3Grant } from '../../access/s3-acl.js'
import type { BucketAce, BucketRecord } from '../../state/types.js'
import { granteeDirectory } from '../grantee-directory.js'
import { isObjectOwnership, type OwnershipControls } from '../../access/object-ownership.js'
import { checkOwnershipAgainstAcl } from './ownership-controls.js'

function requireSigned (req: S3Request): void {
  if (req.principal.kind !== 'user') throw new S3Error('AccessDenied')
}

/** max-buckets: 1 to 10000 (API reference, ListBuckets), AWS's two InvalidArgument messages otherwise. */
function maxBuckets (raw: string | null): number | undefined {
  if (raw === null) return undefined
  const argument = { ArgumentName: 'max-buckets', ArgumentValue: raw }
  if (!/^-?\d{1,10}$/.test(raw.trim())) throw new S3Error('InvalidArgument', argument, { message: 'Provided max-buckets not an integer or within integer range.' })
  const n = Number(raw.trim())
  if (n < 1 || n > 10000) throw new S3Error('InvalidArgument', argument, { message: 'Argument max-buckets must be an integer between 1 and 10000.' })
  return n
}

/** The continuation token is opaque to clients: the last name of the previous page, so buckets made meanwhile still show. */
function afterToken (raw: string | null): string | undefined {
  if (raw === null) return undefined
  const name = Buffer.from(raw, 'base64url').toString('utf8')
  if (raw === '' || Buffer.from(name, 'utf8').toString('base64url') !== raw) {
    throw new S3Error('InvalidArgument', { ArgumentName: 'continuation-token', ArgumentValue: raw }, { message: 'The continuation token provided is incorrect' })
  }
  return name
}

export async function listBuckets (req: S3Request, s: Services): Promise<S3Reply> {
  requireSigned(req)
  // s3:ListAllMyBuckets answers to the policies like any action: an explicit Deny, or a session or service-account
  // policy that does not allow it, refuses the listing (a user without policies lists, as the bucket ACLs decide).
  await requireAccess(req, s, { operation: 'ListBuckets' })
  const p = req.principal
  const prefix = req.query.get('prefix') ?? undefined
  const max = maxBuckets(req.query.get('max-buckets'))
  const after = afterToken(req.query.get('continuation-token'))
  const region = req.query.get('bucket-region')
  // The caller's buckets: those it owns or that grant it something by name or through one of its groups (a NAS
  // share made for it). Not those open to everyone or to all authenticated users only: AWS lists only the caller's
  // own buckets, and listing every public bucket showed other users' bucket names (which their owners then had
  // AccessDenied for, as s3-tests' clean-up found). Admins see all.
  const visible = Object.values(s.state.snapshot().buckets)
    .filter(b => p.role === 'admin' || principalBucketGrants(b, p, { wellKnown: false }).size > 0)
    .filter(b => (prefix === undefined || b.name.startsWith(prefix)) && (after === undefined || b.name > after) && (region === null || region === s.config.region))
    .sort((a, b) => a.name < b.name ? -1 : 1)
  const page = max === undefined ? visible : visible.slice(0, max)
  const last = page[page.length - 1]
  return {
    xml: renderXml('ListAllMyBucketsResult', {
      Owner: ownerXml(p.name),
      Buckets: { Bucket: page.map(b => ({ Name: b.name, CreationDate: new Date(b.createdAt), BucketRegion: s.config.region })) },
      ContinuationToken: page.length < visible.length && last !== undefined ? Buffer.from(last.name, 'utf8').toString('base64url') : undefined,
      Prefix: prefix,
    }),
  }
}

async function requestedRegion (req: S3Request): Promise<string | undefined> {
  const text = await req.readText(64 * 1024)
  if (text.trim() === '') return undefined
  const doc = await parseXml(text)
  return texts(rootElement(doc, 'CreateBucketConfiguration'), 'LocationConstraint')[0]
}

/**
 * x-amz-object-ownership: the bucket's S3 Object Ownership from the start (lib/access/object-ownership.ts), as
 * PutBucketOwnershipControls would set it; BucketOwnerEnforced with an ACL that grants to others is refused, as AWS
 * refuses it. Absent: no setting (files belong to their writers, as under ObjectWriter).
 */
function requestedObjectOwnership (req: S3Request, acl: readonly BucketAce[]): OwnershipControls | undefined {
  const raw = req.headers['x-amz-object-ownership']
  if (raw === undefined) return undefined
  const value = String(raw).trim()
  if (!isObjectOwnership(value)) {
    throw new S3Error('InvalidArgument', { ArgumentName: 'x-amz-object-ownership', ArgumentValue: value }, { message: 'Invalid x-amz-object-ownership header value.' })
  }
  const config = { objectOwnership: value }
  checkOwnershipAgainstAcl(config, { acl } as BucketRecord)
  return config
}

/** The bucket ACL CreateBucket's x-amz-acl or x-amz-grant-* headers ask for (as PutBucketAcl would store it); none: []. */
async function requestedBucketAcl (req: S3Request, s: Services): Promise<BucketAce[]> {
  const headers = readAclHeaders(req.headers)
  if (!hasAclHeaders(headers)) return []
  // AWS: an ACL other than private needs s3:PutBucketAcl as well (a policy or a narrowed key may withhold it).
  if (!isLonePrivate(headers) && !(await decide(req, s, { operation: 'CreateBucket', action: 's3:PutBucketAcl', bucketName: req.bucketName })).allowed) {
    throw new S3Error('AccessDenied')
  }
  const owner = req.principal.name
  const grants = headers.grants ?? expandCannedAcl(parseCannedAcl(headers.canned!), { ownerId: owner })
  return bucketAcesFromGrants(grants as S3Grant[], owner, granteeDirectory(s))
}

export async function createBucket (req: S3Request, s: Services): Promise<S3Reply> {
  requireSigned(req)
  const d = await decide(req, s, { operation: 'CreateBucket', bucketName: req.bucketName })
  const policyAllows = d.layers.some(l => l.layer === 'policy' && l.verdict === 'allow')
  if (!d.allowed || !(policyAllows || req.principal.role === 'admin' || s.config.allowUserBucketCreation)) throw new S3Error('AccessDenied')
  const name = req.bucketName ?? ''
  validateBucketName(name)
  const region = await requestedRegion(req)
  if (region !== undefined && region !== '' && region !== s.config.region) {
    throw new S3Error('IllegalLocationConstraintException', {}, { message: `The ${region} location constraint is incompatible for the region specific endpoint this request was sent to.` })
  }
  // Looked at again at each step below: a racing CreateBucket of the same name (another daemon) wins meanwhile,
  // and this one must answer as AWS does for a name taken, not with the overlap check's 400.
  const refuseTaken = (buckets: Record<string, { owner: string } | undefined>): void => {
    const existing = buckets[name]
    if (existing) throw new S3Error(existing.owner === req.principal.name ? 'BucketAlreadyOwnedByYou' : 'BucketAlreadyExists', { BucketName: name })
  }
  refuseTaken(s.state.snapshot().buckets)
  // A bucket asked to be WORM is refused, not made without the protection it was asked for.
  const lock = String(req.headers['x-amz-bucket-object-lock-enabled'] ?? '').trim().toLowerCase()
  if (lock !== '' && lock !== 'true' && lock !== 'false') {
    throw new S3Error('InvalidArgument', { ArgumentName: 'x-amz-bucket-object-lock-enabled', ArgumentValue: lock }, { message: 'x-amz-bucket-object-lock-enabled must be true or false.' })
  }
  if (lock === 'true') throw new S3Error('NotImplemented', {}, { message: 'Object Lock is not offered by this bridge; the bucket was not created.' })
  const acl = await requestedBucketAcl(req, s)
  const ownershipControls = requestedObjectOwnership(req, acl)
  // AWS (API_CreateBucket): the header needs s3:PutBucketOwnershipControls as well, so a Deny of it holds here too.
  if (ownershipControls !== undefined && !(await decide(req, s, { operation: 'CreateBucket', action: 's3:PutBucketOwnershipControls', bucketName: req.bucketName })).allowed) {
    throw new S3Error('AccessDenied')
  }
  await mkdir(s.config.rootPath, { recursive: true })
  // The directory is made, chmod'ed and chown'ed by path, as root: in a folder someone else may change, they could
  // put a symlink in its place between the calls and have any file chown'ed to the requester (review 17). And a
  // bucket made there would be refused at once anyway (bucket-roots.ts). rootPath is resolved, so the stored path
  // is symlink-free as the check wants (review 17: a rootPath through a symlink made buckets that were all 503).
  const path = join(await realpath(s.config.rootPath), name)
  // A rootPath inside a bucket (or the state) is named as such first: that folder is a user's, so the check below
  // would refuse it too, with a vaguer answer.
  const buckets = s.state.snapshot().buckets
  refuseTaken(buckets)
  const overlap = bucketPathProblem(canonicalPath(path), { stateDir: s.config.stateDir, buckets })
  if (overlap) throw new S3Error('InvalidRequest', { BucketName: name }, { message: `The bucket's directory ${overlap} (check rootPath).` })
  const unsafe = await swappableParent(path, { toBeMade: true })
  if (unsafe !== undefined) {
    s.log.warn({ bucket: name, rootPath: s.config.rootPath, problem: unsafe }, 'CreateBucket refused: rootPath is not safe for buckets')
    throw new S3Error('ServiceUnavailable', { BucketName: name }, { message: 'Buckets cannot be created here now: the folder they are made in is not safe (the bridge\'s log says why).' })
  }
  try {
    await mkdir(path, { mode: s.config.bucketDirectoryCreateMode })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      refuseTaken(s.state.snapshot().buckets)
      throw new S3Error('BucketAlreadyExists', { BucketName: name })
    }
    throw err
  }
  await chmod(path, s.config.bucketDirectoryCreateMode) // exactly: mkdir's mode is cut by the umask
  await chown(path, req.principal.uid, req.principal.gid)
  try {
    const mountPoint = await mountPointOf(path)
    await s.state.mutate(state => {
      refuseTaken(state.buckets)
      requireSameCaller(state, req) // not a user deleted or disabled (or demoted) since it was judged
      // Only a rootPath set inside a bucket or the state gets here; the new directory itself is empty.
      const problem = bucketPathProblem(canonicalPath(path), { stateDir: s.config.stateDir, buckets: state.buckets })
      if (problem) throw new S3Error('InvalidRequest', { BucketName: name }, { message: `The bucket's directory ${problem} (check rootPath).` })
      state.buckets[name] = { name, path, mountPoint, owner: req.principal.name, createdAt: s.now().toISOString(), createdByS3: true, acl, objectAclPolicy: 'replace', ...(ownershipControls === undefined ? {} : { ownershipControls }) }
    })
  } catch (err) {
    await rmdir(path).catch(() => undefined)
    throw err
  }
  serveRoot(path) // a bucket of this name deleted moments ago retired the path in this process
  return { headers: { Location: `/${name}` } }
}

export async function headBucket (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  const region = { 'x-amz-bucket-region': s.config.region }
  try {
    await requireAccess(req, s, { operation: req.operation, bucket: record })
  } catch (err) {
    // AWS names the region on a refused HeadBucket too: SDKs use it to find where a bucket lives.
    if (err instanceof S3Error && err.code === 'AccessDenied') throw new S3Error('AccessDenied', err.fields, { message: err.message, headers: { ...err.headers, ...region } })
    throw err
  }
  return { headers: region }
}

/**
 * Until the other requests this process runs on the bucket's directory are done (the DeleteBucket itself is one),
 * for at most a few seconds: a PUT that found the bucket before it was unmapped has then published or failed.
 */
async function waitForOtherRequests (root: string): Promise<void> {
  for (let waited = 0; requestsOnRoot(root) > 1 && waited < 5_000; waited += 20) await new Promise(resolve => setTimeout(resolve, 20))
}

/** The same bucket, not one made since under its name (over the same directory or another). */
export async function deleteBucket (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'DeleteBucket', bucket: record })
  if (await hasContent(record.path)) throw new S3Error('BucketNotEmpty', { BucketName: record.name })
  // The staging folder's contents go through its verified descriptor; its name may by now be anything. Taken
  // before the state changes: once the reload sees the bucket gone, the folder is not opened again.
  const staging = existingStagingDir(record.path)
  // Only the bucket this request judged: a concurrent DeleteBucket may have unmapped it already, and its name may
  // even name a new bucket by now.
  // What is unmapped is the record as the state holds it now (this daemon's copy may be a poll behind: a policy
  // revoked elsewhere must not come back if the delete fails and the bucket is mapped again).
  const unmapped = await s.state.mutate(state => {
    const now = state.buckets[record.name]
    if (!isSameBucket(now, record)) throw new S3Error('NoSuchBucket', { BucketName: record.name })
    // Judged on this record and this caller: a bucket given to another owner, a Deny set, a key disabled since is
    // 409 (sent again, it is judged afresh), not an unmap.
    requireSameCaller(state, req)
    if (!hasSameAccess(now, record)) throw new S3Error('OperationAborted', { BucketName: record.name })
    delete state.buckets[record.name]
    return now
  })
  // Writes that were already past their bucket look-up (here, or on a daemon that has not reloaded yet) may still
  // publish: look again now that no new one can start here, and keep the bucket if something came. An object
  // acknowledged to its writer must not end up in a directory no bucket maps.
  // Any failure from here on maps the bucket again (unless its name was taken meanwhile): a DeleteBucket that does
  // not answer 204 leaves the bucket as it was, never unmapped with its directory still there.
  const remap = async (): Promise<void> => {
    // Not over a directory that is gone (another DeleteBucket of it finished first), nor over a newer bucket.
    if (!await stat(record.path).then(st => st.isDirectory(), () => false)) return
    await s.state.mutate(state => {
      const now = state.buckets[record.name]
      if (now === undefined) state.buckets[record.name] = unmapped
      else if (!isSameBucket(now, record)) s.log.error({ bucket: record.name, path: record.path }, 'DeleteBucket failed after the bucket was unmapped, and the name was taken meanwhile: the directory is left unmapped (map it again with bridgectl)')
    })
  }
  const notEmpty = new S3Error('BucketNotEmpty', { BucketName: record.name })
  try {
    await waitForOtherRequests(record.path)
    if (await hasContent(record.path)) throw notEmpty
    if (record.createdByS3 && staging !== undefined) {
      // An S3-made directory goes too. Its staging folder (uploads in flight) is first set aside whole, so that
      // when an object still lands before the directory is removed (another daemon's writer) the bucket is kept
      // with its uploads. When it cannot be set aside, nothing is destroyed: the client retries.
      const aside = await setStagingAside(record.path, staging, s.log)
      try {
        await rmdir(record.path)
      } catch (err) {
        await putStagingBack(aside, record.path, s.log)
        const code = (err as NodeJS.ErrnoException).code
        throw code === 'ENOTEMPTY' || code === 'EEXIST' ? notEmpty : err
      }
      // The bucket is gone: what is left is tidying, whose failure changes nothing for the client.
      retireRoot(record.path)
      await rm(aside, { recursive: true, force: true }).catch((err: unknown) => {
        s.log.warn({ bucket: record.name, path: aside, err: (err as Error).message }, 'DeleteBucket: the deleted bucket\'s staging folder could not be removed (root only; remove it by hand)')
      })
      return { status: 204 }
    }
  } catch (err) {
    await remap()
    throw err
  }
  // A mapped directory (or one without a trusted staging folder): its uploads go, the directory stays, unless S3
  // made it and it is empty now. An object that arrived after the second look stays in a mapped directory (it is a
  // NAS folder, its files are the users'); in an S3-made one it keeps the bucket.
  if (staging !== undefined) for (const name of await readdir(staging).catch(() => [] as string[])) await rm(join(staging, name), { recursive: true, force: true })
  retireRoot(record.path) // let go of once this request (and any other on the bucket) is done
  await rmdir(join(record.path, STAGING_DIR)).catch(() => undefined)
  if (record.createdByS3) {
    await rmdir(record.path).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return // gone already: deleted is deleted
      await remap()
      throw err.code === 'ENOTEMPTY' || err.code === 'EEXIST' ? notEmpty : err
    })
  }
  return { status: 204 }
}

export async function getBucketLocation (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: req.operation, bucket: record })
  const region = s.config.region === 'us-east-1' ? '' : s.config.region
  return { xml: `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${region}</LocationConstraint>` }
}

export async function getBucketVersioning (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: req.operation, bucket: record })
  // Buckets here are never versioned: AWS answers an empty configuration for a never-versioned bucket.
  return { xml: renderXml('VersioningConfiguration', record.versioningSuspended ? { Status: 'Suspended' } : {}) }
}

/**
 * PutBucketVersioning: Suspended is what every bucket here already is (each object has the one version "null",
 * a PUT replaces it), so it is kept and reported; Enabled would need versions a POSIX folder cannot hold: 501.
 */
export async function putBucketVersioning (req: S3Request, s: Services): Promise<S3Reply> {
  const record = bucketRecord(req, s)
  await requireAccess(req, s, { operation: 'PutBucketVersioning', bucket: record })
  const doc = await parseXml(await req.readText(64 * 1024))
  const root = rootElement(doc, 'VersioningConfiguration')
  const status = texts(root, 'Status')[0]
  const mfaDelete = texts(root, 'MfaDelete')[0]
  if (status === undefined || (status !== 'Enabled' && status !== 'Suspended') || (mfaDelete !== undefined && mfaDelete !== 'Enabled' && mfaDelete !== 'Disabled')) throw new S3Error('MalformedXML')
  if (status === 'Enabled') throw new S3Error('NotImplemented', {}, { message: 'Object versioning cannot be enabled: each key is one file on the NAS.' })
  if (mfaDelete === 'Enabled') throw new S3Error('NotImplemented', {}, { message: 'MFA Delete is not implemented.' })
  await updateBucket(s, req, record, bucket => { bucket.versioningSuspended = true }, r => requireAccess(req, s, { operation: 'PutBucketVersioning', bucket: r }))
  return { status: 200 }
}
