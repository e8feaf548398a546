// bridgectl users: create (explicit ids or an NSS account), list, view, modify, enable, disable, delete.
import { lookupAccount } from '../../auth/identity.js'
import type { Config } from '../../config/schema.js'
import type { UserRecord } from '../../state/types.js'
import { AdminError, emit, fields, table, UsageError } from '../output.js'
import { intOption, parse } from '../parse-args.js'
import type { Command } from '../services.js'
import { attachPolicy, detachPolicy } from './policies.js'
import { svcacct } from './svcacct.js'
import { userOf } from '../lookups.js'

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/
const RESERVED_NAMES = new Set(['root', 'anonymous'])

function publicUser (u: UserRecord): Record<string, unknown> {
  return { name: u.name, uid: u.uid, gid: u.gid, role: u.role, enabled: u.enabled, createdAt: u.createdAt, keys: u.keys.map(k => k.accessKeyId), policies: u.policies }
}

/** Without allowRootUsers the daemon squashes uid and gid 0 to the anonymous ids; an admin choosing 0 should know. */
function rootSquashNote (uid: number, gid: number, config: Config): string {
  const squashed = [uid === 0 ? `uid 0 acts as ${config.anonymousUid}` : '', gid === 0 ? `gid 0 as ${config.anonymousGid}` : ''].filter(Boolean)
  return config.allowRootUsers || !squashed.length ? '' : `note: allowRootUsers is false, so ${squashed.join(' and ')} (root squash)\n`
}

const create: Command = {
  summary: 'create a bridge user mapped to a POSIX uid/gid',
  usage: 'users create NAME [--uid N --gid N | --account SYSTEM_USER] [--role admin|user]',
  async run (args, s) {
    const { values, positionals } = parse(args, { uid: { type: 'string' }, gid: { type: 'string' }, account: { type: 'string' }, role: { type: 'string' } }, ['NAME'])
    const name = positionals[0]!
    if (!NAME_RE.test(name)) throw new UsageError(`user name "${name}" may hold letters, digits, _ . @ - (at most 64)`)
    // "root" owns the buckets an admin maps without --owner, and "anonymous" names unsigned requests: a user by
    // either name would own every such bucket (its policy and ACL) or be taken for the public.
    if (RESERVED_NAMES.has(name.toLowerCase())) throw new UsageError(`user name "${name}" is reserved (${[...RESERVED_NAMES].join(', ')}); pick another name, --account maps any system account`)
    const role = (values.role as string | undefined) ?? 'user'
    if (role !== 'admin' && role !== 'user') throw new UsageError('--role must be admin or user')
    // Said first: a name that exists would otherwise be looked up in NSS and reported as no system account.
    if (s.state.snapshot().users[name]) throw new AdminError(`user "${name}" already exists`)
    let uid = intOption(values.uid, 'uid', 0, 2 ** 32 - 2)
    let gid = intOption(values.gid, 'gid', 0, 2 ** 32 - 2)
    if (uid === undefined || gid === undefined) {
      if (values.uid !== undefined || values.gid !== undefined) throw new UsageError('give both --uid and --gid, or neither (to look the account up)')
      const account = (values.account as string | undefined) ?? name
      const found = lookupAccount(account)
      if (!found) throw new AdminError(`no system account "${account}" in NSS (passwd, LDAP, SSSD); give --uid and --gid, or --account NAME`)
      uid = found.uid
      gid = found.gid
    }
    const user: UserRecord = { name, uid, gid, role, enabled: true, createdAt: s.now().toISOString(), keys: [], policies: [] }
    await s.state.mutate(state => {
      if (state.users[name]) throw new AdminError(`user "${name}" already exists`)
      state.users[name] = user
    })
    emit(s.out, publicUser(user), () => `created user ${name} (uid ${uid}, gid ${gid}, role ${role}); make a key with: bridgectl keys create ${name}\n${rootSquashNote(uid, gid, s.config)}`)
  },
}

const list: Command = {
  summary: 'list users',
  usage: 'users list [--json]',
  async run (args, s) {
    parse(args, {}, [])
    const users = Object.values(s.state.snapshot().users).sort((a, b) => a.name < b.name ? -1 : 1)
    emit(s.out, users.map(publicUser), () => table(users.map(u => ({ name: u.name, uid: u.uid, gid: u.gid, role: u.role, enabled: u.enabled, keys: u.keys.length })), ['name', 'uid', 'gid', 'role', 'enabled', 'keys']))
  },
}


const view: Command = {
  summary: 'show one user',
  usage: 'users view NAME [--json]',
  async run (args, s) {
    const { positionals } = parse(args, {}, ['NAME'])
    const u = publicUser(userOf(s.state.snapshot(), positionals[0]!))
    emit(s.out, u, () => fields(u))
  },
}

