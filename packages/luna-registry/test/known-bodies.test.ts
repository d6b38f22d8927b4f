import { createHash } from 'node:crypto'
import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import lunaRegistry from '../src/index.js'
import { bodyDigest, KnownBodies } from '../src/known-bodies.js'
import { kBodies } from '../src/registry.js'
import { MemoryStore } from '../src/stores/memory-store.js'
import { infoJson, viewJson } from '../src/view-json.js'
import type { InstanceView } from '../src/schemas.js'
import { AUTH, PREFIX, build, info, manualClock } from './helpers.js'

const ID = 'orders:10.0.0.1:8080'
const URL_ = `${PREFIX}/instances/${ID}`
const JSON_HEADERS = { ...AUTH, 'content-type': 'application/json' }

// Bodies are sent as text, exactly as a client would, so the same bytes arrive each time.
async function send (app: FastifyInstance, method: 'POST' | 'PUT', url: string, text: string): Promise<{ statusCode: number, body: Record<string, unknown> }> {
  const res = await app.inject({ method, url, headers: JSON_HEADERS, payload: text })
  return { statusCode: res.statusCode, body: res.json() }
}

const known = (app: FastifyInstance): KnownBodies => app.lunaRegistry[kBodies]

t.test('a repeated heartbeat body is answered like a fresh one, with the heartbeat refreshed', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  const text = JSON.stringify(info('orders', { description: 'Takes orders', metadata: { zone: 'eu-1' }, balancerOptions: { weight: 3, pool: { size: 4 } } }))
  t.equal((await send(app, 'POST', URL_, text)).statusCode, 201)
  t.equal(known(app).size, 1, 'the accepted body is remembered')
  for (let beat = 1; beat <= 3; beat++) {
    clock.advance(1000)
    const res = await send(app, 'PUT', URL_, text)
    t.equal(res.statusCode, 200)
    t.same(res.body, {
      instanceId: ID,
      name: 'orders',
      description: 'Takes orders',
      version: '1.0.0',
      url: 'http://10.0.0.1:8080/',
      status: 'OK',
      reportedStatus: 'OK',
      balancerOptions: { weight: 3, pool: { size: 4 } },
      metadata: { zone: 'eu-1' },
      registeredAt: new Date(clock.now() - beat * 1000).toISOString(),
      lastHeartbeat: new Date(clock.now()).toISOString()
    })
  }
  t.equal(known(app).size, 1)
})

t.test('a body that differs from the remembered one is parsed and checked afresh', async (t) => {
  const app = await build(t)
  const text = JSON.stringify(info('orders', { metadata: { zone: 'eu-1' } }))
  await send(app, 'POST', URL_, text)
  await send(app, 'PUT', URL_, text)

  const bad = await send(app, 'PUT', URL_, JSON.stringify(info('orders', { metadata: { zone: 'eu-1' }, status: 'ok' })))
  t.equal(bad.statusCode, 400)
  t.match(bad.body.message, 'body/status must be one of "OK", "DOWN"')
  t.equal((await app.lunaRegistry.getInstance(ID))?.reportedStatus, 'OK', 'the refused body changed nothing')
  t.equal((await send(app, 'PUT', URL_, JSON.stringify(info('orders', { metadata: { zone: 'eu-1' }, status: 'ok' })))).statusCode, 400,
    'a refused body is not remembered')

  const spaced = await send(app, 'PUT', URL_, JSON.stringify(info('orders', { metadata: { zone: 'eu-2' } }), null, 2))
  t.equal(spaced.statusCode, 200)
  t.same(spaced.body.metadata, { zone: 'eu-2' })
  const again = await send(app, 'PUT', URL_, text)
  t.same(again.body.metadata, { zone: 'eu-1' }, 'the first body again is the first info again')
  t.equal(known(app).size, 1, 'one body per instance: the last accepted')
})

t.test('a body remembered for one instance is not taken as checked for another', async (t) => {
  const app = await build(t)
  const text = JSON.stringify(info('orders'))
  await send(app, 'POST', URL_, text)
  await send(app, 'PUT', URL_, text)
  const other = await send(app, 'POST', `${PREFIX}/instances/billing:10.0.0.1:8080`, text)
  t.equal(other.statusCode, 400, 'the name still has to match the id it is sent to')
  t.match(other.body.message, 'name')
  const sibling = await send(app, 'POST', `${PREFIX}/instances/orders:10.0.0.2:8080`, text)
  t.equal(sibling.statusCode, 201)
  t.equal(sibling.body.instanceId, 'orders:10.0.0.2:8080')
  t.equal(known(app).size, 2)
})

