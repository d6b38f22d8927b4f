import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import lunaRegistry, { MemoryStore, type RegistryEvent } from '../src/index.js'
import { AUTH, PREFIX, build, info, listen, manualClock, recordEvents, send } from './helpers.js'
import { EventStream } from './sse-client.js'
import { until } from '../../../test-support/until.js'

// A body that repeats, byte for byte, the one last accepted for its instance is recognised and
// not parsed or checked again. These tests hold that to what a client can see: whatever the
// registry does with a repeated body, the answers, the events and what is stored are those of a
// body it has never seen.

const ID = 'orders:10.0.0.1:8080'
const OTHER = 'orders:10.0.0.2:8080'

// Text that JSON escapes, characters outside the BMP, a lone surrogate and a control character.
const AWKWARD = 'quotes " and \\ and a\nnewline, \u2028, émoji 🚀, \ud800 alone, \u0001, </script>'

const FULL = JSON.stringify(info('orders', {
  description: AWKWARD,
  metadata: { zone: 'eu-1', 'key "quoted"': 'value\twith tab' },
  balancerOptions: { weight: 3, pool: { size: 4, list: [1, 'two', null] } }
}))
const BARE = JSON.stringify(info('orders'))
const REPORTS_DOWN = JSON.stringify(info('orders', { status: 'DOWN', metadata: { zone: 'eu-1' } }))

interface Twin {
  app: FastifyInstance
  base: string
  events: RegistryEvent[]
  stream: EventStream
}

/**
 * Two registries on one hand-moved clock, sent the same requests: `repeated` gets each body as
 * the same text every time, `fresh` as text it has never seen (one more trailing space each time,
 * which JSON ignores). Every answer of the two must be the same, byte for byte.
 */
async function twins (t: Test): Promise<{
  clock: ReturnType<typeof manualClock>
  repeated: Twin
  fresh: Twin
  both: (method: 'POST' | 'PUT' | 'DELETE', id: string, text?: string) => Promise<number>
  sweep: () => Promise<void>
  compare: (what: string) => Promise<void>
}> {
  const clock = manualClock()
  const make = async (): Promise<Twin> => {
    const { app, base } = await listen(t, { now: clock.now, heartbeatTimeout: 1000, evictAfter: 5000 })
    await app.lunaRegistry.stop() // swept by hand, on the test's clock
    const events = recordEvents(app.lunaRegistry)
    const stream = await EventStream.open(`${base}/events`, AUTH)
    t.teardown(() => stream.close())
    await stream.next('snapshot')
    return { app, base, events, stream }
  }
  const repeated = await make()
  const fresh = await make()
  let spaces = 0

  const both = async (method: 'POST' | 'PUT' | 'DELETE', id: string, text?: string): Promise<number> => {
    const a = await send(repeated.app, method, id, text)
    const b = await send(fresh.app, method, id, text === undefined ? undefined : text + ' '.repeat(++spaces))
    t.equal(a.statusCode, b.statusCode, `${method} ${id}: the same status`)
    t.equal(a.body, b.body, `${method} ${id}: the same answer`)
    return a.statusCode
  }

  const sweep = async (): Promise<void> => {
    await repeated.app.lunaRegistry.sweep()
    await fresh.app.lunaRegistry.sweep()
  }

  const reads = [
    `${PREFIX}/instances/${ID}`,
    `${PREFIX}/instances`,
    `${PREFIX}/instances?service=orders&status=OK`,
    `${PREFIX}/services`,
    `${PREFIX}/services/orders`,
    `${PREFIX}/services/orders/pick`
  ]
  const compare = async (what: string): Promise<void> => {
    for (const url of reads) {
      const a = await repeated.app.inject({ method: 'GET', url, headers: AUTH })
      const b = await fresh.app.inject({ method: 'GET', url, headers: AUTH })
      t.equal(a.statusCode, b.statusCode, `${what}: GET ${url}, the same status`)
      t.equal(a.body, b.body, `${what}: GET ${url}, the same answer`)
    }
    const registry = repeated.app.lunaRegistry
    const one = await repeated.app.inject({ method: 'GET', url: `${PREFIX}/instances/${ID}`, headers: AUTH })
    const view = await registry.getInstance(ID)
    if (view !== undefined) t.equal(one.body, JSON.stringify(view), `${what}: the view as JSON.stringify writes it`)
    const services = await repeated.app.inject({ method: 'GET', url: `${PREFIX}/services`, headers: AUTH })
    t.equal(services.body, JSON.stringify(await registry.listServices()), `${what}: the services as JSON.stringify writes them`)
    t.same(await registry.store.list(), await fresh.app.lunaRegistry.store.list(), `${what}: the same records stored`)
    t.same(repeated.events, fresh.events, `${what}: the same events`)
  }
  return { clock, repeated, fresh, both, sweep, compare }
}

