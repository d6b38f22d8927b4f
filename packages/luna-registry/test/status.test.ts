import t from 'tap'
import { AUTH, PREFIX, build, info, manualClock } from './helpers.js'

t.test('an instance is DOWN once its last heartbeat is 30 s old, by default', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  const url = `${PREFIX}/instances/orders:h:1`
  await app.inject({ method: 'POST', url, headers: AUTH, payload: info() })
  const status = async (): Promise<string> => (await app.inject({ method: 'GET', url, headers: AUTH })).json().status
  t.equal(await status(), 'OK')
  clock.advance(29_999)
  t.equal(await status(), 'OK', '1 ms before the deadline')
  clock.advance(1)
  t.equal(await status(), 'DOWN', 'at exactly 30 s')
  const view = (await app.inject({ method: 'GET', url, headers: AUTH })).json()
  t.equal(view.reportedStatus, 'OK', 'what it said is still shown')
  await app.inject({ method: 'PUT', url, headers: AUTH, payload: info() })
  t.equal(await status(), 'OK', 'a heartbeat brings it back')
})

t.test('the timeout is configurable, in milliseconds or as a duration', async (t) => {
  for (const heartbeatTimeout of [500, '500ms', '0.5s']) {
    const clock = manualClock()
    const app = await build(t, { now: clock.now, heartbeatTimeout })
    const url = `${PREFIX}/instances/orders:h:1`
    await app.inject({ method: 'POST', url, headers: AUTH, payload: info() })
    clock.advance(499)
    t.equal((await app.inject({ method: 'GET', url, headers: AUTH })).json().status, 'OK', `${heartbeatTimeout}: before`)
    clock.advance(1)
    t.equal((await app.inject({ method: 'GET', url, headers: AUTH })).json().status, 'DOWN', `${heartbeatTimeout}: after`)
    t.equal(app.lunaRegistry.heartbeatTimeout, 500)
  }
})

t.test('an instance that reports DOWN is DOWN however fresh its heartbeat', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: info('orders', { status: 'DOWN' }) })
  t.match(res.json(), { status: 'DOWN', reportedStatus: 'DOWN' })
})

t.test('status is computed on read, never trusted from storage', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  await app.lunaRegistry.store.register({
    instanceId: 'orders:h:1',
    name: 'orders',
    version: '1',
    url: 'http://h:1/',
    status: 'OK',
    balancerOptions: { weight: 1 },
    metadata: {},
    registeredAt: clock.now() - 60_000,
    lastHeartbeat: clock.now() - 60_000
  })
  const view = (await app.inject({ method: 'GET', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH })).json()
  t.equal(view.status, 'DOWN')
})

t.test('a service is UP while one instance is OK, DOWN when none is', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  const register = async (id: string, body = {}): Promise<void> => {
    await app.inject({ method: 'POST', url: `${PREFIX}/instances/${id}`, headers: AUTH, payload: info(id.split(':')[0], body) })
  }
  const service = async (name: string): Promise<{ status: string, instancesOnline: number, instancesTotal: number }> =>
    (await app.inject({ method: 'GET', url: `${PREFIX}/services/${name}`, headers: AUTH })).json()

  await register('orders:h1:1', { status: 'DOWN' })
  t.match(await service('orders'), { status: 'DOWN', instancesOnline: 0, instancesTotal: 1 })
  clock.advance(10_000)
  await register('orders:h2:1')
  t.match(await service('orders'), { status: 'UP', instancesOnline: 1, instancesTotal: 2 })
  clock.advance(30_000)
  t.match(await service('orders'), { status: 'DOWN', instancesOnline: 0, instancesTotal: 2 }, 'the OK one timed out')
  await app.inject({ method: 'PUT', url: `${PREFIX}/instances/orders:h1:1`, headers: AUTH, payload: info('orders') })
  t.match(await service('orders'), { status: 'UP', instancesOnline: 1, instancesTotal: 2 }, 'the other came back')
})

t.test('services: created by the first registration, gone with the last instance', async (t) => {
  const app = await build(t)
  const list = async (): Promise<Array<{ name: string }>> => (await app.inject({ method: 'GET', url: `${PREFIX}/services`, headers: AUTH })).json()
  t.same(await list(), [])
  t.equal((await app.inject({ method: 'GET', url: `${PREFIX}/services/orders`, headers: AUTH })).statusCode, 404)
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: info() })
  t.same((await list()).map((s) => s.name), ['orders'])
  await app.inject({ method: 'DELETE', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH })
  t.same(await list(), [])
  const missing = await app.inject({ method: 'GET', url: `${PREFIX}/services/orders`, headers: AUTH })
  t.equal(missing.statusCode, 404)
  t.match(missing.json(), { code: 'FST_LUNA_SERVICE_NOT_FOUND', message: 'Service "orders" has no registered instances' })
})

t.test('service views: sorted by name, instances by id, full shape', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  for (const id of ['zeta:h:1', 'alpha:h:2', 'alpha:h:1', 'Beta:h:1']) {
    await app.inject({ method: 'POST', url: `${PREFIX}/instances/${id}`, headers: AUTH, payload: info(id.split(':')[0], { description: `about ${id}` }) })
    clock.advance(1000)
  }
  for (const url of [`${PREFIX}/services`, `${PREFIX}/services/`]) {
    const res = await app.inject({ method: 'GET', url, headers: AUTH })
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /application\/json/)
    const services = res.json()
    t.same(services.map((s: { name: string }) => s.name), ['Beta', 'alpha', 'zeta'], `${url}: sorted by name`)
    t.same(services[1].instances.map((i: { instanceId: string }) => i.instanceId), ['alpha:h:1', 'alpha:h:2'])
    t.same(Object.keys(services[1]).sort(), ['description', 'instances', 'instancesOnline', 'instancesTotal', 'name', 'status'])
    t.equal(services[1].description, 'about alpha:h:1', 'the latest registration describes the service')
  }
  const one = await app.inject({ method: 'GET', url: `${PREFIX}/services/alpha`, headers: AUTH })
  t.match(one.json(), { name: 'alpha', status: 'UP', instancesOnline: 2, instancesTotal: 2 })
  const bad = await app.inject({ method: 'GET', url: `${PREFIX}/services/bad%20name`, headers: AUTH })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().message, /params\/name must be a service name/)
})
