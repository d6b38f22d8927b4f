import { once } from 'node:events'
import { createServer, request as httpRequest, type IncomingMessage, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import lunaRegistry, { type LunaRegistryOptions } from 'luna-registry'
import lunaGateway, { type LunaGatewayOptions } from '../src/index.js'

interface Tap { teardown: (fn: () => unknown) => void }

export interface Upstream {
  server: Server
  /** `http://127.0.0.1:{port}` */
  origin: string
  port: number
  /** Every request it received, in order. */
  seen: Array<{ method: string, url: string, headers: IncomingMessage['headers'] }>
  close: () => Promise<void>
}

/** A real HTTP server on 127.0.0.1 and a port of its own, closed when the test ends. */
export async function startUpstream (t: Tap, handler: RequestListener, port = 0): Promise<Upstream> {
  const seen: Upstream['seen'] = []
  const server = createServer((request, response) => {
    seen.push({ method: request.method!, url: request.url!, headers: request.headers })
    handler(request, response)
  })
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  const actual = (server.address() as AddressInfo).port
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    server.closeAllConnections()
    server.close()
    await once(server, 'close')
  }
  t.teardown(close)
  return { server, origin: `http://127.0.0.1:${actual}`, port: actual, seen, close }
}

/** An upstream that says who it is and what it was asked: `{ name, method, url, headers, body }`. */
export async function startEcho (t: Tap, name: string, port = 0): Promise<Upstream> {
  return await startUpstream(t, (request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ name, method: request.method, url: request.url, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') }))
    })
  }, port)
}

export interface Gateway {
  app: FastifyInstance
  /** The app's log lines at info and above, parsed. */
  logs: Array<Record<string, unknown>>
  /** `http://127.0.0.1:{port}` */
  origin: string
  port: number
  /** Registers `id` (service:host:port) at `url` with the registry in the app. */
  register: (id: string, url: string, overrides?: Record<string, unknown>) => Promise<void>
}

/** The registry and the gateway in one Fastify app, listening on a real socket. */
export async function startGateway (t: Tap, gateway: LunaGatewayOptions = {}, registry: LunaRegistryOptions = {}): Promise<Gateway> {
  const logs: Array<Record<string, unknown>> = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { logs.push(JSON.parse(line) as Record<string, unknown>) } } } })
  await app.register(lunaRegistry, registry)
  await app.register(lunaGateway, gateway)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as AddressInfo).port
  return {
    app,
    logs,
    origin: `http://127.0.0.1:${port}`,
    port,
    register: async (id, url, overrides = {}) => {
      await app.lunaRegistry.register(id, { name: id.split(':')[0]!, version: '1.0.0', status: 'OK', url, ...overrides })
    }
  }
}

export interface Answer {
  status: number
  headers: IncomingMessage['headers']
  trailers: IncomingMessage['trailers']
  body: string
}

/**
 * One request over a fresh connection with node:http, which sends the path as it is given (fetch
 * would resolve dot segments first).
 */
export async function send (origin: string, path: string, options: { method?: string, headers?: Record<string, string>, body?: string | Buffer } = {}): Promise<Answer> {
  const url = new URL(origin)
  // Node sends the body of a DELETE or OPTIONS without framing unless told its length.
  const length = options.body === undefined || options.headers?.['transfer-encoding'] !== undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }
  const request = httpRequest({ host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: { ...length, ...options.headers }, agent: false })
  request.end(options.body)
  const [response] = await once(request, 'response') as [IncomingMessage]
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  return { status: response.statusCode!, headers: response.headers, trailers: response.trailers, body: Buffer.concat(chunks).toString('utf8') }
}

/** The JSON an echo upstream answered. */
export function echoed (answer: Answer): { name: string, method: string, url: string, headers: Record<string, string>, body: string } {
  return JSON.parse(answer.body) as ReturnType<typeof echoed>
}
