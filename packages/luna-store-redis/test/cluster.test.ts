import calculateSlot from 'cluster-key-slot'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import lunaRegistry, { type LunaRegistryOptions, type RegistryEvent, type StatusEvent } from 'luna-registry'
import t from 'tap'
import { privateCluster, type PrivateCluster, type PrivateRedis } from '../../../test-support/redis-server.js'
import { until } from '../../../test-support/until.js'
import { RedisStore } from '../src/index.js'
import { BUCKETS } from '../src/keys.js'

const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }
const PREFIX = '/registry/v1'
const SERVICES = ['orders', 'billing', 'ledger']

interface Tap { teardown: (fn: () => unknown) => void }

/** One registry replica on the cluster, as a luna-server would run it. */
async function replica (t: Tap, cluster: PrivateCluster, keyPrefix: string, options: LunaRegistryOptions = {}): Promise<FastifyInstance> {
  const app = Fastify()
  const store = new RedisStore({ url: cluster.url, keyPrefix })
  await app.register(lunaRegistry, { store, ...options })
  // The store is the test's: the registry leaves it open.
  app.addHook('onClose', async () => { await store.close() })
  await app.ready()
  await store.ready()
  t.teardown(() => app.close())
  return app
}

function idOf (i: number): string {
  return `${SERVICES[i % SERVICES.length]!}:10.0.${Math.floor(i / 250)}.${i % 250}:8080`
}

function bodyOf (id: string): Record<string, unknown> {
  return { name: id.slice(0, id.indexOf(':')), version: '1.0.0', status: 'OK', url: 'http://10.0.0.1:8080/' }
}

/** The number of keys each node holds. */
async function keysPerNode (cluster: PrivateCluster): Promise<number[]> {
  return await Promise.all(cluster.nodes.map(async (node) => Number((await node.cli('DBSIZE')).trim())))
}

