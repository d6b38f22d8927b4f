import t from 'tap'
import { AUTH, PREFIX, build, info, manualClock, send } from './helpers.js'

const ID = 'orders:10.0.0.1:8080'
const URL_ = `${PREFIX}/instances/${ID}`

t.test('POST registers a new instance: 201 and its view', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  const body = info('orders', {
    description: 'Takes orders',
    metadata: { zone: 'eu-1' },
    balancerOptions: { weight: 5, sticky: true },
    instanceId: ID
  })
  const res = await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: body })
  t.equal(res.statusCode, 201)
  t.match(res.headers['content-type'], /application\/json/)
  const iso = new Date(clock.now()).toISOString()
  t.same(res.json(), {
    instanceId: ID,
    name: 'orders',
    description: 'Takes orders',
    version: '1.0.0',
    url: 'http://10.0.0.1:8080/',
    status: 'OK',
    reportedStatus: 'OK',
    balancerOptions: { weight: 5, sticky: true },
    metadata: { zone: 'eu-1' },
    registeredAt: iso,
    lastHeartbeat: iso
  })
})

t.test('POST of a registered id replaces it: 200, new registration time', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: info('orders', { description: 'old', metadata: { a: '1' } }) })
  clock.advance(5000)
  const res = await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: info('orders', { version: '2.0.0' }) })
  t.equal(res.statusCode, 200)
  const view = res.json()
  t.equal(view.version, '2.0.0')
  t.equal(view.description, undefined, 'the old description is gone: a registration replaces whole')
  t.same(view.metadata, {})
  t.equal(view.registeredAt, new Date(clock.now()).toISOString())
  const list = await app.inject({ method: 'GET', url: `${PREFIX}/instances`, headers: AUTH })
  t.equal(list.json().length, 1)
})

t.test('defaults: weight 1, empty metadata, no description', async (t) => {
  const app = await build(t)
  const view = (await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: info() })).json()
  t.same(view.balancerOptions, { weight: 1 })
  t.same(view.metadata, {})
  t.notOk('description' in view)
})

t.test('unknown top-level fields are dropped', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: info('orders', { color: 'blue', registeredAt: 'x', lastHeartbeat: 'y', reportedStatus: 'DOWN' }) })
  t.equal(res.statusCode, 201)
  const view = res.json()
  t.notOk('color' in view)
  t.equal(view.reportedStatus, 'OK')
  t.not(view.registeredAt, 'x')
  const stored = await app.lunaRegistry.store.get(ID)
  t.notOk(stored !== undefined && 'color' in stored)
})

t.test('PUT heartbeats: 200, info replaced, heartbeat refreshed, registration kept', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  const registered = (await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: info('orders', { metadata: { a: '1' } }) })).json()
  clock.advance(10_000)
  const res = await app.inject({ method: 'PUT', url: URL_, headers: AUTH, payload: info('orders', { version: '1.0.1', status: 'DOWN' }) })
  t.equal(res.statusCode, 200)
  const view = res.json()
  t.equal(view.version, '1.0.1')
  t.equal(view.reportedStatus, 'DOWN')
  t.equal(view.status, 'DOWN')
  t.same(view.metadata, {})
  t.equal(view.registeredAt, registered.registeredAt)
  t.equal(view.lastHeartbeat, new Date(clock.now()).toISOString())
})

t.test('Prefer: return=minimal answers the status alone: 201 or 204 to POST, 204 to PUT', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  const minimal = { ...AUTH, prefer: 'return=minimal' }
  const body = info('orders', { metadata: { load: '1' } })
  const created = await app.inject({ method: 'POST', url: URL_, headers: minimal, payload: body })
  t.equal(created.statusCode, 201, 'a new registration')
  t.equal(created.body, '')
  t.equal(created.headers['preference-applied'], 'return=minimal')
  const replaced = await app.inject({ method: 'POST', url: URL_, headers: minimal, payload: body })
  t.equal(replaced.statusCode, 204, 'a replaced one')
  t.equal(replaced.body, '')
  clock.advance(5000)
  const heartbeat = await app.inject({ method: 'PUT', url: URL_, headers: minimal, payload: info('orders', { metadata: { load: '2' } }) })
  t.equal(heartbeat.statusCode, 204)
  t.equal(heartbeat.body, '')
  t.equal(heartbeat.headers['preference-applied'], 'return=minimal')
  const view = (await app.inject({ method: 'GET', url: URL_, headers: AUTH })).json()
  t.same(view.metadata, { load: '2' }, 'the heartbeat was applied all the same')
  t.equal(view.lastHeartbeat, new Date(clock.now()).toISOString())

  // RFC 7240: several preferences, parameters, quotes and case; anything else is ignored.
  for (const prefer of ['respond-async, return=minimal', 'RETURN="Minimal"; x=1', 'wait=5,return = minimal']) {
    const res = await app.inject({ method: 'PUT', url: URL_, headers: { ...AUTH, prefer }, payload: body })
    t.equal(res.statusCode, 204, prefer)
  }
  for (const prefer of ['return=representation', 'return', 'minimal', 'handling=lenient']) {
    const res = await app.inject({ method: 'PUT', url: URL_, headers: { ...AUTH, prefer }, payload: body })
    t.equal(res.statusCode, 200, `${prefer}: the view`)
    t.equal(res.headers['preference-applied'], undefined)
    t.equal(res.json().instanceId, ID)
  }
  const missing = await app.inject({ method: 'PUT', url: `${PREFIX}/instances/orders:10.0.0.2:8080`, headers: minimal, payload: body })
  t.equal(missing.statusCode, 404, 'errors are answered in full')
  t.equal(missing.json().code, 'FST_LUNA_INSTANCE_NOT_FOUND')
})

