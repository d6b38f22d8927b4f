import t from 'tap'
import { privateRedis } from '../../../test-support/redis-server.js'
import { until } from '../../../test-support/until.js'
import { RedisStore } from '../src/index.js'
import { otherClients } from './redis.js'

t.test('close() twice at once, then again: each resolves, and no connection to Redis is left', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  await redis.start()
  const clients = otherClients(t, redis.url)
  const store = new RedisStore({ url: redis.url })
  t.teardown(() => store.close())
  await store.ready()
  await store.subscribe(() => {})
  t.equal((await clients()).length, 2, 'the store\'s connection and its subscriber\'s')

  await Promise.all([store.close(), store.close()])
  await store.close()
  t.equal(store.available(), false)
  await until('Redis lists no connection but the test\'s own', async () => (await clients()).length === 0 || undefined)
  t.pass('closed')
})
