import Fastify, { type FastifyInstance } from 'fastify'
import lunaRegistry, { type StatusEvent } from 'luna-registry'
import t from 'tap'
import { privateSentinels } from '../../../test-support/redis-server.js'
import { until } from '../../../test-support/until.js'
import { RedisStore } from '../src/index.js'

const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }
const PREFIX = '/registry/v1'

function bodyOf (id: string): Record<string, unknown> {
  return { name: id.slice(0, id.indexOf(':')), version: '1.0.0', status: 'OK', url: 'http://10.0.0.1:8080/' }
}

const sentinels = await privateSentinels(t)
if (sentinels !== undefined) {
  t.test('SENTINEL FAILOVER under load: 2xx or 503 only, nothing acknowledged lost, writes back within 2 s, nobody DOWN', async (t) => {
    const replicas: FastifyInstance[] = []
    const downs: StatusEvent[] = []
    const resyncs = [0, 0]
    for (let i = 0; i < 2; i++) {
      const app = Fastify()
      const store = new RedisStore({ url: sentinels.url, keyPrefix: 'luna-failover:' })
      // Heartbeats come every 100 ms: an instance is DOWN only if the store loses seconds of them.
      await app.register(lunaRegistry, { store, heartbeatTimeout: 3000, sweepInterval: 100 })
      app.addHook('onClose', async () => { await store.close() })
      await app.ready()
      await store.ready()
      t.teardown(() => app.close())
      app.lunaRegistry.on('status', (event) => { if (event.status === 'DOWN') downs.push(event) })
      app.lunaRegistry.on('resync', () => { resyncs[i]!++ })
      replicas.push(app)
    }

    const statuses = new Map<number, number>()
    const acknowledged = new Set<string>()
    /** When a registration was last acknowledged, by Date.now(). */
    let lastWrite = 0
    const running = { on: true }
    const load = async (app: FastifyInstance, worker: number): Promise<void> => {
      const mine: string[] = []
      for (let round = 0; running.on; round++) {
        const fresh = `svc${worker}:10.0.${worker}.${round}:8080`
        const requests = [{ method: 'POST' as const, id: fresh }, ...mine.map((id) => ({ method: 'PUT' as const, id }))]
        await Promise.all(requests.map(async ({ method, id }) => {
          const { statusCode } = await app.inject({ method, url: `${PREFIX}/instances/${id}`, headers: AUTH, payload: bodyOf(id) })
          statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1)
          if (method === 'POST' && statusCode < 300) {
            acknowledged.add(id)
            lastWrite = Date.now()
          }
        }))
        if (acknowledged.has(fresh)) mine.push(fresh)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    const loads = replicas.flatMap((app, i) => [load(app, 2 * i), load(app, 2 * i + 1)])
    await until('some registrations are acknowledged', () => acknowledged.size >= 20 || undefined)

    const before = await sentinels.masterPort()
    await sentinels.sentinels[0]!.cli('SENTINEL', 'FAILOVER', sentinels.name)
    const switched = await until('the sentinels name a new master', async () => await sentinels.masterPort() !== before ? Date.now() : undefined, 10_000)
    const servedAgain = await until('a registration is acknowledged after the switch', () => lastWrite > switched ? lastWrite : undefined, 10_000)
    t.ok(servedAgain - switched <= 2000, `writes served again ${servedAgain - switched} ms after the switch`)
    await new Promise((resolve) => setTimeout(resolve, 500))
    running.on = false
    await Promise.all(loads)

    t.same([...statuses.keys()].filter((status) => status >= 300 && status !== 503), [],
      `every answer 2xx or 503 (${[...statuses].map(([status, count]) => `${count} × ${status}`).join(', ')})`)
    for (const app of replicas) {
      const listed = (await app.inject({ method: 'GET', url: `${PREFIX}/instances`, headers: AUTH })).json() as Array<{ instanceId: string }>
      const present = new Set(listed.map((instance) => instance.instanceId))
      t.same([...acknowledged].filter((id) => !present.has(id)), [], `every one of the ${acknowledged.size} acknowledged registrations is there`)
    }
    t.same(downs.map((event) => event.instanceId), [], 'no healthy instance announced DOWN')
    // The registry's restart grace keys on this: what was missed during the switch is read again.
    t.ok(resyncs.every((count) => count >= 1), `each replica was told to resync after the switch (${resyncs.join(', ')})`)
  })
}

if (sentinels !== undefined) {
  t.test('a redis:// URL at a sentinel: 503, never 500, and the store says it is unavailable', async (t) => {
    const app = Fastify()
    const store = new RedisStore({ url: `redis://127.0.0.1:${sentinels.sentinels[1]!.port}`, keyPrefix: 'luna-at-sentinel:' })
    await app.register(lunaRegistry, { store })
    app.addHook('onClose', async () => { await store.close() })
    await app.ready()
    await store.ready()
    t.teardown(() => app.close())
    const res = await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: bodyOf('orders:h:1') })
    t.equal(res.statusCode, 503)
    t.equal(res.json().code, 'FST_LUNA_STORE_UNAVAILABLE')
    t.equal(store.available(), false)
  })
}
