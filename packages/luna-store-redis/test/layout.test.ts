import { Redis } from 'ioredis'
import type { InstanceRecord } from 'luna-registry'
import t from 'tap'
import { Keys } from '../src/keys.js'
import { CHUNK } from '../src/scripts.js'
import { REDIS_URL, openStore, requireRedis, uniquePrefix } from './redis.js'

/** A record as the registry hands it to a store, its description as long as asked. */
function record (description: string, lastHeartbeat: number): InstanceRecord {
  return Object.freeze({
    instanceId: 'orders:10.0.0.1:8080',
    name: 'orders',
    description,
    version: '1.0.0',
    url: 'http://10.0.0.1:8080/',
    status: 'OK',
    balancerOptions: Object.freeze({ weight: 1 }),
    metadata: Object.freeze({ region: 'eu-west-1' }),
    registeredAt: 1_700_000_000_000,
    lastHeartbeat
  })
}

if (await requireRedis(t)) {
  t.test('an instance\'s hash stays in the listpack encoding, its info in short pieces read back whole', async (t) => {
    const prefix = uniquePrefix(t)
    const store = await openStore(t, prefix)
    const redis = new Redis(REDIS_URL)
    t.teardown(() => redis.disconnect())
    const key = new Keys(prefix).bucketOf('orders:10.0.0.1:8080').instance('orders:10.0.0.1:8080')

    // Multi-byte characters across the pieces' edges: the bytes are cut, and joined again.
    const long = 'Ünïcødé ✓ '.repeat(40)
    await store.register(record(long, 1_700_000_000_000))
    t.equal(await redis.object('ENCODING', key), 'listpack', 'compact, with a description of several hundred bytes')
    const values = await redis.hvalsBuffer(key)
    t.ok(values.every((value) => value.length <= CHUNK), `no value longer than ${CHUNK} bytes`)
    t.equal((await store.get('orders:10.0.0.1:8080'))?.description, long)

    // A heartbeat with a shorter info leaves none of the longer one's pieces behind.
    const { registeredAt: _, ...shorter } = record('short', 1_700_000_001_000)
    await store.heartbeat(Object.freeze(shorter))
    t.same(await store.get('orders:10.0.0.1:8080'), record('short', 1_700_000_001_000))
    const pieces = (await redis.hkeys(key)).filter((field) => /^j\d+$/.test(field))
    t.equal(pieces.length, Number(await redis.hget(key, 'jn')), 'as many pieces as the info has')
    const listed = await store.list()
    t.same(listed, [record('short', 1_700_000_001_000)])
  })
}