function setEnabled (enabled: boolean): Command {
  return {
    summary: enabled ? 'enable a user' : 'disable a user (all its keys stop at once)',
    usage: `users ${enabled ? 'enable' : 'disable'} NAME`,
    async run (args, s) {
      const { positionals } = parse(args, {}, ['NAME'])
      const name = positionals[0]!
      await s.state.mutate(state => {
        const u = state.users[name]
        if (!u) throw new AdminError(`user "${name}" does not exist (see: bridgectl users list)`)
        u.enabled = enabled
      })
      emit(s.out, { name, enabled }, () => `user ${name} ${enabled ? 'enabled' : 'disabled'}\n`)
    },
  }
}

const modify: Command = {
  summary: 'change a user\'s role or POSIX ids; its keys, policies and service accounts stay (files on disk keep their owner)',
  usage: 'users modify NAME [--role admin|user] [--uid N --gid N | --account SYSTEM_USER]',
  async run (args, s) {
    const { values, positionals } = parse(args, { uid: { type: 'string' }, gid: { type: 'string' }, account: { type: 'string' }, role: { type: 'string' } }, ['NAME'])
    const name = positionals[0]!
    const role = values.role as string | undefined
    if (role !== undefined && role !== 'admin' && role !== 'user') throw new UsageError('--role must be admin or user')
    const uid = intOption(values.uid, 'uid', 0, 2 ** 32 - 2)
    const gid = intOption(values.gid, 'gid', 0, 2 ** 32 - 2)
    if ((uid === undefined) !== (gid === undefined)) throw new UsageError('give both --uid and --gid')
    if (uid !== undefined && values.account !== undefined) throw new UsageError('give --uid and --gid, or --account, not both')
    let ids = uid !== undefined && gid !== undefined ? { uid, gid } : undefined
    if (values.account !== undefined) {
      const found = lookupAccount(values.account as string)
      if (!found) throw new AdminError(`no system account "${String(values.account)}" in NSS (passwd, LDAP, SSSD); give --uid and --gid`)
      ids = { uid: found.uid, gid: found.gid }
    }
    if (role === undefined && ids === undefined) throw new UsageError('nothing to change: give --role, --uid and --gid, or --account')
    const user = await s.state.mutate(state => {
      const u = userOf(state, name)
      if (role !== undefined) u.role = role
      if (ids !== undefined) Object.assign(u, ids)
      return { ...u }
    })
    emit(s.out, publicUser(user), () => `modified user ${name} (uid ${user.uid}, gid ${user.gid}, role ${user.role})\n${rootSquashNote(user.uid, user.gid, s.config)}`)
  },
}

const remove: Command = {
  summary: 'delete a user, its keys and its bucket ACEs (files it owns stay)',
  usage: 'users delete NAME',
  async run (args, s) {
    const { positionals } = parse(args, {}, ['NAME'])
    const name = positionals[0]!
    const { acesRemovedFrom, keysDeleted } = await s.state.mutate(state => {
      const user = state.users[name]
      if (!user) throw new AdminError(`user "${name}" does not exist (see: bridgectl users list)`)
      const owned = Object.values(state.buckets).filter(b => b.owner === name).map(b => b.name)
      if (owned.length) throw new AdminError(`user "${name}" owns bucket(s) ${owned.join(', ')}; give them another owner first (bridgectl buckets modify NAME --owner USER)`)
      // Named in the answer: an admin deleting a user by mistake must see which clients just stopped working.
      const keysDeleted = [...user.keys, ...(user.serviceAccounts ?? [])].map(k => k.accessKeyId).sort()
      delete state.users[name]
      // ACEs name users by name: left behind, they would grant to the next user created with this name.
      const buckets: string[] = []
      for (const b of Object.values(state.buckets)) {
        const kept = b.acl.filter(a => !(a.type === 'user' && a.name === name))
        if (kept.length !== b.acl.length) buckets.push(b.name)
        b.acl = kept
      }
      return { acesRemovedFrom: buckets.sort(), keysDeleted }
    })
    const keys = keysDeleted.length ? `; deleted its access key(s) ${keysDeleted.join(', ')}` : '; it had no access keys'
    emit(s.out, { deleted: name, keysDeleted, acesRemovedFrom }, () => `deleted user ${name}${keys}${acesRemovedFrom.length ? `; removed its ACEs from bucket(s) ${acesRemovedFrom.join(', ')}` : ''}\n`)
  },
}

export const userCommands: Record<string, Command> = { create, list, view, modify, enable: setEnabled(true), disable: setEnabled(false), delete: remove,
  'attach-policy': attachPolicy, 'detach-policy': detachPolicy, svcacct }