t.test('a repeated body is answered, announced and stored exactly as a body never seen', async (t) => {
  const { clock, repeated, fresh, both, sweep, compare } = await twins(t)

  t.equal(await both('PUT', ID, FULL), 404, 'a heartbeat before any registration')
  t.equal(await both('POST', ID, FULL), 201)
  t.equal(await both('POST', OTHER, JSON.stringify(info('orders', { url: 'http://10.0.0.2:8080/' }))), 201)
  await repeated.app.lunaRegistry.register('billing:10.0.0.3:8080', info('billing') as never)
  await fresh.app.lunaRegistry.register('billing:10.0.0.3:8080', info('billing') as never)
  await compare('registered')

  for (let beat = 0; beat < 3; beat++) {
    clock.advance(300)
    t.equal(await both('PUT', ID, FULL), 200)
  }
  await compare('heartbeats that change nothing')

  clock.advance(1500)
  await sweep()
  await compare('timed out, announced by the sweeper')
  t.equal(await both('PUT', ID, FULL), 200)
  await compare('back with a heartbeat')

  t.equal(await both('PUT', ID, REPORTS_DOWN), 200)
  t.equal(await both('PUT', ID, REPORTS_DOWN), 200)
  await compare('reported DOWN, then said again')
  t.equal(await both('PUT', ID, BARE), 200)
  t.equal(await both('PUT', ID, BARE), 200)
  await compare('a bare body: the default weight and metadata')
  t.equal(await both('POST', ID, BARE), 200)
  t.equal(await both('PUT', ID, FULL), 200)
  t.equal(await both('PUT', ID, FULL), 200)
  await compare('registered again, then a body seen before, twice')

  t.equal(await both('DELETE', ID), 204)
  t.equal(await both('PUT', ID, FULL), 404, 'after deregistration, the body remembered is no registration')
  t.equal(await both('POST', ID, FULL), 201, 'and registers anew')
  t.equal(await both('PUT', ID, FULL), 200)
  await compare('deregistered and registered again')

  clock.advance(1000)
  await sweep()
  clock.advance(5000)
  await sweep()
  t.equal(await repeated.app.lunaRegistry.getInstance(ID), undefined, 'evicted')
  t.equal(await both('PUT', ID, FULL), 404, 'after eviction, the body remembered is no registration')
  t.equal(await both('POST', ID, FULL), 201, 'and registers anew')
  t.equal(await both('PUT', ID, FULL), 200)
  await compare('evicted and registered again')

  // What was compared: every kind of event, not an empty list twice.
  const kinds = (events: RegistryEvent[]): string[] => events.map((event) =>
    event.type === 'status' ? `${event.type} ${event.reason}` : event.type === 'registered' ? `${event.type} ${String(event.created)}` : event.type)
  t.same(kinds(repeated.events), [
    'registered true', 'registered true', 'registered true',
    'status timeout', 'status timeout', 'status timeout',
    'status heartbeat',
    'status reported',
    'status reported',
    'registered false',
    'updated',
    'deregistered',
    'registered true',
    'status timeout',
    'evicted', 'evicted', 'evicted',
    'registered true'
  ])

  // The wire: each stream carried the same events, and a new subscriber's snapshot is the same.
  const streamed = await Promise.all([repeated, fresh].map(async (twin) => {
    await until('every event on the stream', () => twin.stream.pending().length >= twin.events.length || undefined)
    twin.stream.close()
    return twin.stream.pending()
  }))
  t.equal(streamed[0]?.length, repeated.events.length)
  t.same(streamed[0], streamed[1], 'the same events on the wire')
  const snapshots = await Promise.all([repeated, fresh].map(async (twin) => {
    const stream = await EventStream.open(`${twin.base}/events`, AUTH)
    t.teardown(() => stream.close())
    return (await stream.next('snapshot')).data
  }))
  t.same(snapshots[0], snapshots[1], 'a snapshot of remembered bodies is a snapshot of fresh ones')
  t.same(snapshots[0], JSON.parse(JSON.stringify(await repeated.app.lunaRegistry.listServices())))
})

