// Expect: 100-continue: the 100 is sent only once the request is authenticated and authorized, so a refused
// client gets its 403 without uploading the body; an accepted one gets the 100, sends, and gets its 200.
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { startBridge, type Credentials } from '../fixtures/daemon.js'
import { signedHead } from '../fixtures/clients/raw-request.js'

function putHead (endpoint: string, creds: Credentials, path: string, length: number): Promise<string> {
  return signedHead(endpoint, creds, { method: 'PUT', path, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': String(length), expect: '100-continue' } })
}

/** Resolves with what the server sent within `ms` (or up to the end of the connection). */
function readFor (socket: Socket, ms: number): Promise<string> {
  return new Promise(resolve => {
    let got = ''
    const onData = (d: Buffer): void => { got += d.toString('latin1') }
    socket.on('data', onData)
    setTimeout(() => { socket.off('data', onData); resolve(got) }, ms)
  })
}

t.test('an authorized PUT gets 100 Continue before it sends its body; a refused one gets only the 403', async t => {
  const b = await startBridge(t)
  const url = new URL(b.endpoint)
  const body = 'sent after the 100'
  const ok = connect(Number(url.port), url.hostname)
  t.teardown(() => ok.destroy())
  ok.write(await putHead(b.endpoint, b.creds, '/demo/continued', body.length))
  t.match(await readFor(ok, 1000), /^HTTP\/1\.1 100 Continue\r\n\r\n$/, 'the 100, and nothing else yet')
  ok.write(body)
  t.match(await readFor(ok, 1000), /^HTTP\/1\.1 200 /)
  t.equal(await (await b.s3.send(new GetObjectCommand({ Bucket: 'demo', Key: 'continued' }))).Body?.transformToString(), body)

  const stranger = { accessKeyId: b.creds.accessKeyId, secretAccessKey: 'not-the-secret' }
  const refused = connect(Number(url.port), url.hostname)
  t.teardown(() => refused.destroy())
  refused.write(await putHead(b.endpoint, stranger, '/demo/refused', 1_000_000))
  const answer = await readFor(refused, 1000)
  t.match(answer, /^HTTP\/1\.1 403 /, 'the refusal comes first')
  t.notMatch(answer, /100 Continue/, 'no invitation to upload a body that would be thrown away')
})
