import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import lunaRegistry, { type LunaRegistryOptions, type RegistryEvent, type StatusEvent } from 'luna-registry'
import t from 'tap'
import { until } from '../../../test-support/until.js'
import { RedisStore } from '../src/index.js'
import { REDIS_URL, requireRedis, uniquePrefix } from './redis.js'

const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }
const PREFIX = '/registry/v1'

function body (service: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: service, version: '1.0.0', status: 'OK', url: 'http://10.0.0.1:8080/', ...overrides }
}

interface Tap { teardown: (fn: () => unknown) => void }

/** One registry replica: a Fastify app with its own connection to the shared Redis. */
async function replica (t: Tap, keyPrefix: string, options: LunaRegistryOptions = {}): Promise<FastifyInstance> {
  const app = Fastify()
  const store = new RedisStore({ url: REDIS_URL, keyPrefix })
  await app.register(lunaRegistry, { store, ...options })
  // The store is the test's: the registry leaves it open.
  app.addHook('onClose', async () => { await store.close() })
  await app.listen({ port: 0, host: '127.0.0.1' })
  await store.ready()
  t.teardown(() => app.close())
  return app
}

function baseOf (app: FastifyInstance): string {
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}${PREFIX}`
}

if (await requireRedis(t)) {
  t.test('metrics: every replica counts the registry\'s changes and sees its figures; heartbeats are each one\'s own', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await replica(t, prefix)
    const b = await replica(t, prefix)
    const sample = async (app: FastifyInstance, name: string): Promise<number | undefined> => {
      const text = (await app.inject({ method: 'GET', url: `${PREFIX}/metrics`, headers: AUTH })).body
      const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `))
      return line === undefined ? undefined : Number(line.slice(name.length + 1))
    }
    t.equal((await a.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: body('orders') })).statusCode, 201)
    t.equal((await a.inject({ method: 'PUT', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: body('orders') })).statusCode, 200)
    await until('B hears of A\'s registration', async () => await sample(b, 'luna_registrations_total') === 1 || undefined)
    t.equal(await sample(a, 'luna_registrations_total'), 1, 'counted once on each replica')
    t.equal(await sample(b, 'luna_instances{status="OK"}'), 1, 'B reads the figures from the shared store')
    t.equal(await sample(a, 'luna_heartbeats_total'), 1)
    t.equal(await sample(b, 'luna_heartbeats_total'), 0, 'a heartbeat is counted where it was received')
  })

  t.test('two replicas share one registry: write on A, read on B', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await replica(t, prefix)
    const b = await replica(t, prefix)
    const created = await a.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: body('orders', { description: 'from A' }) })
    t.equal(created.statusCode, 201)
    const read = await b.inject({ method: 'GET', url: `${PREFIX}/services/orders`, headers: AUTH })
    t.match(read.json(), { name: 'orders', description: 'from A', instancesOnline: 1 })
    t.equal((await b.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: body('orders') })).statusCode, 200, 'B sees it is a replacement')
    t.equal((await b.inject({ method: 'DELETE', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH })).statusCode, 204)
    t.equal((await a.inject({ method: 'PUT', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: body('orders') })).statusCode, 404, 'a heartbeat on A does not resurrect what B deleted')
  })

  t.test('an event stream on B sees what happens on A', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await replica(t, prefix)
    const b = await replica(t, prefix)
    const seen: RegistryEvent[] = []
    b.lunaRegistry.on('event', (event) => seen.push(event))
    await a.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: body('orders') })
    await a.inject({ method: 'PUT', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: body('orders', { status: 'DOWN' }) })
    await a.inject({ method: 'DELETE', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH })
    await until('B hears all of it', () => seen.length >= 3 ? true : undefined)
    t.same(seen.map((event) => event.type), ['registered', 'status', 'deregistered'])
    t.same(seen.map((event) => event.id), [1, 2, 3], 'numbered by B, in the order B delivers them')
    t.match(seen[1], { previous: 'OK', status: 'DOWN', reason: 'reported', instanceId: 'orders:h:1', instance: { reportedStatus: 'DOWN' } })

    // And over HTTP: B's SSE stream.
    const response = await fetch(`${baseOf(b)}/events`, { headers: AUTH })
    const reader = response.body!.getReader()
    t.teardown(() => reader.cancel())
    let text = ''
    const read = async (pattern: RegExp): Promise<void> => {
      const deadline = Date.now() + 3000
      while (!pattern.test(text) && Date.now() < deadline) {
        const { value, done } = await reader.read()
        if (done) break
        text += new TextDecoder().decode(value)
      }
    }
    await read(/event: snapshot/)
    await a.inject({ method: 'POST', url: `${PREFIX}/instances/billing:h:2`, headers: AUTH, payload: body('billing') })
    await read(/event: registered\ndata: .*"billing:h:2"/)
    t.match(text, /event: registered\ndata: \{[^\n]*"instanceId":"billing:h:2"/)
  })

  t.test('a stranger\'s message on the event channel is ignored, not fatal', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await replica(t, prefix)
    const b = await replica(t, prefix)
    const seen: RegistryEvent[] = []
    b.lunaRegistry.on('event', (event) => seen.push(event))
    const publisher = new Redis(REDIS_URL)
    t.teardown(() => publisher.disconnect())
    for (const text of ['not json', '{"origin": 1}', '{"event": {}}', 'null', '[]']) await publisher.publish(`${prefix}events`, text)
    await a.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: body('orders') })
    await until('B hears the real event', () => seen.length > 0 ? true : undefined)
    t.same(seen.map((event) => event.type), ['registered'])
  })

  t.test('a timeout is announced once, not once per replica', async (t) => {
    const prefix = uniquePrefix(t)
    const options = { heartbeatTimeout: 300, sweepInterval: 20 }
    const replicas = [await replica(t, prefix, options), await replica(t, prefix, options), await replica(t, prefix, options)]
    const heard = replicas.map(() => [] as StatusEvent[])
    replicas.forEach((app, i) => app.lunaRegistry.on('status', (event) => heard[i]!.push(event)))
    for (let i = 0; i < 20; i++) {
      await replicas[i % 3]!.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h${i}:1`, headers: AUTH, payload: body('orders') })
    }
    await until('every replica hears all 20 timeouts', () => heard.every((events) => events.length >= 20) ? true : undefined)
    await new Promise((resolve) => setTimeout(resolve, 200))
    for (const [i, events] of heard.entries()) {
      const ids = events.map((event) => event.instanceId)
      t.equal(new Set(ids).size, 20, `replica ${i}: every instance`)
      t.equal(ids.length, 20, `replica ${i}: each once`)
      t.ok(events.every((event) => event.reason === 'timeout'))
    }
  })

  t.test('restarting every replica loses nothing', async (t) => {
    const prefix = uniquePrefix(t)
    const first = await replica(t, prefix)
    for (let i = 0; i < 5; i++) {
      await first.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h${i}:1`, headers: AUTH, payload: body('orders', { metadata: { i: String(i) } }) })
    }
    const before = (await first.inject({ method: 'GET', url: `${PREFIX}/instances`, headers: AUTH })).json()
    await first.close()
    const second = await replica(t, prefix)
    const after = (await second.inject({ method: 'GET', url: `${PREFIX}/instances`, headers: AUTH })).json()
    t.same(after, before)
    t.equal(after.length, 5)
  })
}
