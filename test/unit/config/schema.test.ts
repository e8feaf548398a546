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
  const noMethods = refusal({ defaultCors: [{ AllowedOrigins: ['*'] }] })
  t.equal(noMethods.field, 'defaultCors', 'a rule without methods')
  t.notMatch(noMethods.message, /XML/, 'a JSON list is not told about XML')
  t.match(refusal({ defaultCors: [{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], MaxAgeSeconds: -5 }] }).message, /MaxAgeSeconds/, 'a negative MaxAgeSeconds is named')
  t.equal(refusal({ defaultCors: [{ AllowedOrigins: ['a*b*'], AllowedMethods: ['GET'] }] }).field, 'defaultCors', 'two wildcards')
  const good = parseConfig({ ...BASE, defaultCors: [{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], MaxAgeSeconds: 60 }] }, '/srv')
  t.same(good.defaultCors, { rules: [{ allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: [], maxAgeSeconds: 60 }] })
})

t.test('an unknown key inside a section is refused with its full name, like one at the top level', async t => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ http: { host: '127.0.0.1', prot: 9930 } }, 'http.prot'],
    [{ admin: { host: '127.0.0.1', Port: 9932 } }, 'admin.Port'],
    [{ https: { host: '127.0.0.1', port: 0, certFile: 'c', keyFile: 'k', cafile: 'x' } }, 'https.cafile'],
    [{ anonymous: { UID: 5 } }, 'anonymous.UID'],
    [{ demo: { bucket: 'demo', path: 'd', uid: 1, gid: 1, owner: 'x' } }, 'demo.owner'],
    [{ fsyncc: true }, 'fsyncc'],
  ]
  for (const [fields, field] of cases) {
    const err = refusal(fields)
    t.equal(err.field, field, JSON.stringify(fields))
    t.match(err.message, /known fields/)
  }
})

t.test('a configured listener needs a port; port 0 (any free port) is accepted when written', async t => {
  t.equal(refusal({ http: { host: '127.0.0.1' } }).field, 'http.port')
  t.equal(refusal({ admin: { host: '127.0.0.1' } }).field, 'admin.port')
  t.equal(refusal({ https: { host: '127.0.0.1', certFile: 'c', keyFile: 'k' } }).field, 'https.port')
  t.equal(parseConfig({ ...BASE, admin: { port: 0 } }, '/srv').admin?.port, 0)
})

t.test('anonymous may not be uid or gid 0, and create modes may not carry setuid (files: nor setgid)', async t => {
  t.equal(refusal({ anonymous: { uid: 0, gid: 65534 } }).field, 'anonymous.uid')
  t.equal(refusal({ anonymous: { uid: 65534, gid: 0 } }).field, 'anonymous.gid')
  for (const field of ['fileCreateMode', 'dirCreateMode', 'bucketDirectoryCreateMode']) {
    t.match(refusal({ [field]: '4755' }), { field, message: /setuid/ }, `${field} 4755`)
  }
  t.match(refusal({ fileCreateMode: '2644' }), { field: 'fileCreateMode', message: /setgid/ })
  const c = parseConfig({ ...BASE, dirCreateMode: '2775', bucketDirectoryCreateMode: '3770' }, '/srv')
  t.equal(c.dirCreateMode, 0o2775, 'setgid folders are how group-shared trees work')
  t.equal(c.bucketDirectoryCreateMode, 0o3770)
  t.equal(refusal({ region: 'bad region!!' }).field, 'region')
})
