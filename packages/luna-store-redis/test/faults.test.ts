import Fastify from 'fastify'
import lunaRegistry from 'luna-registry'
import t from 'tap'
import { privateRedis } from '../../../test-support/redis-server.js'
import { until } from '../../../test-support/until.js'
import { RedisStore } from '../src/index.js'

const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }
const URL_ = '/registry/v1/instances/orders:h:1'
const BODY = { name: 'orders', version: '1.0.0', status: 'OK', url: 'http://h:1/' }

t.test('Redis stopped: fast 503s, one log line, the server stays up; Redis back: it recovers by itself', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  await redis.start()

  const lines: Array<{ level: number, msg: string }> = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } })
  const store = new RedisStore({ url: redis.url, log: app.log })
  await app.register(lunaRegistry, { store })
  await app.ready()
  t.teardown(() => app.close())
  await store.ready()

  t.equal((await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: BODY })).statusCode, 201)
  t.equal(store.available(), true)

  await redis.stop()
  await until('the store notices', () => store.available() ? undefined : true)
  for (const request of [
    { method: 'PUT' as const, url: URL_, payload: BODY },
    { method: 'POST' as const, url: URL_, payload: BODY },
    { method: 'GET' as const, url: URL_ },
    { method: 'GET' as const, url: '/registry/v1/services' },
    { method: 'GET' as const, url: '/registry/v1/events' },
    { method: 'DELETE' as const, url: URL_ }
  ]) {
    const started = Date.now()
    const res = await app.inject({ ...request, headers: AUTH })
    const took = Date.now() - started
    t.equal(res.statusCode, 503, `${request.method} ${request.url}: 503`)
    t.match(res.json(), { statusCode: 503, code: 'FST_LUNA_STORE_UNAVAILABLE', error: 'Service Unavailable', message: /^The registry store is unavailable: / })
    t.ok(took < 1000, `${request.method} ${request.url}: answered in ${took} ms`)
  }
  await app.lunaRegistry.sweep()
  await new Promise((resolve) => setTimeout(resolve, 1500)) // several reconnection attempts
  const outage = lines.filter((line) => line.msg.includes('Redis is unreachable'))
  t.equal(outage.length, 1, 'the outage is logged once')
  t.notOk(lines.some((line) => line.level >= 50), 'and never as a server error')

  await redis.start()
  await until('the store reconnects by itself', () => store.available() ? true : undefined, 10_000)
  const back = await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: BODY })
  t.equal(back.statusCode, 201, 'registering works again (this Redis kept nothing on disk)')
  t.equal((await app.inject({ method: 'PUT', url: URL_, headers: AUTH, payload: BODY })).statusCode, 200)
  t.equal(lines.filter((line) => line.msg.includes('Redis is reachable again')).length, 1)
})

t.test('Redis unreachable from the start: the registry starts and answers 503 until it appears', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  const app = Fastify()
  const store = new RedisStore({ url: redis.url })
  await app.register(lunaRegistry, { store })
  await app.ready()
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'GET', url: '/registry/v1/services', headers: AUTH })).statusCode, 503)
  await redis.start()
  await until('connected', () => store.available() ? true : undefined, 10_000)
  t.equal((await app.inject({ method: 'GET', url: '/registry/v1/services', headers: AUTH })).statusCode, 200)
})
