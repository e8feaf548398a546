// bridged's entry point: load the config, bootstrap the demo on first start, serve, and handle signals.
import { parseArgs } from 'node:util'
import { ConfigError } from '../config/schema.js'
import { defaultConfigPath, loadConfig } from '../config/load.js'
import { createLogger } from '../log.js'
import { bootstrapDemo } from './bootstrap.js'
import { startDaemon } from './server.js'

export async function main (argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help) {
    process.stdout.write('usage: bridged [--config FILE]\n  Serves the buckets of FILE (default: $S3BRIDGE_CONFIG or the sample etc/bridge.conf).\n')
    return 0
  }
  let config
  try {
    config = loadConfig(values.config ?? defaultConfigPath())
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`bridged: ${err.message}\n`)
      return 2
    }
    throw err
  }
  const log = createLogger(config.logLevel)
  const daemon = await startDaemon(config, { log })
  const demo = await bootstrapDemo(config, daemon.services.state, new Date())
  process.stdout.write(`s3bridge listening on ${daemon.endpoint}${daemon.httpsEndpoint && daemon.httpsEndpoint !== daemon.endpoint ? ` and ${daemon.httpsEndpoint}` : ''}\n`)
  if (demo) {
    process.stdout.write(`demo bucket: ${demo.bucket}\naccess key id: ${demo.accessKeyId}\n`)
    process.stdout.write(demo.secret ? `secret access key: ${demo.secret}\n(shown once; keep it)\n` : 'secret: shown at first start only; make a new key with: bridgectl keys create demo\n')
    process.stdout.write(`try: AWS_ACCESS_KEY_ID=${demo.accessKeyId} AWS_SECRET_ACCESS_KEY=... aws --endpoint-url ${daemon.endpoint} s3 ls s3://${demo.bucket}\n`)
  }
  await new Promise<void>(resolve => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  log.info('stopping')
  await daemon.close()
  return 0
}
