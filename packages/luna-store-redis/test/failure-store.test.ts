import { Redis } from 'ioredis'
import t from 'tap'
import { RedisFailureStore } from '../src/index.js'
import { REDIS_URL, requireRedis, uniquePrefix } from './redis.js'

t.test('failures are counted per key in windows that Redis expires', async (t) => {
  if (!await requireRedis(t)) return
  const keyPrefix = uniquePrefix(t)
  const a = new RedisFailureStore({ url: REDIS_URL, keyPrefix })
  const b = new RedisFailureStore({ url: REDIS_URL, keyPrefix })
  t.teardown(async () => { await a.close(); await b.close() })
  t.same(await a.get('10.0.0.1'), { count: 0, resetIn: 0 })
  t.match(await a.add('10.0.0.1', 60_000), { count: 1, resetIn: Number })
  t.match(await b.add('10.0.0.1', 60_000), { count: 2 }, 'another replica counts on')
  const seen = await b.get('10.0.0.1')
  t.equal(seen.count, 2)
  t.ok(seen.resetIn > 55_000 && seen.resetIn <= 60_000, `the window ends within the minute (${seen.resetIn} ms)`)
  t.same(await a.get('10.0.0.2'), { count: 0, resetIn: 0 }, 'another address has its own count')

  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())
  t.equal(await redis.get(`${keyPrefix}auth-failures:10.0.0.1`), '2', 'the key is under the prefix')
  // Redis ends the window by itself: the key is made with its expiry, in the same transaction.
  await a.add('10.0.0.4', 5000)
  const ttl = await redis.pttl(`${keyPrefix}auth-failures:10.0.0.4`)
  t.ok(ttl > 0 && ttl <= 5000, `a new window expires with it (${ttl} ms left)`)
  // A key of that name that is not a counter is a fault of whoever wrote it, not an outage.
  await redis.hset(`${keyPrefix}auth-failures:10.0.0.5`, 'x', '1')
  await t.rejects(a.add('10.0.0.5', 5000), { name: 'ReplyError', message: /WRONGTYPE|not an integer/ })
})

t.test('an unreachable Redis is a 503, not a hang', async (t) => {
  const store = new RedisFailureStore({ url: 'redis://127.0.0.1:1', commandTimeout: 200 })
  t.teardown(() => store.close())
  await t.rejects(store.get('x'), { code: 'FST_LUNA_STORE_UNAVAILABLE', statusCode: 503 })
  await t.rejects(store.add('x', 1000), { code: 'FST_LUNA_STORE_UNAVAILABLE' })
})
