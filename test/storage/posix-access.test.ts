// posix-access answers agree with the kernel for reads, writes, listings, creates and deletes run as other uids.
import t from 'tap'
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { posixAccess, type PosixAccessAnswer } from '../../lib/storage/posix-access.js'
import type { PosixCredentials } from '../../lib/access/posix-permission.js'
import {
  applyInode, describeCredentials, describeInode, pick, randomCredentials, randomInode, runProbesAs,
  seededRandom, shellQuote, type InodeSpec,
} from '../fixtures/posix-kernel.js'

const WORLDS = 14
const PRINCIPALS_PER_WORLD = 3

interface Probe {
  readonly label: string
  readonly shell: string
  readonly evaluate: () => Promise<PosixAccessAnswer>
}

/** A bucket root R holding d (maybe sticky) with file f, subdir e with file g, and per-principal victims. */
function buildWorld(base: string, rng: () => number, principals: number): { root: string, layout: Record<string, InodeSpec> } {
  const root = join(base, 'R')
  const layout: Record<string, InodeSpec> = {
    '.': randomInode(rng, { isDirectory: true }),
    'd': randomInode(rng, { isDirectory: true, allowSticky: true }),
    'd/f': randomInode(rng, { isDirectory: false }),
    'd/e': randomInode(rng, { isDirectory: true, allowSticky: true }),
    'd/e/g': randomInode(rng, { isDirectory: false }),
  }
  for (let k = 0; k < principals; k++) {
    layout[`d/v${k}`] = randomInode(rng, { isDirectory: false })
    layout[`d/r${k}`] = randomInode(rng, { isDirectory: false })
  }
  mkdirSync(join(root, 'd', 'e'), { recursive: true })
  for (const name of Object.keys(layout)) if (!['.', 'd', 'd/e'].includes(name)) writeFileSync(join(root, name), 'data\n')
  // Children first, so that root's own bits never stop the setup (root ignores them anyway).
  for (const [name, spec] of Object.entries(layout).reverse()) applyInode(join(root, name), spec)
  return { root, layout }
}

function probesFor(root: string, scratch: string, k: number, check: ReturnType<typeof posixAccess>): Probe[] {
  const p = (rel: string): string => shellQuote(join(root, rel))
  const tmp = shellQuote(join(scratch, `${k}`))
  return [
    { label: 'cat d/f', shell: `cat ${p('d/f')}`, evaluate: () => check.canRead('d/f') },
    { label: 'test -r d/f', shell: `test -r ${p('d/f')}`, evaluate: () => check.canRead('d/f') },
    { label: 'test -w d/f', shell: `test -w ${p('d/f')}`, evaluate: () => check.canWrite('d/f') },
    { label: 'cat d/e/g', shell: `cat ${p('d/e/g')}`, evaluate: () => check.canRead('d/e/g') },
    { label: 'ls R', shell: `cd ${p('.')} && ls .`, evaluate: () => check.canList('') },
    { label: 'ls d', shell: `cd ${p('d')} && ls .`, evaluate: () => check.canList('d') },
    { label: 'ls d/e', shell: `cd ${p('d/e')} && ls .`, evaluate: () => check.canList('d/e') },
    { label: `touch d/n${k}`, shell: `touch ${p(`d/n${k}`)}`, evaluate: () => check.canCreate(`d/n${k}`) },
    { label: `touch d/e/n${k}`, shell: `touch ${p(`d/e/n${k}`)}`, evaluate: () => check.canCreate(`d/e/n${k}`) },
    {
      label: `mkdir -p d/m${k}/x + touch`, shell: `mkdir -p ${p(`d/m${k}/x`)} && touch ${p(`d/m${k}/x/y`)}`,
      evaluate: () => check.canCreate(`d/m${k}/x/y`),
    },
    { label: `rm d/v${k}`, shell: `rm -f -- ${p(`d/v${k}`)}`, evaluate: () => check.canDelete(`d/v${k}`) },
    {
      label: `mv over d/r${k}`, shell: `touch ${tmp} && mv -f -- ${tmp} ${p(`d/r${k}`)}`,
      evaluate: () => check.canCreate(`d/r${k}`),
    },
  ]
}

function principalFor(rng: () => number, world: number, k: number): { who: PosixCredentials, rootHasRights: boolean } {
  // A few uid 0 callers: with root's rights (no_root_squash) and as an ordinary user.
  if (k === 0 && world % 5 === 3) return { who: { uid: 0, gid: 0, groups: [] }, rootHasRights: true }
  if (k === 0 && world % 5 === 4) return { who: { uid: 0, gid: pick(rng, [1001, 1002]), groups: [] }, rootHasRights: false }
  return { who: randomCredentials(rng), rootHasRights: false }
}