t.test('a body that differs from the one remembered is parsed and checked afresh', async (t) => {
  const app = await build(t)
  const text = JSON.stringify(info('orders', { metadata: { zone: 'eu-1' } }))
  t.equal((await send(app, 'POST', ID, text)).statusCode, 201)
  t.equal((await send(app, 'PUT', ID, text)).statusCode, 200)

  const invalid = JSON.stringify(info('orders', { metadata: { zone: 'eu-1' }, status: 'ok' }))
  for (const round of [1, 2]) {
    const bad = await send(app, 'PUT', ID, invalid)
    t.equal(bad.statusCode, 400, `refused (${round})`)
    t.match(bad.json(), { code: 'FST_ERR_VALIDATION', message: 'body/status must be one of "OK", "DOWN"' }, 'a refused body is never remembered')
  }
  t.equal((await app.lunaRegistry.getInstance(ID))?.reportedStatus, 'OK', 'the refused body changed nothing')

  const spaced = await send(app, 'PUT', ID, JSON.stringify(info('orders', { metadata: { zone: 'eu-2' } }), null, 2))
  t.equal(spaced.statusCode, 200, 'a changed body is accepted')
  t.same(spaced.json().metadata, { zone: 'eu-2' })
  t.same((await send(app, 'PUT', ID, text)).json().metadata, { zone: 'eu-1' }, 'the first body again is the first info again')
  t.same((await send(app, 'PUT', ID, JSON.stringify(info('orders', { metadata: { zone: 'eu-1', extra: 'x' } })))).json().metadata, { zone: 'eu-1', extra: 'x' })
})

t.test('a body remembered for one instance is checked against the id of any other it is sent to', async (t) => {
  const app = await build(t)
  const text = JSON.stringify(info('orders'))
  const pinned = JSON.stringify(info('orders', { instanceId: ID }))
  for (const body of [text, pinned]) {
    t.equal((await send(app, 'POST', ID, body)).statusCode, body === text ? 201 : 200)
    t.equal((await send(app, 'PUT', ID, body)).statusCode, 200)
  }
  const otherService = await send(app, 'POST', 'billing:10.0.0.1:8080', text)
  t.equal(otherService.statusCode, 400, 'the name must still match the id it is sent to')
  t.match(otherService.json(), { code: 'FST_LUNA_INSTANCE_ID_MISMATCH', message: /body\/name must equal the service name "billing"/ })
  const otherId = await send(app, 'POST', OTHER, pinned)
  t.equal(otherId.statusCode, 400, 'and its instanceId too')
  t.match(otherId.json(), { code: 'FST_LUNA_INSTANCE_ID_MISMATCH', message: /body\/instanceId must equal the instance id from the path/ })
  t.equal((await send(app, 'PUT', OTHER, text)).statusCode, 404, 'a heartbeat is for a registered instance, whatever its body')
  const sibling = await send(app, 'POST', OTHER, text)
  t.equal(sibling.statusCode, 201)
  t.equal(sibling.json().instanceId, OTHER, 'the same body registers the instance it is sent to')
  t.equal((await send(app, 'PUT', OTHER, text)).json().instanceId, OTHER)
  t.equal((await send(app, 'PUT', ID, pinned)).json().instanceId, ID)
  t.same((await app.lunaRegistry.listInstances()).map((view) => view.instanceId), [ID, OTHER])
})

