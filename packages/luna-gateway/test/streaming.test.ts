import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import t from 'tap'
import { startGateway, startUpstream } from './helpers.js'

t.test('server-sent events reach the client as they are produced', async (t) => {
  let sendLast: (() => void) | undefined
  const upstream = await startUpstream(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    response.write('event: first\ndata: 1\n\n')
    // The last event is sent only when the test says so: after the first has arrived.
    sendLast = () => { response.end('event: last\ndata: 2\n\n') }
  })
  const gateway = await startGateway(t)
  await gateway.register('events:a:1', upstream.origin)
  const request = httpRequest(`${gateway.origin}/gateway/services/events/stream`, { headers: { accept: 'text/event-stream' }, agent: false })
  request.end()
  const [response] = await once(request, 'response') as [IncomingMessage]
  t.equal(response.statusCode, 200)
  t.equal(response.headers['content-type'], 'text/event-stream')
  response.setEncoding('utf8')
  const [first] = await once(response, 'data') as [string]
  t.equal(first, 'event: first\ndata: 1\n\n', 'the first event, while the upstream holds the last')
  t.ok(sendLast, 'the upstream has not sent its last event yet')
  sendLast!()
  let rest = ''
  for await (const chunk of response) rest += chunk as string
  t.equal(rest, 'event: last\ndata: 2\n\n')
})

t.test('a chunked response is relayed chunk by chunk', async (t) => {
  const chunks = ['alpha,', 'beta,', 'gamma']
  let next: (() => void) | undefined
  const upstream = await startUpstream(t, (_request, response) => {
    let i = 0
    next = () => {
      if (i < chunks.length - 1) response.write(chunks[i++])
      else response.end(chunks[i++])
    }
    next()
  })
  const gateway = await startGateway(t)
  await gateway.register('feed:a:1', upstream.origin)
  const request = httpRequest(`${gateway.origin}/gateway/services/feed/`, { agent: false })
  request.end()
  const [response] = await once(request, 'response') as [IncomingMessage]
  response.setEncoding('utf8')
  const received: string[] = []
  for await (const chunk of response) {
    received.push(chunk as string)
    next!()
  }
  t.same(received, chunks)
})

t.test('a 5 MiB upload arrives intact, streamed: the upstream reads it while the client still sends', async (t) => {
  const payload = randomBytes(5 * 1024 * 1024)
  let firstBytes = (): void => {}
  const upstream = await startUpstream(t, (request, response) => {
    const hash = createHash('sha256')
    let length = 0
    request.on('data', (chunk: Buffer) => {
      if (length === 0) firstBytes()
      length += chunk.length
      hash.update(chunk)
    })
    request.on('end', () => { response.end(JSON.stringify({ length, sha256: hash.digest('hex') })) })
  })
  const gateway = await startGateway(t)
  await gateway.register('files:a:1', upstream.origin)
  for (const framing of [{ 'content-length': String(payload.length) }, { 'transfer-encoding': 'chunked' }]) {
    const arrived = new Promise<void>((resolve) => { firstBytes = resolve })
    const request = httpRequest(`${gateway.origin}/gateway/services/files/upload`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', ...framing },
      agent: false
    })
    const half = payload.length / 2
    request.write(payload.subarray(0, half))
    // The second half is sent only once the upstream has begun to receive the first.
    await arrived
    request.end(payload.subarray(half))
    const [response] = await once(request, 'response') as [IncomingMessage]
    let body = ''
    for await (const chunk of response) body += String(chunk)
    t.equal(response.statusCode, 200, Object.keys(framing)[0]!)
    t.same(JSON.parse(body), { length: payload.length, sha256: createHash('sha256').update(payload).digest('hex') }, Object.keys(framing)[0]!)
  }
})

t.test('the body limit is the gateway\'s own, far above the registry\'s 64 KiB', async (t) => {
  const upstream = await startUpstream(t, (request, response) => {
    let length = 0
    request.on('data', (chunk: Buffer) => { length += chunk.length })
    request.on('end', () => { response.end(String(length)) })
  })
  const gateway = await startGateway(t)
  await gateway.register('files:a:1', upstream.origin)
  const body = Buffer.alloc(1024 * 1024, 1)
  const response = await fetch(`${gateway.origin}/gateway/services/files/x`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
  t.equal(response.status, 200)
  t.equal(await response.text(), String(body.length))
})