/** Moves `slot` and its keys from the node that holds it to `to`, as redis-cli --cluster reshard does. */
async function migrate (cluster: PrivateCluster, slot: number, to: PrivateRedis): Promise<void> {
  const from = await cluster.ownerOf(slot)
  const [fromId, toId] = [await cluster.idOf(from), await cluster.idOf(to)]
  await to.cli('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId)
  await from.cli('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId)
  for (;;) {
    const keys = (await from.cli('CLUSTER', 'GETKEYSINSLOT', String(slot), '2')).split('\n').filter((key) => key !== '')
    if (keys.length === 0) break
    await from.cli('MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...keys)
  }
  for (const node of cluster.nodes) await node.cli('CLUSTER', 'SETSLOT', String(slot), 'NODE', toId)
}

const cluster = await privateCluster(t)
if (cluster !== undefined) {
  t.test('two replicas on a 3-master cluster: one registry, events across, keys on every master', async (t) => {
    const prefix = 'luna-cluster-shared:'
    const a = await replica(t, cluster, prefix)
    const b = await replica(t, cluster, prefix)
    const heard: RegistryEvent[] = []
    b.lunaRegistry.on('event', (event) => heard.push(event))

    const ids = Array.from({ length: 90 }, (_, i) => idOf(i))
    const created = await Promise.all(ids.map(async (id, i) =>
      (await (i % 2 === 0 ? a : b).inject({ method: 'POST', url: `${PREFIX}/instances/${id}`, headers: AUTH, payload: bodyOf(id) })).statusCode))
    t.same(new Set(created), new Set([201]), 'every registration answered 201, on either replica')
    const beats = await Promise.all(ids.map(async (id, i) =>
      (await (i % 2 === 0 ? b : a).inject({ method: 'PUT', url: `${PREFIX}/instances/${id}`, headers: AUTH, payload: bodyOf(id) })).statusCode))
    t.same(new Set(beats), new Set([200]), 'and every heartbeat 200 on the other one')

    for (const app of [a, b]) {
      const listed = (await app.inject({ method: 'GET', url: `${PREFIX}/instances`, headers: AUTH })).json() as Array<{ instanceId: string }>
      t.same(listed.map((instance) => instance.instanceId).sort(), [...ids].sort(), 'each replica lists every instance')
      const orders = (await app.inject({ method: 'GET', url: `${PREFIX}/services/orders`, headers: AUTH })).json() as { instancesTotal: number }
      t.equal(orders.instancesTotal, 30, 'and finds a service\'s instances in every bucket')
    }
    await until('B hears A\'s registrations', () => heard.filter((event) => event.type === 'registered').length >= 90 || undefined)

    const perNode = await keysPerNode(cluster)
    t.ok(perNode.every((count) => count > 0), `every master holds keys (${perNode.join(', ')})`)
    const slots = new Set(Array.from({ length: BUCKETS }, (_, bucket) => calculateSlot(`${prefix}{${bucket}}:ids`)))
    t.equal(slots.size, BUCKETS, 'each bucket on a slot of its own')
  })

  t.test('a timeout on a cluster is announced once, not once per replica', async (t) => {
    const prefix = 'luna-cluster-timeouts:'
    const options = { heartbeatTimeout: 300, sweepInterval: 20 }
    const replicas = [await replica(t, cluster, prefix, options), await replica(t, cluster, prefix, options)]
    const heard = replicas.map(() => [] as StatusEvent[])
    replicas.forEach((app, i) => app.lunaRegistry.on('status', (event) => heard[i]!.push(event)))
    for (let i = 0; i < 30; i++) {
      await replicas[i % 2]!.inject({ method: 'POST', url: `${PREFIX}/instances/${idOf(i)}`, headers: AUTH, payload: bodyOf(idOf(i)) })
    }
    await until('both replicas hear all 30 timeouts', () => heard.every((events) => events.length >= 30) || undefined)
    await new Promise((resolve) => setTimeout(resolve, 200))
    for (const [i, events] of heard.entries()) {
      t.equal(events.length, 30, `replica ${i}: each once`)
      t.equal(new Set(events.map((event) => event.instanceId)).size, 30, `replica ${i}: every instance`)
    }
  })

  t.test('a slot moving to another master under load fails no request beyond retries', async (t) => {
    const prefix = 'luna-cluster-reshard:'
    const a = await replica(t, cluster, prefix)
    const b = await replica(t, cluster, prefix)
    const ids = Array.from({ length: 120 }, (_, i) => idOf(i))
    for (const id of ids) await a.inject({ method: 'POST', url: `${PREFIX}/instances/${id}`, headers: AUTH, payload: bodyOf(id) })

    const statuses = new Map<number, number>()
    let retried = 0
    const running = { on: true }
    /** A request as a client sends it: retried on a 503, as luna-client does, a few times at most. */
    const send = async (app: FastifyInstance, request: InjectOptions): Promise<number> => {
      for (let attempt = 1; ; attempt++) {
        const { statusCode } = await app.inject(request)
        if (statusCode !== 503 || attempt === 3) return statusCode
        retried++
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    const load = async (app: FastifyInstance, offset: number): Promise<void> => {
      for (let round = 0; running.on; round++) {
        const id = ids[(round * 7 + offset) % ids.length]!
        const requests = [
          { method: 'PUT' as const, url: `${PREFIX}/instances/${id}`, payload: bodyOf(id) },
          { method: 'POST' as const, url: `${PREFIX}/instances/${id}`, payload: bodyOf(id) },
          { method: 'GET' as const, url: `${PREFIX}/services/${SERVICES[round % SERVICES.length]!}` }
        ]
        const answered = await Promise.all(requests.map(async (request) => await send(app, { ...request, headers: AUTH })))
        for (const status of answered) statuses.set(status, (statuses.get(status) ?? 0) + 1)
      }
    }
    const loads = [load(a, 0), load(b, 3)]

    // The bucket of the first instance moves, its keys one batch at a time, to the next master.
    const slot = calculateSlot(`${prefix}{0}:ids`)
    const owner = await cluster.ownerOf(slot)
    const to = cluster.nodes[(cluster.nodes.indexOf(owner) + 1) % cluster.nodes.length]!
    await migrate(cluster, slot, to)
    t.equal(await cluster.ownerOf(slot), to, 'the slot moved')
    await new Promise((resolve) => setTimeout(resolve, 300))
    running.on = false
    await Promise.all(loads)

    t.same([...statuses.keys()].filter((status) => status >= 300), [],
      `no request failed beyond retries (${[...statuses].map(([status, count]) => `${count} × ${status}`).join(', ')}; ${retried} retried)`)
    const listed = (await b.inject({ method: 'GET', url: `${PREFIX}/instances`, headers: AUTH })).json() as unknown[]
    t.equal(listed.length, ids.length, 'and every instance is still there')
  })
}

if (cluster !== undefined) {
  t.test('a redis:// URL at one node of a cluster: every failure a 503, and the store says it is unavailable', async (t) => {
    const app = Fastify()
    const store = new RedisStore({ url: `redis://127.0.0.1:${cluster.nodes[0]!.port}`, keyPrefix: 'luna-cluster-single:' })
    await app.register(lunaRegistry, { store })
    app.addHook('onClose', async () => { await store.close() })
    await app.ready()
    await store.ready()
    t.teardown(() => app.close())
    // Some buckets are on the other masters: the node answers MOVED for them.
    const answers = await Promise.all(Array.from({ length: 30 }, async (_, i) =>
      (await app.inject({ method: 'POST', url: `${PREFIX}/instances/${idOf(i)}`, headers: AUTH, payload: bodyOf(idOf(i)) })).statusCode))
    t.ok(answers.includes(503), 'the registrations on other masters answer 503')
    t.same(answers.filter((status) => status !== 201 && status !== 503), [], 'and none 500')
    const list = await app.inject({ method: 'GET', url: `${PREFIX}/services`, headers: AUTH })
    t.equal(list.statusCode, 503, 'a list that cannot read every bucket is a 503, not a short list')
    t.equal(list.json().code, 'FST_LUNA_STORE_UNAVAILABLE')
    t.equal(store.available(), false, 'and health probes are told')
  })
}

// Last: it takes a master away for good.
if (cluster !== undefined) {
  t.test('a master of the cluster gone: its buckets answer 503, and the store is unavailable though others answer', async (t) => {
    const prefix = 'luna-cluster-master-gone:'
    const app = await replica(t, cluster, prefix, { sweepInterval: 50 })
    let resyncs = 0
    app.lunaRegistry.on('resync', () => { resyncs++ })
    const store = new RedisStore({ url: cluster.url, keyPrefix: prefix, checkInterval: 60_000 })
    t.teardown(() => store.close())
    await store.ready()
    // A master that does not hold the marker, so that the registry can still be told to resync.
    const markerOwner = await cluster.ownerOf(calculateSlot(`${prefix}marker`))
    const gone = cluster.nodes.find((node) => node !== markerOwner)!
    await gone.stop()
    const answers = await Promise.all(Array.from({ length: 30 }, async (_, i) =>
      (await app.inject({ method: 'POST', url: `${PREFIX}/instances/${idOf(i)}`, headers: AUTH, payload: bodyOf(idOf(i)) })).statusCode))
    t.ok(answers.includes(503), `those on the master that is gone answer 503 (${answers.join(' ')})`)
    t.same(answers.filter((status) => status !== 201 && status !== 503), [], 'none 500')
    await t.rejects(store.list(), { code: 'FST_LUNA_STORE_UNAVAILABLE' }, 'a list cannot be whole')
    const claimed = await store.claimTimedOut(Date.now() + 60_000)
    t.equal(claimed.length, answers.filter((status) => status === 201).length,
      'the timeouts claimed on the masters still there are handed out, not lost with the failure of one')
    await store.register(Object.freeze({
      instanceId: 'x:1', name: 'x', version: '1', url: 'http://x/', status: 'OK', balancerOptions: Object.freeze({ weight: 1 }), metadata: Object.freeze({}), registeredAt: 1, lastHeartbeat: 1
    })).catch(() => {})
    t.equal(store.available(), false, 'and a health probe is told, whatever the other masters answer')
    await until('the registry is told to resync: its events may have been missed', () => resyncs > 0 || undefined, 10_000)
  })
}