t.test('a body remembered before another process re-registered the instance in a shared store', async (t) => {
  const store = new MemoryStore()
  const clock = manualClock()
  // Two registries on one store, as two replicas on one Redis.
  const here = await build(t, { store, now: clock.now })
  const elsewhere = await build(t, { store, now: clock.now })
  const text = JSON.stringify(info('orders', { description: 'from here', metadata: { zone: 'eu-1' } }))
  t.equal((await send(here, 'POST', ID, text)).statusCode, 201)
  t.equal((await send(here, 'PUT', ID, text)).statusCode, 200)

  clock.advance(1000)
  const other = JSON.stringify(info('orders', { version: '9.9.9', description: 'from elsewhere', metadata: { zone: 'us-1' } }))
  t.equal((await send(elsewhere, 'POST', ID, other)).statusCode, 200, 'registered again by the other process')
  const read = await here.inject({ method: 'GET', url: `${PREFIX}/instances/${ID}`, headers: AUTH })
  t.match(read.json(), { version: '9.9.9', description: 'from elsewhere', metadata: { zone: 'us-1' } }, 'read here: what the store holds')
  t.equal(read.body, JSON.stringify(await here.lunaRegistry.getInstance(ID)))
  const services = await here.inject({ method: 'GET', url: `${PREFIX}/services/orders`, headers: AUTH })
  t.match(services.json(), { description: 'from elsewhere', instances: [{ version: '9.9.9' }] })

  clock.advance(1000)
  const beat = await send(here, 'PUT', ID, text)
  t.equal(beat.statusCode, 200)
  t.same(beat.json(), {
    instanceId: ID,
    name: 'orders',
    description: 'from here',
    version: '1.0.0',
    url: 'http://10.0.0.1:8080/',
    status: 'OK',
    reportedStatus: 'OK',
    balancerOptions: { weight: 1 },
    metadata: { zone: 'eu-1' },
    registeredAt: new Date(clock.now() - 1000).toISOString(),
    lastHeartbeat: new Date(clock.now()).toISOString()
  }, 'the remembered body\'s info, on the other process\'s registration')
  t.same(await store.get(ID), await elsewhere.lunaRegistry.store.get(ID))
  t.match((await elsewhere.lunaRegistry.getInstance(ID)), { description: 'from here', version: '1.0.0' }, 'and the other process reads it')

  t.equal((await send(elsewhere, 'POST', ID, text)).statusCode, 200, 'the same text, registered elsewhere')
  const same = await here.inject({ method: 'GET', url: `${PREFIX}/instances/${ID}`, headers: AUTH })
  t.equal(same.body, JSON.stringify(await here.lunaRegistry.getInstance(ID)))
  t.equal(same.json().registeredAt, new Date(clock.now()).toISOString())

  t.equal((await send(elsewhere, 'DELETE', ID)).statusCode, 204)
  t.equal((await send(here, 'PUT', ID, text)).statusCode, 404, 'deregistered elsewhere: the remembered body registers nothing')
  t.equal((await send(here, 'POST', ID, text)).statusCode, 201)

  await here.lunaRegistry.register(ID, { ...JSON.parse(text), version: '2.0.0' })
  const inProcess = await here.inject({ method: 'GET', url: `${PREFIX}/instances/${ID}`, headers: AUTH })
  t.equal(inProcess.json().version, '2.0.0', 'registered in process with other info: that info')
  t.equal(inProcess.body, JSON.stringify(await here.lunaRegistry.getInstance(ID)))
  t.equal((await send(here, 'PUT', ID, text)).json().version, '1.0.0', 'and the remembered body is its own info again')
})

