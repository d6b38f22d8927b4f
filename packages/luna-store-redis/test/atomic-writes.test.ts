import { Redis } from 'ioredis'
import type { InstanceRecord } from 'luna-registry'
import t from 'tap'
import type { RedisStore } from '../src/index.js'
import { BUCKETS } from '../src/keys.js'
import { REDIS_URL, openStore, requireRedis, uniquePrefix } from './redis.js'

const SERVICES = ['orders', 'billing', 'ledger', 'search']
const INSTANCES = 120
const ROUNDS = 5

/** A record as the registry hands it to a store: deeply frozen. */
function record (i: number, lastHeartbeat: number): InstanceRecord {
  const name = SERVICES[i % SERVICES.length]!
  return Object.freeze({
    instanceId: `${name}:10.0.${Math.floor(i / 250)}.${i % 250}:8080`,
    name,
    version: '1.0.0',
    url: `http://10.0.0.${i % 250}:8080/`,
    status: 'OK',
    balancerOptions: Object.freeze({ weight: 1 }),
    metadata: Object.freeze({ round: String(lastHeartbeat) }),
    registeredAt: lastHeartbeat,
    lastHeartbeat
  })
}

/** Every key that holds `id` under `prefix`, by what it is, as Redis has them now. */
async function whereIds (redis: Redis, prefix: string): Promise<Map<string, string[]>> {
  const where = new Map<string, string[]>()
  const note = (id: string, place: string): void => {
    const places = where.get(id) ?? []
    places.push(place)
    where.set(id, places)
  }
  for (let bucket = 0; bucket < BUCKETS; bucket++) {
    const tagged = `${prefix}{${bucket}}:`
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${tagged}i:*`, 'COUNT', 1000)
      for (const key of keys) note(key.slice(`${tagged}i:`.length), 'hash')
      cursor = next
    } while (cursor !== '0')
    for (const id of await redis.smembers(`${tagged}ids`)) note(id, 'ids')
    for (const name of SERVICES) {
      for (const id of await redis.smembers(`${tagged}s:${name}`)) note(id, id.startsWith(`${name}:`) ? 'service' : `service ${name}`)
    }
    for (const id of await redis.zrange(`${tagged}live`, 0, -1)) note(id, 'live')
    for (const id of await redis.zrange(`${tagged}timedout`, 0, -1)) note(id, 'timedout')
  }
  return where
}

if (await requireRedis(t)) {
  t.test('a register racing a remove of the same id leaves the instance whole or gone, never half written', async (t) => {
    const prefix = uniquePrefix(t)
    // Two replicas on one Redis, each with its own connection.
    const a = await openStore(t, prefix)
    const b = await openStore(t, prefix)
    const redis = new Redis(REDIS_URL)
    t.teardown(() => redis.disconnect())
    // Registered last, an instance is live: a hash, in the set of all ids, in its service's set
    // and in the live deadlines (out of the timed-out ones).
    const whole = 'hash,ids,service,live'
    let kept = 0
    let gone = 0

    for (let round = 1; round <= ROUNDS; round++) {
      // Before the race: a third of the instances registered, a third registered and announced
      // as timed out, a third not registered, so that a register both creates and replaces.
      const before = round * 10
      await Promise.all(Array.from({ length: INSTANCES }, async (_, i) => {
        if (i % 3 === 2) await a.remove(record(i, before).instanceId)
        else await a.register(record(i, i % 3 === 1 ? before - 5 : before))
      }))
      await a.claimTimedOut(before - 1)

      // The race: on one connection (the commands pipelined in the order they are called) and
      // across two, in both orders, every instance at once.
      const racers: Array<[RedisStore, RedisStore, boolean]> = [[a, a, true], [a, a, false], [a, b, true], [b, a, false]]
      await Promise.all(Array.from({ length: INSTANCES }, async (_, i) => {
        const next = record(i, before + 1)
        const [registrar, remover, registerFirst] = racers[i % racers.length]!
        const register = async (): Promise<unknown> => await registrar.register(next)
        const remove = async (): Promise<unknown> => await remover.remove(next.instanceId)
        await Promise.all(registerFirst ? [register(), remove()] : [remove(), register()])
      }))

      const where = await whereIds(redis, prefix)
      const half = [...where].filter(([, places]) => places.join() !== whole)
      t.same(half.map(([id, places]) => `${id}: ${places.join(', ')}`), [], `round ${round}: every instance in all of its keys or in none`)
      kept += [...where.values()].filter((places) => places.includes('hash')).length
      gone += INSTANCES - where.size
    }
    t.ok(kept > 0 && gone > 0, `the race went both ways (${kept} kept, ${gone} gone)`)
  })
}