t.test('only accepted bodies are remembered, and a removed instance is forgotten', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now, heartbeatTimeout: 1000, evictAfter: 1000 })
  const text = JSON.stringify(info('orders'))
  t.equal((await send(app, 'PUT', URL_, text)).statusCode, 404)
  t.equal(known(app).size, 0, 'a heartbeat for an unknown instance leaves nothing behind')

  await send(app, 'POST', URL_, text)
  t.equal(known(app).size, 1)
  t.equal((await app.inject({ method: 'DELETE', url: URL_, headers: AUTH })).statusCode, 204)
  t.equal(known(app).size, 0, 'deregistered: forgotten')
  t.equal((await send(app, 'PUT', URL_, text)).statusCode, 404, 'and a heartbeat with the same body is still a 404')

  t.equal((await send(app, 'POST', URL_, text)).statusCode, 201)
  clock.advance(2001)
  await app.lunaRegistry.sweep()
  t.equal(await app.lunaRegistry.getInstance(ID), undefined)
  t.equal(known(app).size, 0, 'evicted: forgotten')
})

t.test('the remembered info is frozen, so the store keeps it without a copy and nothing changes it', async (t) => {
  const app = await build(t)
  const text = JSON.stringify(info('orders', { metadata: { zone: 'eu-1' }, balancerOptions: { weight: 2, pool: { size: 4 } } }))
  await send(app, 'POST', URL_, text)
  const registered = await app.lunaRegistry.getInstance(ID)
  t.ok(Object.isFrozen(registered?.metadata) && Object.isFrozen(registered?.balancerOptions), 'a body seen for the first time is stored frozen too')
  await send(app, 'PUT', URL_, text)
  const instance = await app.lunaRegistry.getInstance(ID)
  t.ok(Object.isFrozen(instance?.metadata))
  t.ok(Object.isFrozen((instance?.balancerOptions as unknown as { pool: object }).pool), 'all the way down')
  t.throws(() => { (instance!.metadata as Record<string, string>)['zone'] = 'elsewhere' })
  t.same((await send(app, 'PUT', URL_, text)).body.metadata, { zone: 'eu-1' })
})

t.test('a repeated body reaches the route as the same frozen object, a changed one as a fresh parse', async (t) => {
  const app = Fastify()
  const seen: unknown[] = []
  const frozen: boolean[] = []
  // A host app's hook, as the README describes: it sees the registry's request bodies.
  app.addHook('preHandler', async (request) => {
    if (request.method !== 'PUT') return
    seen.push(request.body)
    frozen.push(Object.isFrozen(request.body))
  })
  await app.register(lunaRegistry)
  await app.ready()
  t.teardown(() => app.close())
  const text = JSON.stringify(info('orders'))
  await send(app, 'POST', URL_, text)
  await send(app, 'PUT', URL_, text)
  await send(app, 'PUT', URL_, text)
  await send(app, 'PUT', URL_, JSON.stringify(info('orders', { version: '2.0.0' })))
  t.equal(seen.length, 3)
  t.equal(seen[0], seen[1], 'not parsed again: the info remembered from the registration')
  t.same(frozen, [true, true, false], 'a changed body is parsed afresh, and frozen only once accepted')
  t.throws(() => { (seen[0] as Record<string, unknown>)['version'] = 'rewritten' }, TypeError, 'read-only to the host app')
  t.not(seen[2], seen[0])
})

