import { createServer, connect, type AddressInfo, type Socket } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import lunaRegistry from 'luna-registry'
import t from 'tap'
import { privateRedis } from '../../../test-support/redis-server.js'
import { until } from '../../../test-support/until.js'
import { EventStream } from '../../luna-registry/test/sse-client.js'
import { RedisStore, type RedisStoreOptions } from '../src/index.js'

const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }
const PREFIX = '/registry/v1'

interface Tap { teardown: (fn: () => unknown) => void }

interface Replica { app: FastifyInstance, store: RedisStore, base: string }

/** A registry on its own port, its store on `url`. */
async function replica (t: Tap, url: string, options: RedisStoreOptions = {}): Promise<Replica> {
  const app = Fastify()
  const store = new RedisStore({ url, ...options })
  await app.register(lunaRegistry, { store })
  // The store is the test's: the registry leaves it open.
  app.addHook('onClose', async () => { await store.close() })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  await store.ready()
  return { app, store, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}${PREFIX}` }
}

async function register (app: FastifyInstance, id: string): Promise<number> {
  const name = id.slice(0, id.indexOf(':'))
  const payload = { name, version: '1.0.0', status: 'OK', url: 'http://10.0.0.1:8080/' }
  return (await app.inject({ method: 'POST', url: `${PREFIX}/instances/${id}`, headers: AUTH, payload })).statusCode
}

async function subscribe (t: Tap, base: string, query = ''): Promise<EventStream> {
  const stream = await EventStream.open(`${base}/events${query}`, AUTH)
  t.teardown(() => stream.close())
  return stream
}

/** The instance ids a snapshot lists. */
function ids (snapshot: { data: unknown }): string[] {
  return (snapshot.data as Array<{ instances: Array<{ instanceId: string }> }>).flatMap((service) => service.instances.map((instance) => instance.instanceId))
}

/**
 * A TCP relay to Redis that the test can cut: while cut, every connection through it is closed
 * at once, so a store behind it is away while others reach Redis directly.
 */
async function relay (t: Tap, port: number): Promise<{ url: string, cut: () => void, mend: () => void }> {
  let cut = false
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    if (cut) return client.destroy()
    const upstream = connect(port, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => { sockets.delete(socket); client.destroy(); upstream.destroy() })
      socket.on('error', () => {})
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const socket of sockets) socket.destroy(); server.close() })
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: () => {
      cut = true
      for (const socket of sockets) socket.destroy()
    },
    mend: () => { cut = false }
  }
}

t.test('Redis restarted without its data: every event stream gets a fresh snapshot, then the re-registrations', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  await redis.start()
  const { app, store, base } = await replica(t, redis.url)
  t.equal(await register(app, 'orders:h:1'), 201)
  t.equal(await register(app, 'billing:h:2'), 201)
  const all = await subscribe(t, base)
  const orders = await subscribe(t, base, '?service=orders')
  t.same(ids(await all.next('snapshot')), ['billing:h:2', 'orders:h:1'])
  t.same(ids(await orders.next('snapshot')), ['orders:h:1'])

  await redis.stop()
  await until('the store notices', () => store.available() ? undefined : true)
  await redis.start()

  const fresh = await all.next('snapshot', 5000)
  t.same(fresh.data, [], 'the lost instances are gone from the list')
  t.same((await orders.next('snapshot', 5000)).data, [], 'and from the list of one service')
  t.notOk(all.ended || orders.ended, 'on the same streams')

  t.equal(await register(app, 'orders:h:1'), 201, 'registering again creates it anew')
  const registered = await all.next()
  t.match(registered, { event: 'registered', data: { instanceId: 'orders:h:1', created: true } })
  t.ok(Number(registered.id) > Number(fresh.id), 'numbered after the snapshot')
  t.match(await orders.next(), { event: 'registered', data: { instanceId: 'orders:h:1', created: true } })
})

t.test('events missed while a replica\'s subscription was down are caught up by a fresh snapshot', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  await redis.start()
  const path = await relay(t, redis.port)
  const a = await replica(t, redis.url)
  const b = await replica(t, path.url)
  const heard = new Promise((resolve) => b.app.lunaRegistry.once('registered', resolve))
  t.equal(await register(a.app, 'orders:h:1'), 201)
  await heard
  const stream = await subscribe(t, b.base)
  t.same(ids(await stream.next('snapshot')), ['orders:h:1'])

  path.cut()
  await until('B notices', () => b.store.available() ? undefined : true)
  // Published while B cannot hear it: only a snapshot can tell B's subscribers.
  t.equal(await register(a.app, 'billing:h:2'), 201)
  t.equal((await a.app.inject({ method: 'DELETE', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH })).statusCode, 204)
  path.mend()

  const fresh = await stream.next(undefined, 5000)
  t.equal(fresh.event, 'snapshot', 'the first thing B sends after the outage is a fresh snapshot')
  t.same(ids(fresh), ['billing:h:2'], 'with what happened meanwhile')
  t.equal(await register(a.app, 'ledger:h:3'), 201)
  t.match(await stream.next(), { event: 'registered', data: { instanceId: 'ledger:h:3' } }, 'and the events after it, as before')
})

t.test('a flushed Redis is noticed within checkInterval, the connections up all along', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  await redis.start()
  const { app, store, base } = await replica(t, redis.url, { checkInterval: 50 })
  t.equal(await register(app, 'orders:h:1'), 201)
  const stream = await subscribe(t, base)
  t.same(ids(await stream.next('snapshot')), ['orders:h:1'])
  const resyncs: number[] = []
  app.lunaRegistry.on('resync', () => resyncs.push(Date.now()))

  const admin = new Redis(redis.url)
  t.teardown(() => admin.disconnect())
  await admin.flushall()
  const fresh = await stream.next(undefined, 3000)
  t.equal(fresh.event, 'snapshot')
  t.same(fresh.data, [])
  t.equal(store.available(), true, 'no connection was lost')

  // Only a change resyncs: the marker is looked at several times more, and nothing follows.
  const monitor = await admin.monitor()
  t.teardown(() => monitor.disconnect())
  let looks = 0
  monitor.on('monitor', (_time: string, args: string[]) => { if (/^eval/i.test(args[0] ?? '') && args.includes('luna:marker')) looks++ })
  await until('the marker is looked at three times more', () => looks >= 3 ? true : undefined)
  t.equal(resyncs.length, 1, 'one resync for one flush')
  t.same(stream.pending().filter((event) => event.event === 'snapshot'), [], 'and one fresh snapshot')
})

t.test('a replica that starts while Redis is away resyncs once its subscription stands', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  const app = Fastify()
  const store = new RedisStore({ url: redis.url })
  await app.register(lunaRegistry, { store })
  // The store is the test's: the registry leaves it open.
  app.addHook('onClose', async () => { await store.close() })
  t.teardown(() => app.close())
  let resyncs = 0
  app.lunaRegistry.on('resync', () => { resyncs++ })
  await app.ready()
  await redis.start()
  await until('the registry is told to resync', () => resyncs > 0 ? true : undefined, 10_000)
  t.equal(store.available(), true, 'told once the store answers')
})

t.test('checkInterval must be a positive number of milliseconds', async (t) => {
  for (const checkInterval of [0, -1, Number.NaN, Infinity]) {
    t.throws(() => new RedisStore({ checkInterval, redis: { lazyConnect: true } }), /checkInterval must be a positive number of milliseconds/)
  }
})
