import Fastify from 'fastify'
import lunaRegistry from 'luna-registry'
import t from 'tap'
import { privateRedis } from '../../../test-support/redis-server.js'
import { until } from '../../../test-support/until.js'
import { RedisStore } from '../src/index.js'

const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }
const URL_ = '/registry/v1/instances/orders:h:1'
const BODY = { name: 'orders', version: '1.0.0', status: 'OK', url: 'http://h:1/' }
const UNAVAILABLE = 'The registry store is unavailable; retry later'

/** The lines at info or above written for a request, leaving out Fastify's own two. */
function perRequest<L extends { level: number, msg: string }> (lines: L[]): L[] {
  return lines.filter((line) => line.level >= 30 && 'reqId' in line && line.msg !== 'incoming request' && line.msg !== 'request completed')
}

function said (lines: Array<{ msg: string }>, message: string): number {
  return lines.filter((line) => line.msg === `luna-store-redis: ${message}`).length
}

t.test('Redis stopped: fast 503s, one log line, the server stays up; Redis back: it recovers by itself', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  await redis.start()

  const lines: Array<{ level: number, msg: string }> = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } })
  const store = new RedisStore({ url: redis.url, log: app.log })
  await app.register(lunaRegistry, { store })
  // The store is the test's: the registry leaves it open.
  app.addHook('onClose', async () => { await store.close() })
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
    t.same(res.json(), { statusCode: 503, code: 'FST_LUNA_STORE_UNAVAILABLE', error: 'Service Unavailable', message: UNAVAILABLE }, 'nothing of what ioredis said')
    t.ok(took < 1000, `${request.method} ${request.url}: answered in ${took} ms`)
  }
  await app.lunaRegistry.sweep()
  await new Promise((resolve) => setTimeout(resolve, 1500)) // several reconnection attempts
  const outage = lines.filter((line) => line.msg.includes('Redis is unreachable'))
  t.equal(outage.length, 1, 'the outage is logged once')
  t.same(perRequest(lines), [], 'and no line for each request')
  t.notOk(lines.some((line) => line.level >= 50), 'and never as a server error')

  await redis.start()
  await until('the store reconnects by itself', () => store.available() ? true : undefined, 10_000)
  const back = await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: BODY })
  t.equal(back.statusCode, 201, 'registering works again (this Redis kept nothing on disk)')
  t.equal((await app.inject({ method: 'PUT', url: URL_, headers: AUTH, payload: BODY })).statusCode, 200)
  t.equal(lines.filter((line) => line.msg.includes('Redis is reachable again')).length, 1)
  t.same(perRequest(lines), [], 'and still no line for each request')
})

t.test('Redis that stops answering with its connections open: one line when it stops, one when it answers again', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  await redis.start()
  t.teardown(() => { redis.resume() })

  const lines: Array<{ level: number, msg: string }> = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } })
  const store = new RedisStore({ url: redis.url, log: app.log, commandTimeout: 200 })
  // No sweeper: only the requests below talk to Redis, and none is on its way when it stops.
  await app.register(lunaRegistry, { store, sweepInterval: '1h' })
  // The store is the test's: the registry leaves it open.
  app.addHook('onClose', async () => { await store.close() })
  await app.ready()
  t.teardown(() => app.close())
  await store.ready()
  t.equal((await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: BODY })).statusCode, 201)
  // Answered after the event the POST published, on the same connection.
  t.equal((await app.inject({ method: 'GET', url: URL_, headers: AUTH })).statusCode, 200)
  // Only the lines from the pause on: on a loaded machine the first connection can outlast its
  // 200 ms and be retried, an outage and a recovery of their own, told before this one.
  const before = lines.length
  const since = (): Array<{ msg: string }> => lines.slice(before)

  redis.pause()
  for (let i = 0; i < 5; i++) {
    const res = await app.inject({ method: 'PUT', url: URL_, headers: AUTH, payload: BODY })
    t.equal(res.statusCode, 503)
    t.equal(res.json().message, UNAVAILABLE)
  }
  t.equal(said(since(), 'Redis is unreachable; requests get 503 until it is back'), 1, 'one line for five failed requests')
  t.same(perRequest(lines), [], 'none for each of them')

  redis.resume()
  await until('Redis answers again', async () =>
    (await app.inject({ method: 'PUT', url: URL_, headers: AUTH, payload: BODY })).statusCode === 200 || undefined)
  t.equal(said(since(), 'Redis is reachable again'), 1, 'one line when it answers again')
  t.equal(said(since(), 'Redis is unreachable; requests get 503 until it is back'), 1)
})

t.test('Redis unreachable from the start: the registry starts and answers 503 until it appears', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  const app = Fastify()
  const store = new RedisStore({ url: redis.url })
  await app.register(lunaRegistry, { store })
  // The store is the test's: the registry leaves it open.
  app.addHook('onClose', async () => { await store.close() })
  await app.ready()
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'GET', url: '/registry/v1/services', headers: AUTH })).statusCode, 503)
  await redis.start()
  await until('connected', () => store.available() ? true : undefined, 10_000)
  t.equal((await app.inject({ method: 'GET', url: '/registry/v1/services', headers: AUTH })).statusCode, 200)
})
