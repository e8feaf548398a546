// Verifies the request's signature (any form) and turns its access key into a Principal.
import type { Context, Next } from 'koa'
import { authenticate as verifySignature, type Authenticated } from '../../auth/authenticate.js'
import { secretsFor, findKey } from '../../auth/credential-store.js'
import { supplementaryGroups } from '../../auth/identity.js'
import { anonymousPrincipal, type Principal } from '../../auth/principal.js'
import { S3Error } from '../../errors/s3-error.js'
import type { Services } from '../types.js'

export async function principalFor (auth: Authenticated | null, s: Services): Promise<Principal> {
  if (auth === null) return anonymousPrincipal(s.config.anonymousUid, s.config.anonymousGid)
  const match = findKey(s.state.snapshot(), auth.accessKeyId)
  if (!match) throw new S3Error('InvalidAccessKeyId', { AWSAccessKeyId: auth.accessKeyId })
  const { user } = match
  return {
    kind: 'user',
    name: user.name,
    role: user.role,
    uid: user.uid,
    gid: user.gid,
    groups: await supplementaryGroups(user.uid, user.gid),
    accessKeyId: auth.accessKeyId,
    hasRootRights: user.uid === 0 && s.config.allowRootUsers,
  }
}

export function authenticate (s: Services) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const now = s.now()
    const auth = await verifySignature(
      { method: ctx.method, rawUrl: ctx.url, headers: ctx.req.headers },
      async id => secretsFor(s.state.snapshot(), id, now),
      { now, maxClockSkewMs: s.config.maxClockSkewMs, maxPresignExpirySeconds: 7 * 24 * 3600 },
    )
    ctx.state.auth = auth
    ctx.state.principal = await principalFor(auth, s)
    ctx.state.principalName = (ctx.state.principal as Principal).name
    await next()
  }
}