t.test('a repeated body is read-only to the host app\'s hooks, all the way down', async (t) => {
  const app = Fastify()
  let tamper = false
  const refused: string[] = []
  // A host app's hook, as the README describes: it sees the registry's request bodies.
  app.addHook('preHandler', async (request) => {
    if (!tamper || request.method !== 'PUT') return
    const body = request.body as { version: string, metadata: Record<string, string>, balancerOptions: { pool: { size: number } } }
    const attempts: Array<[string, () => void]> = [
      ['version', () => { body.version = 'rewritten' }],
      ['metadata', () => { body.metadata['zone'] = 'rewritten' }],
      ['balancerOptions.pool', () => { body.balancerOptions.pool.size = 99 }],
      ['a new field', () => { (body as Record<string, unknown>)['extra'] = 1 }]
    ]
    for (const [field, attempt] of attempts) {
      try {
        attempt()
      } catch (error) {
        if (error instanceof TypeError) refused.push(field)
      }
    }
  })
  await app.register(lunaRegistry)
  await app.ready()
  t.teardown(() => app.close())
  const text = JSON.stringify(info('orders', { metadata: { zone: 'eu-1' }, balancerOptions: { weight: 2, pool: { size: 4 } } }))
  t.equal((await send(app, 'POST', ID, text)).statusCode, 201)
  tamper = true
  const beat = await send(app, 'PUT', ID, text)
  t.equal(beat.statusCode, 200)
  t.same(refused, ['version', 'metadata', 'balancerOptions.pool', 'a new field'], 'every write refused')
  t.match(beat.json(), { version: '1.0.0', metadata: { zone: 'eu-1' }, balancerOptions: { weight: 2, pool: { size: 4 } } }, 'and nothing changed')
  tamper = false
  t.match((await send(app, 'PUT', ID, text)).json(), { version: '1.0.0', metadata: { zone: 'eu-1' }, balancerOptions: { pool: { size: 4 } } }, 'nor what is remembered')

  const view = await app.lunaRegistry.getInstance(ID)
  t.throws(() => { (view!.metadata as Record<string, string>)['zone'] = 'elsewhere' }, TypeError, 'a view\'s metadata is read-only')
  t.throws(() => { (view!.balancerOptions as unknown as { pool: { size: number } }).pool.size = 1 }, TypeError, 'its balancer options too, all the way down')
  t.match(await app.lunaRegistry.getInstance(ID), { metadata: { zone: 'eu-1' }, balancerOptions: { pool: { size: 4 } } })
})

t.test('bodies answered without a view (Prefer: return=minimal) are remembered too', async (t) => {
  const app = await build(t)
  const headers = { ...AUTH, 'content-type': 'application/json', prefer: 'return=minimal' }
  const metadataAfter = async (method: 'POST' | 'PUT'): Promise<unknown> => {
    const res = await app.inject({ method, url: `${PREFIX}/instances/${ID}`, headers, payload: FULL })
    t.ok(res.statusCode === 201 || res.statusCode === 204, `${method} ${res.statusCode}`)
    return (await app.lunaRegistry.store.get(ID))!.metadata
  }
  const registered = await metadataAfter('POST')
  // A body parsed afresh would hand the store new objects: a remembered one is the same, frozen.
  t.equal(await metadataAfter('PUT'), registered, 'the heartbeat repeated the remembered body')
  t.equal(await metadataAfter('PUT'), registered)
  t.ok(Object.isFrozen(registered))
})

t.test('bodies that change with every heartbeat, then stop changing', async (t) => {
  const app = await build(t)
  const body = (seq: number): string => JSON.stringify(info('orders', { metadata: { zone: 'eu-1', seq: String(seq) } }))
  t.equal((await send(app, 'POST', ID, body(0))).statusCode, 201)
  for (let seq = 1; seq <= 40; seq++) {
    const res = await send(app, 'PUT', ID, body(seq))
    t.same(res.json().metadata, { zone: 'eu-1', seq: String(seq) }, `heartbeat ${seq} stores its own body`)
  }
  t.same((await send(app, 'PUT', ID, body(40))).json().metadata, { zone: 'eu-1', seq: '40' }, 'the last body again')
  t.same((await send(app, 'PUT', ID, body(0))).json().metadata, { zone: 'eu-1', seq: '0' }, 'the first body again is the first info again')

  // Once the body stays the same, it is recognised again within a few heartbeats: the store is
  // then handed the very same frozen objects each time.
  const metadata: unknown[] = []
  for (let beat = 0; beat < 20; beat++) {
    const res = await send(app, 'PUT', ID, body(41))
    t.same(res.json().metadata, { zone: 'eu-1', seq: '41' })
    metadata.push((await app.lunaRegistry.store.get(ID))!.metadata)
  }
  t.equal(metadata.at(-1), metadata.at(-2), 'recognised again')
  t.equal(metadata.at(-1), metadata.at(-5))
  t.ok(Object.isFrozen(metadata.at(-1)))
})
