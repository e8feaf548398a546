// NSS group lists are cached for a minute; a reload (SIGHUP) forgets them, so removing or adding a group member
// applies at once. Uses a real account made with useradd/groupadd (root), as NSS is what is cached.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { forgetGroups, supplementaryGroups } from '../../../lib/auth/identity.js'

const USER = 's3b-gc-user'
const GROUP = 's3b-gc-group'
const sh = (cmd: string, ...args: string[]): void => { execFileSync(cmd, args, { stdio: 'pipe' }) }

t.test('a group added to a user shows after forgetGroups, not before', async t => {
  try {
    sh('groupadd', '-g', '39995', GROUP)
    sh('useradd', '-u', '39995', '-g', GROUP, '-M', '-N', USER)
    sh('groupadd', '-g', '39996', `${GROUP}2`)
  } catch (err) {
    t.plan(0, `cannot make accounts here: ${(err as Error).message.split('\n')[0]}`)
    return
  }
  t.teardown(() => {
    for (const [cmd, name] of [['userdel', USER], ['groupdel', `${GROUP}2`], ['groupdel', GROUP]] as const) {
      try { sh(cmd, name) } catch {}
    }
  })
  t.same(await supplementaryGroups(39995, 39995), [39995])
  sh('usermod', '-aG', `${GROUP}2`, USER)
  t.same(await supplementaryGroups(39995, 39995), [39995], 'cached for a minute')
  forgetGroups()
  t.same((await supplementaryGroups(39995, 39995)).sort(), [39995, 39996], 'after a reload the new group applies')
})
