import Fastify, { type FastifyInstance } from 'fastify'
import lunaRegistry, { MemoryStore, STORE_METHODS, type LunaRegistry, type LunaRegistryOptions, type RegistryStore } from '../src/index.js'

export const PREFIX = '/registry/v1'
export const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }

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

/** A store that does what `inner` does, except for the methods overridden. */
export function wrapStore (overrides: Partial<RegistryStore> = {}, inner: RegistryStore = new MemoryStore()): RegistryStore {
  const store = Object.fromEntries(STORE_METHODS.map((method) =>
    [method, (...args: unknown[]) => (inner[method] as (...a: unknown[]) => unknown)(...args)]))
  return { ...store, ...overrides } as unknown as RegistryStore
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
