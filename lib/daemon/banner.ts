// What bridged prints on start: its endpoints and, on first start, the demo bucket's key.
import type { DemoCredentials } from './bootstrap.js'

export function printBanner (endpoints: { endpoint: string, httpsEndpoint?: string }, demo: DemoCredentials | undefined): void {
  const { endpoint, httpsEndpoint } = endpoints
  process.stdout.write(`s3bridge listening on ${endpoint}${httpsEndpoint && httpsEndpoint !== endpoint ? ` and ${httpsEndpoint}` : ''}\n`)
  if (demo) {
    process.stdout.write(`demo bucket: ${demo.bucket}\naccess key id: ${demo.accessKeyId}\n`)
    process.stdout.write(demo.secret ? `secret access key: ${demo.secret}\n(shown once; keep it)\n` : 'secret: shown at first start only; make a new key with: bridgectl keys create demo\n')
    process.stdout.write(`try: AWS_ACCESS_KEY_ID=${demo.accessKeyId} AWS_SECRET_ACCESS_KEY=... aws --endpoint-url ${endpoint} s3 ls s3://${demo.bucket}\n`)
  }
}
