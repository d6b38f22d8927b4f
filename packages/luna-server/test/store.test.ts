import t from 'tap'
import { privateRedis } from '../../../test-support/redis-server.js'
import { until } from '../../../test-support/until.js'
import { REDIS_URL, otherClients, requireRedis, uniquePrefix } from '../../luna-store-redis/test/redis.js'
import { buildServer } from '../src/index.js'

const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }
const BODY = { name: 'orders', version: '1.0.0', status: 'OK', url: 'http://h:1/' }

t.test('--store redis://: two servers on one Redis share the registry, and a restart loses nothing', async (t) => {
  if (!await requireRedis(t)) return
  const storePrefix = uniquePrefix(t)
  const a = buildServer({ logLevel: 'silent', store: REDIS_URL, storePrefix })
  t.teardown(() => a.close())
  t.equal((await a.inject({ method: 'POST', url: '/registry/v1/instances/orders:h:1', headers: AUTH, payload: BODY })).statusCode, 201)
  await a.close()
  const b = buildServer({ logLevel: 'silent', store: REDIS_URL, storePrefix })
  t.teardown(() => b.close())
  const services = await b.inject({ method: 'GET', url: '/registry/v1/services', headers: AUTH })
  t.match(services.json(), [{ name: 'orders', instancesTotal: 1 }])
  const health = await b.inject({ method: 'GET', url: '/healthz' })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })
})

t.test('/healthz says when the store is unavailable', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  await redis.start()
  const app = buildServer({ logLevel: 'silent', store: redis.url })
  t.teardown(() => app.close())
  await app.ready()
  await until('connected', async () => (await app.inject('/healthz')).statusCode === 200 ? true : undefined)
  await redis.stop()
  await until('noticed', async () => (await app.inject('/healthz')).statusCode === 503 ? true : undefined)
  const down = await app.inject('/healthz')
  t.same(down.json(), { status: 'store unavailable' })
  await redis.start()
  await until('recovered', async () => (await app.inject('/healthz')).statusCode === 200 ? true : undefined, 10_000)
  t.pass('healthy again without a restart')
})

t.test('--store redis://: closing the server leaves no connection to Redis open', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  await redis.start()
  const clients = otherClients(t, redis.url)
  const app = buildServer({ logLevel: 'silent', store: redis.url })
  t.teardown(() => app.close())
  await app.ready()
  t.equal((await clients()).length, 2, 'the store\'s connection and its subscriber\'s')
  await app.close()
  await until('Redis lists no connection but the test\'s own', async () => (await clients()).length === 0 || undefined)
  t.pass('the server closed the store it created')
})

/** A clock the test moves by hand. */
function manualClock (): { now: () => number, advance: (ms: number) => void } {
  let current = Date.parse('2026-01-01T00:00:00.000Z')
  return { now: () => current, advance: (ms) => { current += ms } }
}

t.test('--store redis://: a restart that outlasted the heartbeat timeout blames no instance; silence past the grace does', async (t) => {
  if (!await requireRedis(t)) return
  const storePrefix = uniquePrefix(t)
  const clock = manualClock()
  const settings = { logLevel: 'silent' as const, store: REDIS_URL, storePrefix, now: clock.now, heartbeatTimeout: 30_000 }
  const before = buildServer(settings)
  t.teardown(() => before.close())
  for (const id of ['orders:h:1', 'orders:h:2']) {
    t.equal((await before.inject({ method: 'POST', url: `/registry/v1/instances/${id}`, headers: AUTH, payload: BODY })).statusCode, 201)
  }
  await before.close()

  clock.advance(60_000)
  const after = buildServer(settings)
  t.teardown(() => after.close())
  await after.ready()
  await after.lunaRegistry.stop()
  const status = async (id: string): Promise<string> => (await after.inject({ method: 'GET', url: `/registry/v1/instances/${id}`, headers: AUTH })).json().status
  t.equal(await status('orders:h:1'), 'OK', 'immediately after the start')
  t.equal((await after.inject({ method: 'GET', url: '/registry/v1/services/orders/pick', headers: AUTH })).statusCode, 200)
  clock.advance(20_000)
  t.equal((await after.inject({ method: 'PUT', url: '/registry/v1/instances/orders:h:2', headers: AUTH, payload: BODY })).statusCode, 200)
  clock.advance(10_000)
  await after.lunaRegistry.sweep()
  t.equal(await status('orders:h:1'), 'DOWN', 'silent past the grace')
  t.equal(await status('orders:h:2'), 'OK', 'heard within it')
})

t.test('--store redis://: a store outage that outlasted the heartbeat timeout brings a grace when Redis answers again', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  await redis.start()
  const clock = manualClock()
  const app = buildServer({ logLevel: 'silent', store: redis.url, now: clock.now, heartbeatTimeout: 30_000 })
  t.teardown(() => app.close())
  await app.ready()
  await until('connected', async () => (await app.inject('/healthz')).statusCode === 200 ? true : undefined)
  t.equal((await app.inject({ method: 'POST', url: '/registry/v1/instances/orders:h:1', headers: AUTH, payload: BODY })).statusCode, 201)
  await app.lunaRegistry.sweep()
  const read = async (): Promise<{ statusCode: number, json: () => any }> => await app.inject({ method: 'GET', url: '/registry/v1/instances/orders:h:1', headers: AUTH })
  redis.pause()
  t.equal((await read()).statusCode, 503, 'Redis does not answer')
  // The sweeps fail meanwhile (within the command timeout).
  await app.lunaRegistry.sweep()
  clock.advance(45_000)
  redis.resume()
  await until('Redis answers again', async () => (await read()).statusCode === 200 ? true : undefined, 10_000)
  await app.lunaRegistry.sweep()
  t.equal(app.lunaRegistry.graceUntil, clock.now() + 30_000, 'a heartbeatTimeout from the return')
  t.equal((await read()).json().status, 'OK', 'not blamed for the store\'s absence')
})
