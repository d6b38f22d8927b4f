import Fastify, { type FastifyInstance } from 'fastify'
import lunaRegistry, { type LunaRegistryOptions, type RegistryEvent } from 'luna-registry'
import t from 'tap'
import { until } from '../../../test-support/until.js'
import { RedisStore } from '../src/index.js'
import { REDIS_URL, requireRedis, uniquePrefix } from './redis.js'

const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }
const PREFIX = '/registry/v1'

interface Tap { teardown: (fn: () => unknown) => void }

/** A clock the test moves by hand, shared by the replicas. */
function manualClock (): { now: () => number, advance: (ms: number) => void } {
  let current = Date.parse('2026-01-01T00:00:00.000Z')
  return { now: () => current, advance: (ms) => { current += ms } }
}

/** A replica on the shared Redis, swept by hand on the test's clock. */
type Replica = FastifyInstance & { events: RegistryEvent[] }

async function replica (t: Tap, keyPrefix: string, options: LunaRegistryOptions): Promise<Replica> {
  const app = Fastify()
  const store = new RedisStore({ url: REDIS_URL, keyPrefix })
  await store.ready()
  await app.register(lunaRegistry, { store, heartbeatTimeout: 30_000, evictAfter: 1000, ...options })
  app.addHook('onClose', async () => { await store.close() })
  await app.ready()
  await app.lunaRegistry.stop()
  t.teardown(() => app.close())
  const events: RegistryEvent[] = []
  app.lunaRegistry.on('event', (event) => events.push(event))
  return Object.assign(app, { events }) as unknown as Replica
}

async function register (app: FastifyInstance, id: string, metadata: Record<string, string> = {}): Promise<void> {
  const res = await app.inject({ method: 'POST', url: `${PREFIX}/instances/${id}`, headers: AUTH, payload: { name: id.split(':')[0], version: '1', status: 'OK', url: 'http://10.0.0.1:80/', metadata } })
  if (res.statusCode >= 300) throw new Error(res.body)
}

const protections = (events: RegistryEvent[]): boolean[] => events.flatMap((event) => event.type === 'protection' ? [event.active] : [])

if (await requireRedis(t)) {
  t.test('replicas share one protection decision, announced once', async (t) => {
    const prefix = uniquePrefix(t)
    const clock = manualClock()
    const a = await replica(t, prefix, { now: clock.now })
    const b = await replica(t, prefix, { now: clock.now })
    for (let i = 0; i < 6; i++) await register(a, `orders:h${i}:80`)
    clock.advance(30_000)
    await Promise.all([a.lunaRegistry.sweep(), b.lunaRegistry.sweep()])
    await until('both hear protection turn on', () => protections(a.events).length > 0 && protections(b.events).length > 0 ? true : undefined)
    await Promise.all([a.lunaRegistry.sweep(), b.lunaRegistry.sweep()])
    t.match(a.lunaRegistry.protection, { active: true, timedOut: 6, of: 6 })
    t.same(b.lunaRegistry.protection, a.lunaRegistry.protection, 'one state')

    clock.advance(60_000)
    await Promise.all([a.lunaRegistry.sweep(), b.lunaRegistry.sweep()])
    t.equal((await b.inject({ method: 'GET', url: `${PREFIX}/instances`, headers: AUTH })).json().length, 6, 'neither replica evicts')

    const ended = await b.inject({ method: 'DELETE', url: `${PREFIX}/protection`, headers: AUTH })
    t.same(ended.json(), { active: false })
    await until('A hears it end', () => protections(a.events).length > 1 ? true : undefined)
    await Promise.all([a.lunaRegistry.sweep(), b.lunaRegistry.sweep()])
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.same(protections(a.events), [true, false], 'each change once on A')
    t.same(protections(b.events), [true, false], 'and once on B')
    t.same(a.lunaRegistry.protection, { active: false })
    t.equal((await a.inject({ method: 'GET', url: `${PREFIX}/instances`, headers: AUTH })).json().length, 0, 'evicted once it ended')
  })

  t.test('a maintenance hold set on one replica holds on the others, and on a replica started later', async (t) => {
    const prefix = uniquePrefix(t)
    const clock = manualClock()
    const a = await replica(t, prefix, { now: clock.now })
    const b = await replica(t, prefix, { now: clock.now })
    await register(a, 'orders:a:80', { zone: 'eu-1' })
    await register(a, 'orders:b:80', { zone: 'eu-1' })
    const held = await a.inject({ method: 'PUT', url: `${PREFIX}/instances/orders:a:80/maintenance`, headers: AUTH, payload: { reason: 'disk swap' } })
    t.equal(held.statusCode, 200)
    await until('B hears it', () => b.events.some((event) => event.type === 'maintenance') ? true : undefined)
    for (let i = 0; i < 3; i++) {
      const picked = await b.inject({ method: 'GET', url: `${PREFIX}/services/orders/pick?metadata.zone=eu-1`, headers: AUTH })
      t.equal(picked.json().instanceId, 'orders:b:80')
    }
    const c = await replica(t, prefix, { now: clock.now })
    t.match((await c.inject({ method: 'GET', url: `${PREFIX}/instances/orders:a:80`, headers: AUTH })).json(), { status: 'DOWN', maintenance: { reason: 'disk swap' } })
    await b.inject({ method: 'DELETE', url: `${PREFIX}/instances/orders:a:80/maintenance`, headers: AUTH })
    await until('A hears it lifted', () => a.events.filter((event) => event.type === 'maintenance').length > 1 ? true : undefined)
    t.equal((await a.inject({ method: 'GET', url: `${PREFIX}/instances/orders:a:80`, headers: AUTH })).json().status, 'OK')
  })

  t.test('restart grace: instances are OK right after a restart that outlasted the timeout, DOWN after the grace if silent', async (t) => {
    const prefix = uniquePrefix(t)
    const clock = manualClock()
    const before = await replica(t, prefix, { now: clock.now, evictAfter: 0 })
    await register(before, 'orders:gone:80')
    clock.advance(30_000)
    await before.lunaRegistry.sweep()
    await register(before, 'orders:quiet:80')
    await register(before, 'orders:back:80')
    await before.close()

    clock.advance(60_000)
    const after = await replica(t, prefix, { now: clock.now, evictAfter: 0 })
    const status = async (id: string): Promise<string> => (await after.inject({ method: 'GET', url: `${PREFIX}/instances/${id}`, headers: AUTH })).json().status
    t.equal(await status('orders:quiet:80'), 'OK', 'right after the start')
    t.equal(await status('orders:back:80'), 'OK')
    t.equal(await status('orders:gone:80'), 'DOWN', 'announced DOWN before the restart: still DOWN')
    clock.advance(15_000)
    await after.inject({ method: 'PUT', url: `${PREFIX}/instances/orders:back:80`, headers: AUTH, payload: { name: 'orders', version: '1', status: 'OK', url: 'http://10.0.0.1:80/' } })
    clock.advance(15_000)
    await after.lunaRegistry.sweep()
    t.equal(await status('orders:quiet:80'), 'DOWN', 'silent past the grace')
    t.equal(await status('orders:back:80'), 'OK')
    t.same(after.events.flatMap((event) => event.type === 'status' ? [`${event.instanceId} ${event.reason}`] : []), ['orders:quiet:80 timeout'])
  })
}