t.test('KnownBodies: a lookup needs the same id and the digest of the same text', async (t) => {
  const bodies = new KnownBodies()
  const parsed = { name: 'orders', version: '1', status: 'OK' as const, url: 'http://h/', metadata: { a: 'b' } }
  t.equal(bodyDigest('{"x":1}'), createHash('sha256').update('{"x":1}').digest('binary'))
  bodies.remember('orders:h:1', bodyDigest('{"x":1}'), parsed)
  t.equal(bodies.lookup('orders:h:1', bodyDigest('{"x":1}')), parsed)
  t.equal(bodies.lookup('orders:h:1', bodyDigest('{"x": 1}')), undefined)
  t.equal(bodies.lookup('orders:h:2', bodyDigest('{"x":1}')), undefined)
  t.ok(bodies.checked(parsed))
  t.ok(bodies.remembers('orders:h:1', parsed), 'checked together with its id')
  t.notOk(bodies.remembers('orders:h:2', parsed), 'not with another')
  t.notOk(bodies.remembers('orders:h:1', { ...parsed }))
  t.notOk(bodies.checked({ ...parsed }))
  t.notOk(bodies.checked(null))
  t.notOk(bodies.checked('{"x":1}'))
  bodies.forget('orders:h:1')
  t.equal(bodies.lookup('orders:h:1', bodyDigest('{"x":1}')), undefined)
  t.equal(bodies.size, 0)
})

t.test('viewJson: the same value JSON.stringify gives, escapes included', async (t) => {
  const view: InstanceView = {
    instanceId: 'orders:h:1',
    name: 'orders',
    description: 'quotes " and \\ and a\nnewline, \u2028, émoji 🚀, \u0001',
    version: '1.0.0-"beta"',
    url: 'http://h/?q="1"',
    status: 'DOWN',
    reportedStatus: 'OK',
    balancerOptions: { weight: 1, nested: { list: [1, 'two', null] } } as InstanceView['balancerOptions'],
    metadata: { 'key "quoted"': 'value\twith tab' },
    registeredAt: '2026-01-01T00:00:00.000Z',
    lastHeartbeat: '2026-01-01T00:00:01.000Z',
    downSince: '2026-01-01T00:00:16.000Z'
  }
  t.same(JSON.parse(viewJson(view)), view)
  const { description: _, downSince: __, ...plain } = view
  const text = viewJson(plain)
  t.same(JSON.parse(text), plain)
  t.notMatch(text, 'description')
  t.notMatch(text, 'downSince')
})

t.test('viewJson with the JSON of a remembered info writes the same text as without it', async (t) => {
  const info_ = Object.freeze({
    name: 'orders',
    description: 'quotes " and \\ and a\nnewline, \u2028, émoji 🚀, \ud800 alone',
    version: '1',
    status: 'DOWN' as const,
    url: 'http://h/?q="1"',
    metadata: Object.freeze({ 'key "quoted"': 'value\twith tab' }),
    balancerOptions: Object.freeze({ weight: 2, pool: Object.freeze({ size: 4 }) })
  })
  const view: InstanceView = {
    instanceId: 'orders:h:1',
    name: info_.name,
    description: info_.description,
    version: info_.version,
    url: info_.url,
    status: 'DOWN',
    reportedStatus: 'DOWN',
    balancerOptions: info_.balancerOptions,
    metadata: info_.metadata,
    registeredAt: '2026-01-01T00:00:00.000Z',
    lastHeartbeat: '2026-01-01T00:00:01.000Z',
    downSince: '2026-01-01T00:00:01.000Z'
  }
  const written = viewJson(view, infoJson(view.instanceId, info_))
  t.equal(written, viewJson(view))
  t.same(JSON.parse(written), view)
  for (const [status, reportedStatus] of [['OK', 'OK'], ['OK', 'DOWN'], ['DOWN', 'OK']] as const) {
    const other = { ...view, status, reportedStatus }
    t.equal(viewJson(other, infoJson(view.instanceId, info_)), viewJson(other), `${status}/${reportedStatus}`)
  }
  const bare = Object.freeze({ name: 'orders', version: '1', status: 'OK' as const, url: 'http://h/' })
  const { description: _, downSince: __, ...plain } = { ...view, ...bare, reportedStatus: 'OK' as const, balancerOptions: { weight: 1 }, metadata: {} }
  t.equal(viewJson(plain, infoJson(view.instanceId, bare)), viewJson(plain), 'no description, the default objects')
})

