import t from 'tap'
import { AUTH, PREFIX, build, manualClock, pick, register } from './helpers.js'

t.test('picks follow the weights exactly: 1, 2 and 3 over 600 picks are 100, 200 and 300', async (t) => {
  const app = await build(t)
  await register(app, 'orders:a:1', { balancerOptions: { weight: 1 } })
  await register(app, 'orders:b:1', { balancerOptions: { weight: 2 } })
  await register(app, 'orders:c:1', { balancerOptions: { weight: 3 } })
  const counts: Record<string, number> = {}
  const sequence: string[] = []
  for (let i = 0; i < 600; i++) {
    const { statusCode, body } = await pick(app, 'orders')
    t.equal(statusCode, 200)
    const id = body['instanceId'] as string
    counts[id] = (counts[id] ?? 0) + 1
    if (i < 6) sequence.push(id.split(':')[1]!)
  }
  t.same(counts, { 'orders:a:1': 100, 'orders:b:1': 200, 'orders:c:1': 300 })
  t.same(sequence, ['c', 'b', 'a', 'c', 'b', 'c'], 'smooth: the heavy instance is not picked in bursts')
})

t.test('weight 0 and instances that are not OK are never picked', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  await register(app, 'orders:stale:1')
  clock.advance(30_000)
  await register(app, 'orders:drained:1', { balancerOptions: { weight: 0 } })
  await register(app, 'orders:down:1', { status: 'DOWN', balancerOptions: { weight: 1000 } })
  await register(app, 'orders:ok:1')
  for (let i = 0; i < 20; i++) t.equal((await pick(app, 'orders')).body['instanceId'], 'orders:ok:1')
})

t.test('in process, routable() lists what pick chooses among, sorted by id; undefined for an unknown service', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  await register(app, 'orders:stale:1')
  clock.advance(30_000)
  await register(app, 'orders:drained:1', { balancerOptions: { weight: 0 } })
  await register(app, 'orders:down:1', { status: 'DOWN' })
  await register(app, 'orders:z:1', { metadata: { zone: 'eu-2' } })
  await register(app, 'orders:a:1', { metadata: { zone: 'eu-1' } })
  const ids = async (metadata?: Array<[string, string]>): Promise<string[] | undefined> =>
    (await app.lunaRegistry.routable('orders', metadata))?.map((record) => record.instanceId)
  t.same(await ids(), ['orders:a:1', 'orders:z:1'])
  t.same(await ids([['zone', 'eu-2']]), ['orders:z:1'])
  t.same(await ids([['zone', 'us-1']]), [])
  t.equal(await app.lunaRegistry.routable('billing'), undefined)
})

t.test('a lone OK instance of weight 0 is not picked: 503, in process too', async (t) => {
  const app = await build(t)
  await register(app, 'orders:drained:1', { balancerOptions: { weight: 0 } })
  t.equal((await app.lunaRegistry.getInstance('orders:drained:1'))?.status, 'OK', 'it is OK')
  for (let i = 0; i < 3; i++) {
    t.match(await pick(app, 'orders'), { statusCode: 503, body: { code: 'FST_LUNA_NO_INSTANCE_AVAILABLE' } })
  }
  await t.rejects(app.lunaRegistry.pick('orders'), { code: 'FST_LUNA_NO_INSTANCE_AVAILABLE', statusCode: 503 })
  await register(app, 'orders:drained:1', { balancerOptions: { weight: 1 } })
  t.match(await pick(app, 'orders'), { statusCode: 200, body: { instanceId: 'orders:drained:1' } }, 'with a weight, it is picked')
})

t.test('no OK instance: 503 FST_LUNA_NO_INSTANCE_AVAILABLE; unknown service: 404', async (t) => {
  const app = await build(t)
  await register(app, 'orders:a:1', { status: 'DOWN' })
  await register(app, 'orders:b:1', { balancerOptions: { weight: 0 } })
  t.match(await pick(app, 'orders'), {
    statusCode: 503,
    body: { statusCode: 503, code: 'FST_LUNA_NO_INSTANCE_AVAILABLE', error: 'Service Unavailable', message: 'Service "orders" has no instance that is OK with a weight above 0' }
  })
  t.match(await pick(app, 'nobody'), { statusCode: 404, body: { code: 'FST_LUNA_SERVICE_NOT_FOUND' } })
  t.match(await pick(app, 'bad%20name'), { statusCode: 400, body: { message: /params\/name must be a service name/ } })
})

t.test('the rotation adapts when instances come and go', async (t) => {
  const app = await build(t)
  await register(app, 'orders:a:1')
  await register(app, 'orders:b:1')
  const first = await Promise.all([1, 2, 3, 4].map(async () => (await pick(app, 'orders')).body['instanceId']))
  t.same([...first].sort(), ['orders:a:1', 'orders:a:1', 'orders:b:1', 'orders:b:1'])
  await app.inject({ method: 'DELETE', url: `${PREFIX}/instances/orders:a:1`, headers: AUTH })
  await register(app, 'orders:c:1', { balancerOptions: { weight: 3 } })
  const counts: Record<string, number> = {}
  for (let i = 0; i < 40; i++) {
    const id = (await pick(app, 'orders')).body['instanceId'] as string
    counts[id] = (counts[id] ?? 0) + 1
  }
  t.same(counts, { 'orders:b:1': 10, 'orders:c:1': 30 })
})

t.test('in process: fastify.lunaRegistry.pick', async (t) => {
  const app = await build(t)
  await register(app, 'orders:a:1')
  t.equal((await app.lunaRegistry.pick('orders')).instanceId, 'orders:a:1')
  await t.rejects(app.lunaRegistry.pick('nobody'), { code: 'FST_LUNA_SERVICE_NOT_FOUND' })
})

t.test('GET /services?status= filters by service status', async (t) => {
  const app = await build(t)
  await register(app, 'orders:a:1')
  await register(app, 'billing:a:1', { status: 'DOWN' })
  const names = async (url: string): Promise<string[]> =>
    (await app.inject({ method: 'GET', url, headers: AUTH })).json().map((service: { name: string }) => service.name)
  t.same(await names(`${PREFIX}/services?status=UP`), ['orders'])
  t.same(await names(`${PREFIX}/services/?status=DOWN`), ['billing'])
  t.same(await names(`${PREFIX}/services`), ['billing', 'orders'])
  const bad = await app.inject({ method: 'GET', url: `${PREFIX}/services?status=OK`, headers: AUTH })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().message, /querystring\/status must be one of "UP", "DOWN"/)
})
