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
