// Config validation: every bad field is refused with its name, before anything starts.
import t from 'tap'
import { ConfigError, parseConfig } from '../../../lib/config/schema.js'

const BASE = { http: { host: '127.0.0.1', port: 0 }, stateDir: 'state', rootPath: 'buckets' }

function refusal (fields: Record<string, unknown>): ConfigError {
  try {
    parseConfig({ ...BASE, ...fields }, '/srv')
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error(`accepted: ${JSON.stringify(fields)}`)
}

t.test('defaultCors is checked against the CORS rules while parsing, naming the field and the bad rule', async t => {
  const bad = refusal({ defaultCors: [{ AllowedOrigins: ['*'], AllowedMethods: ['BREW'] }] })
  t.equal(bad.field, 'defaultCors')
  t.match(bad.message, /unsupported HTTP method.*BREW/)
  t.equal(refusal({ defaultCors: [{ AllowedOrigins: ['*'] }] }).field, 'defaultCors', 'a rule without methods')
  t.equal(refusal({ defaultCors: [{ AllowedOrigins: ['a*b*'], AllowedMethods: ['GET'] }] }).field, 'defaultCors', 'two wildcards')
  const good = parseConfig({ ...BASE, defaultCors: [{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], MaxAgeSeconds: 60 }] }, '/srv')
  t.same(good.defaultCors, { rules: [{ allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: [], maxAgeSeconds: 60 }] })
})
