import type { IncomingMessage, ServerResponse } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import lunaRegistry, { MemoryStore, type LunaRegistry, type LunaRegistryOptions, type RegistryEvent, type RegistryStore } from '../src/index.js'

export const PREFIX = '/registry/v1'
export const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }
export const JSON_HEADERS = { ...AUTH, 'content-type': 'application/json' }

export function basic (username: string, password: string): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` }
}

/** A clock the test moves by hand. */
export function manualClock (start = Date.parse('2026-01-01T00:00:00.000Z')): { now: () => number, advance: (ms: number) => void } {
  let current = start
  return { now: () => current, advance: (ms) => { current += ms } }
}

/** A valid instance info body for `service`. */
export function info (service = 'orders', overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: service,
    version: '1.0.0',
    status: 'OK',
    url: 'http://10.0.0.1:8080/',
    ...overrides
  }
}

interface Closable { teardown: (fn: () => unknown) => void }

/** A fresh Fastify app with the registry, closed when the test ends. */
export async function build (t: Closable, options: LunaRegistryOptions = {}): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(lunaRegistry, options)
  await app.ready()
  t.teardown(() => app.close())
  return app
}

/** A fresh app with the registry listening on 127.0.0.1; `base` is the URL of the prefix. */
export async function listen (t: Closable, options: LunaRegistryOptions = {}): Promise<{ app: FastifyInstance, base: string, port: number }> {
  const app = Fastify()
  await app.register(lunaRegistry, options)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as AddressInfo
  return { app, port, base: `http://127.0.0.1:${port}${PREFIX}` }
}

/**
 * `method` on `{prefix}/instances/{id}`, with credentials. A string body is sent as it is, byte
 * for byte, as a client sends its text; an object is sent as its JSON.
 */
export async function send (app: FastifyInstance, method: 'POST' | 'PUT' | 'GET' | 'DELETE', id: string, body?: string | Record<string, unknown>): Promise<LightMyRequestResponse> {
  return await app.inject({
    method,
    url: `${PREFIX}/instances/${id}`,
    headers: body === undefined ? AUTH : JSON_HEADERS,
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) })
  })
}

/** Registers `id` over HTTP with a valid info for its service (and `overrides`); its view. */
export async function register (app: FastifyInstance, id: string, overrides: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const res = await send(app, 'POST', id, info(id.slice(0, id.indexOf(':')), overrides))
  if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`POST ${id}: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** `GET {prefix}/services/{name}/pick`. */
export async function pick (app: FastifyInstance, name: string): Promise<{ statusCode: number, body: Record<string, unknown> }> {
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/services/${name}/pick`, headers: AUTH })
  return { statusCode: res.statusCode, body: res.json() }
}

/** Every event the registry emits from now on, in order. */
export function recordEvents (registry: LunaRegistry): RegistryEvent[] {
  const events: RegistryEvent[] = []
  registry.on('event', (event) => events.push(event))
  return events
}

/** The server's side of every request `app` receives from now on, as Node hands it over. */
export function responses (app: FastifyInstance): ServerResponse[] {
  const seen: ServerResponse[] = []
  app.server.on('request', (_request: IncomingMessage, response: ServerResponse) => seen.push(response))
  return seen
}

/** A store that does what `inner` does, except for the methods overridden. */
export function wrapStore (overrides: Partial<RegistryStore> = {}, inner: RegistryStore = new MemoryStore()): RegistryStore {
  return new Proxy(inner, {
    get (target, key) {
      const own = (overrides as Record<PropertyKey, unknown>)[key]
      if (own !== undefined) return own
      const value = Reflect.get(target, key, target) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}

/**
 * Registers `count` instances in process, spread over `services` services named `svc-0`, `svc-1`,
 * …, with ids `svc-{n}:h-{i}:8000`; with `viewBytes`, each instance's metadata makes its view
 * about that many bytes of JSON.
 */
export async function fill (registry: LunaRegistry, count: number, services: number, viewBytes = 0): Promise<void> {
  const keys = Math.min(64, Math.ceil(viewBytes / 500))
  for (let i = 0; i < count; i++) {
    const name = `svc-${i % services}`
    const metadata = Object.fromEntries(Array.from({ length: keys }, (_, k) => [`key-${k}`, `${i}-${k}-`.padEnd(480, 'm')]))
    await registry.register(`${name}:h-${i}:8000`, info(name, { description: `instance ${i}`, metadata }) as never)
  }
}

/** A raw client that asks for `{prefix}/events` at `base` and then never reads a byte. */
export function stalledSubscriber (t: Closable, base: string): Socket {
  const socket = connect(Number(new URL(base).port), '127.0.0.1')
  socket.pause()
  socket.write(`GET ${PREFIX}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${AUTH.authorization}\r\nAccept: text/event-stream\r\n\r\n`)
  t.teardown(() => socket.destroy())
  return socket
}

/** `method` on `{prefix}/instances/{id}` at `base` over a real socket; the status. */
export async function sendOver (base: string, method: string, id: string, body?: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${base}/instances/${id}`, {
    method,
    headers: { ...AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  await res.arrayBuffer()
  return res.status
}
