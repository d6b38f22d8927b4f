import Fastify from 'fastify'
import lunaRegistry from 'luna-registry'
import { sampleRecord } from 'luna-registry/testing'
import t from 'tap'
import { freePort, PrivateRedis, privateRedis } from '../../../test-support/redis-server.js'
import { until } from '../../../test-support/until.js'
import { RedisStore, type RedisStoreOptions } from '../src/index.js'
import { Keys } from '../src/keys.js'

const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }

interface Tap { teardown: (fn: () => unknown) => void }

async function openStore (t: Tap, options: RedisStoreOptions): Promise<RedisStore> {
  const store = new RedisStore(options)
  t.teardown(() => store.close())
  await store.ready()
  return store
}

/** How many WAIT commands `redis` has run. */
async function waits (redis: PrivateRedis): Promise<number> {
  return Number(/cmdstat_wait:calls=(\d+)/.exec(await redis.cli('INFO', 'commandstats'))?.[1] ?? 0)
}

t.test('a master without replicas: auto waits for none; a required replica that is not there is a 503', async (t) => {
  const redis = await privateRedis(t)
  if (redis === undefined) return
  await redis.start()
  const auto = await openStore(t, { url: redis.url })
  await auto.register(sampleRecord())
  t.equal(await auto.remove(sampleRecord().instanceId), true)
  t.equal(await waits(redis), 0, 'no WAIT where no replica could confirm')

  const app = Fastify()
  const strict = new RedisStore({ url: `${redis.url}?waitReplicas=1&waitTimeout=50` })
  await app.register(lunaRegistry, { store: strict })
  app.addHook('onClose', async () => { await strict.close() })
  t.teardown(() => app.close())
  await app.ready()
  await strict.ready()
  const res = await app.inject({ method: 'POST', url: '/registry/v1/instances/orders:h:1', headers: AUTH, payload: { name: 'orders', version: '1', status: 'OK', url: 'http://h:1/' } })
  t.equal(res.statusCode, 503, 'a write no replica confirmed is not acknowledged')
  t.equal(res.json().code, 'FST_LUNA_STORE_UNAVAILABLE')
  await t.rejects(strict.remove('orders:h:1'), { code: 'FST_LUNA_STORE_UNAVAILABLE', message: /reached 0 of the 1 replicas it waits for within 50 ms/ })
})

t.test('a master with a replica: registrations and deregistrations are on the replica when they resolve', async (t) => {
  const master = await privateRedis(t)
  if (master === undefined) return
  await master.start()
  const replica = new PrivateRedis(await freePort(), ['--replicaof', '127.0.0.1', String(master.port)])
  t.teardown(() => replica.stop())
  await replica.start()
  t.teardown(() => { replica.resume() })
  await until('the replica is in sync', async () => (await replica.cli('INFO', 'replication')).includes('master_link_status:up') || undefined, 10_000)

  const store = await openStore(t, { url: master.url, keyPrefix: 'luna-wait:', waitTimeout: 200 })
  const key = new Keys('luna-wait:').bucketOf(sampleRecord().instanceId).instance(sampleRecord().instanceId)
  await store.register(sampleRecord())
  t.equal((await replica.cli('EXISTS', key)).trim(), '1', 'the replica has the registration')
  t.equal(await waits(master), 1)
  await store.heartbeat({ ...sampleRecord(), lastHeartbeat: sampleRecord().lastHeartbeat + 1 })
  t.equal(await waits(master), 1, 'a heartbeat does not wait')
  await store.remove(sampleRecord().instanceId)
  t.equal((await replica.cli('EXISTS', key)).trim(), '0', 'nor the deregistration')

  replica.pause()
  await t.rejects(store.register(sampleRecord()), { code: 'FST_LUNA_STORE_UNAVAILABLE' }, 'a replica that does not confirm: 503')
})
