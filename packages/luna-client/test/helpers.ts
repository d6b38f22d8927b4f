import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildServer } from 'luna-server'

export const credentials = { username: 'ops', password: 's3:cr/et@' }
const userinfo = `${credentials.username}:${encodeURIComponent(credentials.password)}`

/** A request the registry answered, and when (`performance.now()`). */
export interface Answered { method: string, path: string, status: number, at: number }

/** A real luna-server on 127.0.0.1 that a test can stop and start again on the same port. */
export class TestRegistry {
  port = 0
  app: FastifyInstance | undefined
  /** What this registry answered since it last started, in order. */
  answered: Answered[] = []
  readonly #heartbeatTimeout: number

  constructor (options: { heartbeatTimeout?: number } = {}) {
    this.#heartbeatTimeout = options.heartbeatTimeout ?? 30_000
  }

  /** With the credentials inside, as users write it. */
  get url (): string {
    return `http://${userinfo}@127.0.0.1:${this.port}`
  }

  /** For checks that do not go through the client under test. */
  get base (): string {
    return `http://127.0.0.1:${this.port}/registry/v1`
  }

  /** Starts (again) on the same port; the memory store starts empty. */
  async start (): Promise<this> {
    const app = buildServer({ ...credentials, heartbeatTimeout: this.#heartbeatTimeout, logLevel: 'silent' })
    const answered: Answered[] = []
    this.answered = answered
    app.addHook('onResponse', async (request, reply) => {
      answered.push({ method: request.method, path: decodeURIComponent(request.url), status: reply.statusCode, at: performance.now() })
    })
    await app.listen({ port: this.port, host: '127.0.0.1' })
    this.port = (app.server.address() as AddressInfo).port
    this.app = app
    return this
  }

  async stop (): Promise<void> {
    const app = this.app
    this.app = undefined
    await app?.close()
  }

  /** The writes (POST, PUT, DELETE) this registry answered for instance `id` since it last started, in order. */
  writesFor (id: string): Answered[] {
    return this.answered.filter(({ method, path }) => method !== 'GET' && path === `/registry/v1/instances/${id}`)
  }

  /** The same, as `PUT 404`, `POST 201`, … */
  writesSeen (id: string): string[] {
    return this.writesFor(id).map(({ method, status }) => `${method} ${status}`)
  }

  /** GET under the prefix, with the right credentials; `undefined` for a 404. */
  async get<T> (path: string): Promise<T | undefined> {
    const response = await fetch(this.base + path, {
      headers: { accept: 'application/json', authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` }
    })
    if (response.status === 404) {
      await response.body?.cancel()
      return undefined
    }
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`)
    return await response.json() as T
  }
}

/** Starts a registry for one test and stops it after. */
export async function startRegistry (t: { teardown: (fn: () => Promise<void>) => void }, options: { heartbeatTimeout?: number } = {}): Promise<TestRegistry> {
  const registry = await new TestRegistry(options).start()
  t.teardown(async () => { await registry.stop() })
  return registry
}

/** A port nothing listens on (for now). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Records unhandled rejections from now until `stop()`. */
export function watchRejections (): { seen: unknown[], stop: () => void } {
  const seen: unknown[] = []
  const listener = (reason: unknown): void => { seen.push(reason) }
  process.on('unhandledRejection', listener)
  return { seen, stop: () => { process.off('unhandledRejection', listener) } }
}

/** Resolves with the arguments of the next `name` event, or rejects after `timeout` ms. */
export async function next<T extends unknown[]> (emitter: { once: (name: any, listener: (...args: any[]) => void) => unknown, off: (name: any, listener: (...args: any[]) => void) => unknown }, name: string, timeout = 3000): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const listener = (...args: unknown[]): void => {
      clearTimeout(timer)
      resolve(args as T)
    }
    const timer = setTimeout(() => {
      emitter.off(name, listener)
      reject(new Error(`no ${name} event within ${timeout} ms`))
    }, timeout)
    emitter.once(name, listener)
  })
}

export const instanceInfo = {
  name: 'orders',
  version: '1.4.2',
  status: 'OK' as const,
  url: 'http://127.0.0.1:8080/'
}
