// A read serves the inode its permission check walked, never another one put under the same name meanwhile: an
// NFS user who may rename in a shared folder exchanges his readable file (or folder) with another user's private
// one while he GETs his own name (security sweep 10). Before the walk held each folder and read the file it
// opened, some of these GETs returned the private bytes.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { chmodSync, chownSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CopyObjectCommand, GetObjectAttributesCommand, GetObjectCommand, GetObjectTaggingCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { openSignedRequest } from '../fixtures/bridged-process.js'
import { startBridge, type Bridge, type Credentials } from '../fixtures/daemon.js'
import { getAttribute } from '../../lib/storage/xattr.js'

const EXCHANGE = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/exchange_loop.py')

function file (path: string, body: string, uid: number, mode: number): void {
  writeFileSync(path, body)
  chownSync(path, uid, uid)
  chmodSync(path, mode)
}

/** Runs the exchange loop of a and b while `work` runs; returns how many exchanges happened. */
async function whileSwapping (a: string, b: string, work: () => Promise<void>): Promise<number> {
  const stop = `${a}.stop`
  const child = spawn('python3', [EXCHANGE, a, b, stop], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', d => { out += String(d) })
  const exited = new Promise<number>(resolve => child.once('exit', code => resolve(code ?? -1)))
  try {
    await work()
  } finally {
    writeFileSync(stop, '')
    await exited
  }
  return Number(out.trim())
}

const getMeta = (path: string): Promise<string> => getAttribute(path, 'user.s3bridge.meta').then(v => v.toString('utf8'), () => '')

/** A bridge with a shared folder `name` (0777, not sticky: anyone may rename in it) and bob, whom only the files stop. */
async function sharedFolder (t: Test, name: string): Promise<{ b: Bridge, race: string, bob: S3Client, bobCreds: Credentials }> {
  const b = await startBridge(t)
  const race = join(b.bucketDir, name)
  mkdirSync(race)
  chmodSync(race, 0o777)
  const bobCreds = await b.addUser('bob', 1002, 1002)
  await b.daemon.services.state.mutate(s => { s.buckets.demo!.acl.push({ name: 'bob', type: 'user', permission: 'FULL_CONTROL' }) })
  return { b, race, bob: b.client(bobCreds), bobCreds }
}

async function getAll (c: S3Client, key: string, n: number): Promise<string[]> {
  const seen: string[] = []
  const one = async (): Promise<void> => {
    try {
      const r = await c.send(new GetObjectCommand({ Bucket: 'demo', Key: key }))
      seen.push((await r.Body!.transformToString()).slice(0, 1))
    } catch (err) {
      seen.push((err as Error).name)
    }
  }
  for (let i = 0; i < n; i += 8) await Promise.all(Array.from({ length: 8 }, one))
  return seen
}

for (const size of [100, 300_000]) {
  t.test(`exchanging two files (${size} bytes) never serves the one the caller may not read`, async t => {
    const { race, bob } = await sharedFolder(t, 'race')
    file(join(race, 'secret'), 'S'.repeat(size), 1003, 0o600) // carol's
    file(join(race, 'pub'), 'p'.repeat(size), 1002, 0o644) // bob's
    let seen: string[] = []
    const swaps = await whileSwapping(join(race, 'pub'), join(race, 'secret'), async () => { seen = await getAll(bob, 'race/pub', 400) })
    t.ok(swaps > 100, `the names were exchanged (${swaps} times)`)
    t.notOk(seen.includes('S'), 'carol\'s bytes were never served')
    t.ok(seen.includes('p'), 'bob still reads his own file')
    // A copy would land the bytes in an object bob owns.
    const copies: string[] = []
    await whileSwapping(join(race, 'pub'), join(race, 'secret'), async () => {
      for (let i = 0; i < 100; i++) {
        await bob.send(new CopyObjectCommand({ Bucket: 'demo', Key: `copy${i}`, CopySource: 'demo/race/pub' })).then(
          async () => { copies.push((await (await bob.send(new GetObjectCommand({ Bucket: 'demo', Key: `copy${i}` }))).Body!.transformToString()).slice(0, 1)) },
          (err: Error) => { copies.push(err.name) })
      }
    })
    t.notOk(copies.includes('S'), 'no copy holds carol\'s bytes')
  })
}

t.test('exchanging two folders never serves a file behind the folder the caller may not search', async t => {
  const { race, bob } = await sharedFolder(t, 'race2')
  for (const [name, uid, mode, body] of [['cdir', 1003, 0o700, 'CAROL'], ['bdir', 1002, 0o755, 'bob']] as const) {
    mkdirSync(join(race, name))
    chownSync(join(race, name), uid, uid)
    chmodSync(join(race, name), mode)
    file(join(race, name, 'f'), body, uid, 0o644)
  }
  let seen: string[] = []
  await whileSwapping(join(race, 'bdir'), join(race, 'cdir'), async () => { seen = await getAll(bob, 'race2/bdir/f', 400) })
  t.notOk(seen.includes('C'), 'carol\'s file was never served')
  t.ok(seen.includes('b'), 'bob still reads his own file')
})

t.test('PutObjectTagging tags only the file it checked, however long the client takes to send the tags', async t => {
  const { b, race, bobCreds } = await sharedFolder(t, 'race3')
  file(join(race, 'cfile'), 'carol', 1003, 0o644) // bob may read, not write
  file(join(race, 'bfile'), 'bob', 1002, 0o644)
  const body = '<Tagging><TagSet><Tag><Key>owned</Key><Value>by-bob</Value></Tag></TagSet></Tagging>'
  const open = await openSignedRequest(b.endpoint, bobCreds, { method: 'PUT', path: '/demo/race3/bfile?tagging', contentLength: Buffer.byteLength(body) })
  open.req.flushHeaders()
  await new Promise(resolve => setTimeout(resolve, 300)) // the check of bfile has run; the handler waits for the body
  renameSync(join(race, 'bfile'), join(race, 'bfile.away'))
  renameSync(join(race, 'cfile'), join(race, 'bfile'))
  open.req.end(body)
  const answer = await open.response
  t.not(answer.status, 200, 'refused')
  t.notMatch(await getMeta(join(race, 'bfile')), /by-bob/, 'carol\'s file carries no tag of bob\'s')
})

t.test('GetObjectAttributes and GetObjectTagging describe the file their check walked to', async t => {
  const { race, bob } = await sharedFolder(t, 'race4')
  file(join(race, 'secret'), 'SECRET-OF-CAROL', 1003, 0o600)
  file(join(race, 'pub'), 'pub', 1002, 0o644)
  const sizes: Array<number | string> = []
  await whileSwapping(join(race, 'pub'), join(race, 'secret'), async () => {
    for (let i = 0; i < 300; i += 6) {
      await Promise.all(Array.from({ length: 6 }, async () => {
        const r = await bob.send(new GetObjectAttributesCommand({ Bucket: 'demo', Key: 'race4/pub', ObjectAttributes: ['ObjectSize', 'ETag'] })).catch((err: Error) => err.name)
        sizes.push(typeof r === 'string' ? r : r.ObjectSize ?? -1)
        await bob.send(new GetObjectTaggingCommand({ Bucket: 'demo', Key: 'race4/pub' })).catch(() => undefined)
      }))
    }
  })
  t.notOk(sizes.includes('SECRET-OF-CAROL'.length), 'never the size (nor the hashes) of carol\'s file')
  t.ok(sizes.includes(3), 'bob\'s own file is described')
})

t.test('a listing names only files of the folder its check judged, whatever is exchanged into its name', async t => {
  const { race, bob } = await sharedFolder(t, 'race5')
  const bdir = join(race, 'bdir')
  const cdir = join(race, 'cdir')
  mkdirSync(bdir)
  mkdirSync(cdir)
  chownSync(bdir, 1002, 1002)
  chownSync(cdir, 1003, 1003)
  chmodSync(cdir, 0o700) // carol's: bob may not list it
  for (let i = 0; i < 20; i++) file(join(bdir, `bob-${i}`), 'b', 1002, 0o644)
  for (let i = 0; i < 20; i++) file(join(cdir, `carol-secret-${i}`), 'C', 1003, 0o600)
  const seen = new Set<string>()
  const list = async (prefix: string, delimiter?: string): Promise<void> => {
    const r = await bob.send(new ListObjectsV2Command({ Bucket: 'demo', Prefix: prefix, Delimiter: delimiter })).catch(() => undefined)
    for (const c of r?.Contents ?? []) seen.add(c.Key!)
    for (const p of r?.CommonPrefixes ?? []) seen.add(p.Prefix!)
  }
  const swaps = await whileSwapping(bdir, cdir, async () => {
    for (let i = 0; i < 150; i += 3) await Promise.all([list('race5/bdir/'), list('race5/'), list('race5/bdir/', '/')])
  })
  t.ok(swaps > 100, `the folders were exchanged (${swaps} times)`)
  t.notOk([...seen].some(k => k.includes('carol-secret')), 'no name from carol\'s folder was listed')
  t.ok([...seen].some(k => k.includes('bob-')), 'bob still lists his own folder')
})
