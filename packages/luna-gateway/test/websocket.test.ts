import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { startGateway } from './helpers.js'

interface Tap { teardown: (fn: () => unknown) => void }

/** A WebSocket echo server that prefixes each message with its name and the path it was opened on. */
async function startEchoSocket (t: Tap, name: string): Promise<{ origin: string, server: Server, wss: WebSocketServer }> {
  const server = createServer((_request, response) => {
    response.statusCode = 426
    response.end('upgrade required')
  })
  const wss = new WebSocketServer({ server })
  wss.on('connection', (socket, request) => {
    socket.on('message', (data, binary) => { socket.send(binary ? data : `${name} ${request.url!} ${String(data)}`, { binary }) })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => {
    for (const client of wss.clients) client.terminate()
    wss.close()
    server.close()
  })
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, wss }
}

async function open (url: string, protocols?: string[]): Promise<WebSocket> {
  const socket = new WebSocket(url, protocols)
  await once(socket, 'open')
  return socket
}

/** The HTTP answer to a handshake that was not upgraded. */
async function refusal (url: string): Promise<import('node:http').IncomingMessage> {
  const socket = new WebSocket(url)
  // Closed before it opened: ws reports that as an error, which is the point here.
  socket.on('error', () => {})
  const [, response] = await once(socket, 'unexpected-response') as [unknown, import('node:http').IncomingMessage]
  socket.terminate()
  return response
}

async function exchange (socket: WebSocket, message: string): Promise<string> {
  socket.send(message)
  const [data] = await once(socket, 'message') as [Buffer]
  return String(data)
}

t.test('a WebSocket through the gateway echoes, on the instance\'s path and query', async (t) => {
  const upstream = await startEchoSocket(t, 'chat')
  const gateway = await startGateway(t)
  await gateway.register('chat:a:1', `${upstream.origin}/ws/`)
  const socket = await open(`ws://127.0.0.1:${gateway.port}/gateway/services/chat/room/1?user=ada`)
  t.teardown(() => socket.terminate())
  t.equal(await exchange(socket, 'hello'), 'chat /ws/room/1?user=ada hello')
  t.equal(await exchange(socket, 'again'), 'chat /ws/room/1?user=ada again', 'the connection stays open')
  socket.send(Buffer.from([0, 1, 2, 255]), { binary: true })
  const [binary] = await once(socket, 'message') as [Buffer]
  t.same([...binary], [0, 1, 2, 255], 'binary frames too')
  socket.close(4001, 'bye')
  const [code, reason] = await once(socket, 'close') as [number, Buffer]
  t.equal(code, 4001, 'the close handshake goes through')
  t.equal(String(reason), 'bye')
})

t.test('the subprotocol and the handshake headers are the client\'s and the instance\'s', async (t) => {
  const upstream = await startEchoSocket(t, 'chat')
  let seen: Record<string, string | string[] | undefined> = {}
  upstream.wss.on('headers', (_headers, request) => { seen = request.headers })
  const gateway = await startGateway(t)
  await gateway.register('chat:a:1', upstream.origin)
  const socket = await open(`ws://127.0.0.1:${gateway.port}/gateway/services/chat/`, ['v2.chat', 'v1.chat'])
  t.teardown(() => socket.terminate())
  t.equal(socket.protocol, 'v2.chat')
  t.equal(seen['host'], new URL(upstream.origin).host)
  t.equal(seen['x-forwarded-for'], '127.0.0.1')
  t.equal(seen['upgrade'], 'websocket')
})

t.test('upgrades meet the same failures and auth as requests', async (t) => {
  const gateway = await startGateway(t, { auth: { username: 'ops', password: 'pw' } })
  t.equal((await refusal(`ws://127.0.0.1:${gateway.port}/gateway/services/chat/`)).statusCode, 401)
  t.equal((await refusal(`ws://ops:pw@127.0.0.1:${gateway.port}/gateway/services/nobody/`)).statusCode, 404, 'an unknown service')
})

t.test('a refused instance is skipped for another; one that declines the upgrade answers as it likes', async (t) => {
  const upstream = await startEchoSocket(t, 'chat')
  const dead = createServer()
  dead.listen(0, '127.0.0.1')
  await once(dead, 'listening')
  const deadPort = (dead.address() as AddressInfo).port
  dead.close()
  const gateway = await startGateway(t)
  await gateway.register('chat:a:1', `http://127.0.0.1:${deadPort}/`)
  await gateway.register('chat:b:1', upstream.origin)
  const socket = await open(`ws://127.0.0.1:${gateway.port}/gateway/services/chat/x`)
  t.teardown(() => socket.terminate())
  t.equal(await exchange(socket, 'hi'), 'chat /x hi')

  const plain = await startEchoSocket(t, 'plain')
  plain.wss.close()
  plain.server.removeAllListeners('upgrade')
  plain.server.on('upgrade', (_request, raw) => { raw.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 4\r\n\r\nnope') })
  await gateway.register('plain:a:1', plain.origin)
  const response = await refusal(`ws://127.0.0.1:${gateway.port}/gateway/services/plain/`)
  t.equal(response.statusCode, 403)
})

t.test('closing the app closes the tunnels', async (t) => {
  const upstream = await startEchoSocket(t, 'chat')
  const gateway = await startGateway(t)
  await gateway.register('chat:a:1', upstream.origin)
  const socket = await open(`ws://127.0.0.1:${gateway.port}/gateway/services/chat/`)
  const closed = once(socket, 'close')
  await gateway.app.close()
  await closed
  t.pass('the app closed, and the client saw its socket close')
})

t.test('an upgrade elsewhere in the app is answered as a plain request', async (t) => {
  const gateway = await startGateway(t)
  t.equal((await refusal(`ws://127.0.0.1:${gateway.port}/registry/v1/services`)).statusCode, 401, 'the registry\'s own answer')
})
