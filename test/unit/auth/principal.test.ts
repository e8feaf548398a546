// userPrincipal: root squash (uid 0 and gid 0 to the anonymous ids, like NFS root_squash) and the AuthenticatedUsers group.
import t from 'tap'
import { userPrincipal } from '../../../lib/auth/principal.js'

const squash = { allowRootUsers: false, anonymousUid: 65534, anonymousGid: 65534 }

t.test('uid 0 and gid 0 are squashed unless root users are allowed', async t => {
  const root = { name: 'r', role: 'user' as const, uid: 0, gid: 0 }
  t.match(userPrincipal(root, [0, 10], squash), { uid: 65534, gid: 65534, groups: [65534, 10], hasRootRights: false })
  t.match(userPrincipal(root, [0], { ...squash, allowRootUsers: true }), { uid: 0, gid: 0, groups: [0], hasRootRights: true })
  t.match(userPrincipal({ name: 'w', role: 'user', uid: 1001, gid: 0 }, [0, 1001], squash), { uid: 1001, gid: 65534, groups: [65534, 1001] }, 'gid 0 alone is squashed too')
})

t.test('every signed user is in the AuthenticatedUsers group, which is squashed like any group', async t => {
  const alice = { name: 'alice', role: 'user' as const, uid: 1001, gid: 1001 }
  t.same(userPrincipal(alice, [1001], { ...squash, authenticatedUsersGid: 4000 }).groups, [1001, 4000])
  t.same(userPrincipal(alice, [1001], { ...squash, authenticatedUsersGid: 0 }).groups, [1001, 65534], 'a gid 0 there does not undo the squash')
  t.same(userPrincipal(alice, [1001], { ...squash, authenticatedUsersGid: null }).groups, [1001])
})
