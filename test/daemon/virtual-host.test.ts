// Virtual-hosted-style addressing from baseDomains (Host: bucket.<base-domain>) beside path-style requests.
import t from 'tap'
import { startBridge } from '../fixtures/daemon.js'
import { signedRequest } from '../fixtures/bridged-process.js'

t.test('Host demo.s3.test addresses bucket demo, and path-style requests still work', async t => {
  const bridge = await startBridge(t, { baseDomains: ['s3.test'] })
  const port = new URL(bridge.endpoint).port
  const put = await signedRequest(bridge.endpoint, bridge.creds, { method: 'PUT', path: '/docs/vhost.txt', host: `demo.s3.test:${port}`, body: 'via the virtual host' })
  t.equal(put.status, 200, 'PutObject through the virtual host')
  const pathStyle = await signedRequest(bridge.endpoint, bridge.creds, { method: 'GET', path: '/demo/docs/vhost.txt' })
  t.equal(pathStyle.body, 'via the virtual host', 'the same object path-style')
  const list = await signedRequest(bridge.endpoint, bridge.creds, { method: 'GET', path: '/?list-type=2', host: 'demo.s3.test' })
  t.equal(list.status, 200)
  t.match(list.body, /<Name>demo<\/Name>[\s\S]*<Key>docs\/vhost\.txt<\/Key>/, 'ListObjectsV2 on the virtual host root lists the bucket')
  const service = await signedRequest(bridge.endpoint, bridge.creds, { method: 'GET', path: '/', host: 's3.test' })
  t.match(service.body, /<ListAllMyBucketsResult[\s\S]*<Name>demo<\/Name>/, 'the base domain itself is the service endpoint')
  const other = await signedRequest(bridge.endpoint, bridge.creds, { method: 'GET', path: '/docs/vhost.txt', host: 'nosuch.s3.test' })
  t.equal(other.status, 404)
  t.match(other.body, /<Code>NoSuchBucket<\/Code>/)
})