t.test('posix-access agrees with the kernel on every generated case', async t => {
  const base = t.testdir({})
  chmodSync(base, 0o755)
  const rng = seededRandom(20240611)
  let cases = 0
  let allowed = 0
  const started = Date.now()
  for (let w = 0; w < WORLDS; w++) {
    const worldDir = join(base, `w${w}`)
    mkdirSync(worldDir)
    const { root, layout } = buildWorld(worldDir, rng, PRINCIPALS_PER_WORLD)
    // Each principal's temporary file for the replace probe; mv then renames it over d/rK.
    const scratch = join(worldDir, 'scratch')
    mkdirSync(scratch)
    chmodSync(scratch, 0o777)
    const runs = []
    for (let k = 0; k < PRINCIPALS_PER_WORLD; k++) {
      const { who, rootHasRights } = principalFor(rng, w, k)
      const check = posixAccess({ bucketRoot: root, principal: who, rootHasRights })
      const probes = probesFor(root, scratch, k, check)
      // Ask the evaluator before the kernel creates or deletes anything.
      const answers = []
      for (const probe of probes) answers.push(await probe.evaluate())
      runs.push({ who, rootHasRights, probes, answers })
    }
    for (const { who, rootHasRights, probes, answers } of runs) {
      const kernel = runProbesAs(who, probes.map(p => p.shell), { hasRootCaps: rootHasRights })
      probes.forEach((probe, i) => {
        const answer = answers[i] as PosixAccessAnswer
        cases++
        if (kernel[i] === true) allowed++
        const name = `world ${w}, ${describeCredentials(who)}${rootHasRights ? ' (root rights)' : ''}: ${probe.label}`
        if (answer.allowed !== kernel[i]) {
          t.comment(Object.entries(layout).map(([rel, spec]) => `  ${rel}: ${describeInode(spec)}`).join('\n'))
        }
        t.equal(answer.allowed, kernel[i], `${name} — ${answer.layer}`)
      })
    }
  }
  t.comment(`${cases} cases, ${allowed} allowed by the kernel, ${Date.now() - started} ms`)
  t.ok(cases >= 200, 'at least 200 differential cases')
  t.ok(allowed > cases / 5 && allowed < (cases * 4) / 5, 'the generated cases mix allowed and denied')
})

t.test('a symlink anywhere in the path is denied and never followed', async t => {
  const base = t.testdir({ bucket: { real: { f: 'x' } }, outside: { f: 'secret' } })
  chmodSync(base, 0o755)
  const root = join(base, 'bucket')
  symlinkSync(join(base, 'outside'), join(root, 'link'))
  symlinkSync(join(root, 'real', 'f'), join(root, 'real', 'flink'))
  const check = posixAccess({ bucketRoot: root, principal: { uid: 0, gid: 0, groups: [] }, rootHasRights: true })
  t.match(await check.canRead('link/f'), { allowed: false, layer: /link: is a symbolic link/ })
  // A link at the key's own name: no object there (GET answers 404, as for a FIFO); acting on the name is refused.
  t.match(await check.canRead('real/flink'), { allowed: false, isMissing: true, layer: /not a regular file/ })
  t.match(await check.canDelete('real/flink'), { allowed: false, layer: /symbolic link/ })
  t.match(await check.canCreate('real/flink'), { allowed: false, layer: /symbolic link/ })
  t.match(await check.canMark('real/flink'), { allowed: false, layer: /symbolic link/ })
  t.match(await check.canCreate('link/new'), { allowed: false })
  t.match(await check.canRead('real/f'), { allowed: true })
})

t.test('answers name the component and entry that decided', async t => {
  const base = t.testdir({ bucket: { a: { b: { f: 'x' } } } })
  chmodSync(base, 0o755)
  const root = join(base, 'bucket')
  chmodSync(join(root, 'a', 'b'), 0o750)
  const who = { uid: 1001, gid: 1001, groups: [] }
  const check = posixAccess({ bucketRoot: root, principal: who, rootHasRights: false })
  t.equal((await check.canRead('a/b/f')).layer, 'dir a/b: no search (x) for uid 1001: other bits ---')
  t.match(await check.canRead('a/nope'), { allowed: false, isMissing: true, layer: 'a/nope: does not exist' })
  t.match(await check.canRead('a'), { allowed: false, layer: /not a regular file/ })
  t.match(await check.canRead('../etc/passwd'), { allowed: false, layer: /'\.\.'/ })
  t.match(await check.canCreate('a/new/dir/key'), { allowed: false, layer: /dir a: no write\+search/ })
  t.match(await check.canDelete(''), { allowed: false, layer: /bucket root cannot be deleted/ })
  chmodSync(join(root, 'a'), 0o777)
  t.match(await check.canCreate('a/new/dir/key'), { allowed: true, layer: /create new allowed for uid 1001 \(new dirs new\/dir belong/ })
  t.match(await check.canCreate('a/b'), { allowed: false, layer: /a\/b: is a directory/ })
  t.match(await check.canList('a'), { allowed: true, layer: 'dir a: read and search allowed for uid 1001' })
  chmodSync(join(root, 'a', 'b'), 0o755)
  t.match(await check.canRead('a/b/f/g'), { allowed: false, isMissing: true }, 'a file used as a directory reads as missing')
})