t.test('the JSON of a remembered info is used only for views that show that info', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now, heartbeatTimeout: 1000 })
  const registry = app.lunaRegistry
  const bare = JSON.stringify(info('orders'))
  const full = JSON.stringify(info('orders', { description: 'Takes orders', metadata: { zone: 'eu-1' }, balancerOptions: { weight: 3 } }))
  const expected = async (): Promise<string> => viewJson((await registry.getInstance(ID))!)

  await send(app, 'POST', URL_, bare)
  let view = (await registry.getInstance(ID))!
  t.ok(known(app).infoJson(view), 'a body with no metadata or balancer options: the defaults are one frozen object each')
  t.equal((await app.inject({ method: 'GET', url: URL_, headers: AUTH })).body, await expected())

  await send(app, 'PUT', URL_, full)
  view = (await registry.getInstance(ID))!
  t.ok(known(app).infoJson(view), 'a new body, frozen before it is stored: the store keeps the objects remembered')
  t.equal((await app.inject({ method: 'PUT', url: URL_, headers: JSON_HEADERS, payload: full })).body, await expected())
  view = (await registry.getInstance(ID))!
  t.ok(known(app).infoJson(view), 'the same body again')
  clock.advance(100)
  t.equal((await app.inject({ method: 'PUT', url: URL_, headers: JSON_HEADERS, payload: full })).body, await expected())
  clock.advance(1500)
  t.equal((await app.inject({ method: 'GET', url: URL_, headers: AUTH })).body, await expected(), 'timed out: DOWN, with its downSince')
  t.match(await expected(), '"status":"DOWN","reportedStatus":"OK"')

  // Registered in process with other info: the remembered body no longer describes the record.
  await registry.register(ID, { ...JSON.parse(full), version: '9.9.9' })
  view = (await registry.getInstance(ID))!
  t.equal(known(app).infoJson(view), undefined, 'another version: written field by field')
  const got = await app.inject({ method: 'GET', url: URL_, headers: AUTH })
  t.equal(got.json().version, '9.9.9')
  t.equal(got.body, await expected())
  await registry.register(ID, JSON.parse(full))
  t.equal(known(app).infoJson((await registry.getInstance(ID))!), undefined, 'equal info, but not the remembered objects')
  t.equal((await app.inject({ method: 'GET', url: URL_, headers: AUTH })).body, await expected())
})

t.test('the services JSON writes views from the remembered text, the same as JSON.stringify', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now, heartbeatTimeout: 1000 })
  await send(app, 'POST', URL_, JSON.stringify(info('orders', { description: 'Takes "orders"', metadata: { zone: 'eu-1' } })))
  await send(app, 'POST', `${PREFIX}/instances/orders:10.0.0.2:8080`, JSON.stringify(info('orders', { url: 'http://10.0.0.2:8080/' })))
  await app.lunaRegistry.register('billing:10.0.0.3:8080', info('billing', { url: 'http://10.0.0.3:8080/' }) as never)
  clock.advance(500)
  await send(app, 'PUT', URL_, JSON.stringify(info('orders', { description: 'Takes "orders"', metadata: { zone: 'eu-1' } })))
  clock.advance(700)
  const registry = app.lunaRegistry
  const get = async (path: string): Promise<string> => (await app.inject({ method: 'GET', url: `${PREFIX}${path}`, headers: { ...AUTH, accept: 'application/json' } })).body
  t.equal(await get('/services'), JSON.stringify(await registry.listServices()), 'one timed out, one not, one registered in process')
  t.equal(await get('/services?status=UP'), JSON.stringify(await registry.listServices({ status: 'UP' })))
  t.equal(await get('/services/orders'), JSON.stringify(await registry.getService('orders')))
  t.same(JSON.parse(await get('/services/orders/pick')).instanceId, ID)
  t.equal(JSON.parse(await get('/services/nothing')).statusCode, 404, 'errors as they were')
})

t.test('MemoryStore keeps frozen objects as they are and copies the others', async (t) => {
  const store = new MemoryStore()
  const frozen = Object.freeze({ zone: 'eu-1' })
  const open = { weight: 1 }
  const { instance } = await store.register({
    instanceId: 'orders:h:1',
    name: 'orders',
    version: '1',
    url: 'http://h/',
    status: 'OK',
    balancerOptions: open,
    metadata: frozen,
    registeredAt: 1,
    lastHeartbeat: 1
  })
  t.equal(instance.metadata, frozen, 'nothing can change it: no copy needed')
  t.not(instance.balancerOptions, open)
  open.weight = 9
  t.equal((await store.get('orders:h:1'))?.balancerOptions.weight, 1, 'the caller changing its object changes nothing stored')
})
