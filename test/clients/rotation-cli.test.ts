import t from 'tap'
import { startBridge } from '../fixtures/daemon.js'
import { awsEnv, hasProgram, runClient } from '../fixtures/clients/run-client.js'
import { rotateKey } from '../../lib/auth/rotation.js'

const AWS = '/usr/bin/aws'

t.test('the AWS CLI configured with the old secret keeps working inside the rotation window, and not after', { skip: hasProgram(AWS) ? false : 'AWS CLI v2 not installed' }, async t => {
  const b = await startBridge(t)
  const ls = () => runClient(AWS, ['--endpoint-url', b.endpoint, 's3', 'ls', 's3://demo'], { env: awsEnv(b.dir, b.creds) })
  t.equal((await ls()).code, 0)
  // Rotated 9 minutes ago (the clock is the rotation's argument): one minute of the 10-minute window is left.
  await b.daemon.services.state.mutate(s => rotateKey(s.users.tester!.keys[0]!, new Date(Date.now() - 9 * 60_000), 10))
  const inside = await ls()
  t.equal(inside.code, 0, inside.stderr)
  // Move the window's end into the past, as the clock reaching it would.
  await b.daemon.services.state.mutate(s => { s.users.tester!.keys[0]!.oldExpiresAt = new Date(Date.now() - 1000).toISOString() })
  const after = await ls()
  t.not(after.code, 0)
  t.match(after.stderr, /SignatureDoesNotMatch/)
})