t.test('PUT for an unregistered instance: 404, and nothing is created', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'PUT', url: URL_, headers: AUTH, payload: info() })
  t.equal(res.statusCode, 404)
  t.same(res.json(), {
    statusCode: 404,
    code: 'FST_LUNA_INSTANCE_NOT_FOUND',
    error: 'Not Found',
    message: `Instance "${ID}" is not registered`
  })
  t.equal((await app.inject({ method: 'GET', url: URL_, headers: AUTH })).statusCode, 404)
})

t.test('DELETE deregisters: 204 with no body, then 404', async (t) => {
  const app = await build(t)
  await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: info() })
  const res = await app.inject({ method: 'DELETE', url: URL_, headers: AUTH })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal((await app.inject({ method: 'GET', url: URL_, headers: AUTH })).statusCode, 404)
  const again = await app.inject({ method: 'DELETE', url: URL_, headers: AUTH })
  t.equal(again.statusCode, 404)
  t.equal(again.json().code, 'FST_LUNA_INSTANCE_NOT_FOUND')
  const heartbeat = await app.inject({ method: 'PUT', url: URL_, headers: AUTH, payload: info() })
  t.equal(heartbeat.statusCode, 404, 'a heartbeat after deregistration does not resurrect it')
})

t.test('GET one instance: 200 view, 404 when unknown', async (t) => {
  const app = await build(t)
  await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: info() })
  const res = await app.inject({ method: 'GET', url: URL_, headers: AUTH })
  t.equal(res.statusCode, 200)
  t.equal(res.json().instanceId, ID)
  const missing = await app.inject({ method: 'GET', url: `${PREFIX}/instances/orders:10.0.0.9:8080`, headers: AUTH })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'FST_LUNA_INSTANCE_NOT_FOUND')
})

t.test('GET the list: sorted by id, filtered by service and effective status', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now, heartbeatTimeout: 30_000 })
  const register = async (id: string, status = 'OK'): Promise<void> => {
    const res = await app.inject({ method: 'POST', url: `${PREFIX}/instances/${id}`, headers: AUTH, payload: info(id.split(':')[0], { status }) })
    t.equal(res.statusCode, 201)
  }
  await register('orders:h2:1')
  await register('billing:h1:1')
  await register('orders:h1:1', 'DOWN')
  clock.advance(20_000)
  await register('orders:h3:1')
  clock.advance(10_000)
  const get = async (query = ''): Promise<string[]> => {
    const res = await app.inject({ method: 'GET', url: `${PREFIX}/instances${query}`, headers: AUTH })
    t.equal(res.statusCode, 200)
    return res.json().map((view: { instanceId: string }) => view.instanceId)
  }
  t.same(await get(), ['billing:h1:1', 'orders:h1:1', 'orders:h2:1', 'orders:h3:1'])
  t.same(await get('?service=orders'), ['orders:h1:1', 'orders:h2:1', 'orders:h3:1'])
  t.same(await get('?status=OK'), ['orders:h3:1'])
  t.same(await get('?service=orders&status=DOWN'), ['orders:h1:1', 'orders:h2:1'])
  t.same(await get('?service=nobody'), [])
})

t.test('GET the list with a bad filter: 400 naming it', async (t) => {
  const app = await build(t)
  const status = await app.inject({ method: 'GET', url: `${PREFIX}/instances?status=UP`, headers: AUTH })
  t.equal(status.statusCode, 400)
  t.equal(status.json().code, 'FST_ERR_VALIDATION')
  t.match(status.json().message, /querystring\/status must be one of "OK", "DOWN"/)
  const service = await app.inject({ method: 'GET', url: `${PREFIX}/instances?service=bad%20name`, headers: AUTH })
  t.equal(service.statusCode, 400)
  t.match(service.json().message, /querystring\/service must be a service name/)
})

t.test('ids are used verbatim: long, IPv6 and percent-encoded ids route', async (t) => {
  const app = await build(t)
  const long = `${'s'.repeat(128)}:${'h'.repeat(63)}.${'d'.repeat(63)}.example:65535`
  const res = await app.inject({ method: 'POST', url: `${PREFIX}/instances/${long}`, headers: AUTH, payload: info('s'.repeat(128)) })
  t.equal(res.statusCode, 201, 'an id longer than the router maxParamLength still routes')
  t.equal(res.json().instanceId, long)

  const v6 = await app.inject({ method: 'POST', url: `${PREFIX}/instances/api:%5B::1%5D:9000`, headers: AUTH, payload: info('api') })
  t.equal(v6.statusCode, 201)
  t.equal(v6.json().instanceId, 'api:[::1]:9000')
  const raw = await app.inject({ method: 'GET', url: `${PREFIX}/instances/api:[::1]:9000`, headers: AUTH })
  t.equal(raw.statusCode, 200)

  const dashed = await app.inject({ method: 'POST', url: `${PREFIX}/instances/my-svc:host:1`, headers: AUTH, payload: info('my-svc') })
  t.equal(dashed.json().name, 'my-svc')
})

t.test('timestamps are written as toISOString writes them, whatever the clock says', async (t) => {
  let clock = 0
  const app = await build(t, { now: () => clock })
  const times = [Date.UTC(2026, 0, 1, 23, 59, 59, 999), Date.UTC(2026, 0, 2) + 0.75, -1, -1001, 0, 253402300800123, Date.UTC(2026, 0, 1, 23, 59, 59, 999) + 1]
  for (const [index, at] of times.entries()) {
    clock = at
    const res = await send(app, index === 0 ? 'POST' : 'PUT', 'orders:10.0.0.1:8080', info('orders'))
    t.equal(res.json().lastHeartbeat, new Date(Math.floor(at)).toISOString(), `at ${at}`)
  }
})
