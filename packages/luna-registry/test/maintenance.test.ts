import t from 'tap'
import { MemoryStore, type RegistryEvent } from '../src/index.js'
import { until } from '../../../test-support/until.js'
import { AUTH, build, info, JSON_HEADERS, manualClock, pick, PREFIX, recordEvents, send, wrapStore } from './helpers.js'

async function setup (t: Parameters<typeof build>[0]): Promise<{
  app: Awaited<ReturnType<typeof build>>
  clock: ReturnType<typeof manualClock>
  events: RegistryEvent[]
  maintain: (id: string, body?: unknown) => Promise<{ statusCode: number, body: Record<string, unknown> }>
  lift: (id: string) => Promise<{ statusCode: number, body: string }>
}> {
  const clock = manualClock()
  const app = await build(t, { now: clock.now, heartbeatTimeout: 30_000 })
  await app.lunaRegistry.stop()
  const events = recordEvents(app.lunaRegistry)
  const maintain = async (id: string, body: unknown = { reason: 'disk swap' }): Promise<{ statusCode: number, body: Record<string, unknown> }> => {
    const res = await app.inject({ method: 'PUT', url: `${PREFIX}/instances/${id}/maintenance`, headers: JSON_HEADERS, payload: JSON.stringify(body) })
    return { statusCode: res.statusCode, body: res.json() }
  }
  const lift = async (id: string): Promise<{ statusCode: number, body: string }> => {
    const res = await app.inject({ method: 'DELETE', url: `${PREFIX}/instances/${id}/maintenance`, headers: AUTH })
    return { statusCode: res.statusCode, body: res.body }
  }
  return { app, clock, events, maintain, lift }
}

const statuses = (events: RegistryEvent[]): string[] => events.flatMap((event) =>
  event.type === 'status' ? [`${event.previous}->${event.status} (${event.reason})`] : event.type === 'maintenance' ? [`maintenance ${String(event.active)}`] : [])

t.test('an instance in maintenance is DOWN whatever it reports, says why, and is never picked', async (t) => {
  const { app, clock, events, maintain } = await setup(t)
  await send(app, 'POST', 'orders:a:80', info('orders'))
  await send(app, 'POST', 'orders:b:80', info('orders'))
  clock.advance(1000)
  const since = new Date(clock.now()).toISOString()
  const held = await maintain('orders:a:80')
  t.equal(held.statusCode, 200)
  t.match(held.body, { instanceId: 'orders:a:80', status: 'DOWN', reportedStatus: 'OK', downSince: since, maintenance: { reason: 'disk swap', since } })
  t.same(statuses(events), ['maintenance true', 'OK->DOWN (maintenance)'])

  clock.advance(1000)
  const beat = await send(app, 'PUT', 'orders:a:80', info('orders'))
  t.match(beat.json(), { status: 'DOWN', maintenance: { reason: 'disk swap', since } }, 'its own heartbeat does not lift it')
  for (let i = 0; i < 4; i++) t.equal((await pick(app, 'orders')).body['instanceId'], 'orders:b:80', 'never picked')
  await send(app, 'PUT', 'orders:b:80', info('orders', { status: 'DOWN' }))
  t.equal((await pick(app, 'orders')).statusCode, 503, 'the only other one is DOWN: none to pick')

  const again = await send(app, 'POST', 'orders:a:80', info('orders', { version: '2.0.0' }))
  t.match(again.json(), { version: '2.0.0', status: 'DOWN', maintenance: { reason: 'disk swap', since } }, 'a restarted instance stays in maintenance')
  t.same(statuses(events).slice(2), ['OK->DOWN (reported)'], 'no status change for the held instance, only for b')

  const service = (await app.inject({ method: 'GET', url: `${PREFIX}/services/orders`, headers: AUTH })).json()
  t.match(service, { status: 'DOWN', instancesOnline: 0 })
  const listed = (await app.inject({ method: 'GET', url: `${PREFIX}/instances?status=DOWN`, headers: AUTH })).json() as Array<Record<string, unknown>>
  t.match(listed.find((view) => view['instanceId'] === 'orders:a:80'), { maintenance: { reason: 'disk swap' } }, 'lists write it too')
})

t.test('lifting the hold computes the status as usual again, with an event', async (t) => {
  const { app, clock, events, maintain, lift } = await setup(t)
  await send(app, 'POST', 'orders:a:80', info('orders'))
  await maintain('orders:a:80')
  const lifted = await lift('orders:a:80')
  t.equal(lifted.statusCode, 200)
  const view = JSON.parse(lifted.body) as Record<string, unknown>
  t.equal(view['status'], 'OK')
  t.notOk('maintenance' in view)
  t.same(statuses(events), ['maintenance true', 'OK->DOWN (maintenance)', 'maintenance false', 'DOWN->OK (maintenance)'])

  await maintain('orders:a:80')
  clock.advance(30_000)
  await app.lunaRegistry.sweep()
  t.same(statuses(events).slice(4), ['maintenance true', 'OK->DOWN (maintenance)'], 'a held instance that goes quiet changes no status')
  await lift('orders:a:80')
  t.same(statuses(events).slice(6), ['maintenance false'], 'lifted, but past its deadline: still DOWN, no status change')
  t.equal((await lift('orders:a:80')).statusCode, 200, 'lifting what is not held is harmless')
})

t.test('setting the hold again changes the reason and keeps the time', async (t) => {
  const { app, clock, maintain } = await setup(t)
  await send(app, 'POST', 'orders:a:80', info('orders'))
  const first = await maintain('orders:a:80')
  clock.advance(5000)
  const second = await maintain('orders:a:80', { reason: 'kernel upgrade' })
  t.same(second.body['maintenance'], { reason: 'kernel upgrade', since: (first.body['maintenance'] as { since: string }).since })
})

t.test('a hold outlives a deregistration; it is lifted with 204 once the instance is gone', async (t) => {
  const { app, maintain, lift } = await setup(t)
  await send(app, 'POST', 'orders:a:80', info('orders'))
  await maintain('orders:a:80')
  await send(app, 'DELETE', 'orders:a:80')
  const back = await send(app, 'POST', 'orders:a:80', info('orders'))
  t.match(back.json(), { status: 'DOWN', maintenance: { reason: 'disk swap' } })
  await send(app, 'DELETE', 'orders:a:80')
  t.equal((await lift('orders:a:80')).statusCode, 204)
  t.equal((await lift('orders:a:80')).statusCode, 404)
})

t.test('an evicted instance takes its hold with it', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now, heartbeatTimeout: 30_000, evictAfter: 1000 })
  await app.lunaRegistry.stop()
  await send(app, 'POST', 'orders:a:80', info('orders'))
  await app.lunaRegistry.setMaintenance('orders:a:80', 'retiring')
  clock.advance(31_000)
  await app.lunaRegistry.sweep()
  t.same(await app.lunaRegistry.guards.listMaintenance(), [])
  t.equal((await send(app, 'POST', 'orders:a:80', info('orders'))).json().status, 'OK')
})

t.test('bad requests: a clear 4xx naming the field and rule', async (t) => {
  const { app, maintain, lift } = await setup(t)
  await send(app, 'POST', 'orders:a:80', info('orders'))
  const cases: Array<[unknown, RegExp]> = [
    [{}, /^body\/reason is required$/],
    [{ reason: '' }, /^body\/reason must not be empty$/],
    [{ reason: 'x'.repeat(513) }, /^body\/reason must NOT have more than 512 characters$/],
    [{ reason: 7 }, /^body\/reason must be string$/]
  ]
  for (const [body, message] of cases) {
    const res = await maintain('orders:a:80', body)
    t.equal(res.statusCode, 400, JSON.stringify(body))
    t.match(res.body, { code: 'FST_ERR_VALIDATION', message })
  }
  t.match(await maintain('orders:nobody:80'), { statusCode: 404, body: { code: 'FST_LUNA_INSTANCE_NOT_FOUND' } })
  t.match(await maintain('no-port'), { statusCode: 400, body: { code: 'FST_LUNA_INVALID_INSTANCE_ID' } })
  t.equal((await lift('no-port')).statusCode, 400)
  const unauthenticated = await app.inject({ method: 'PUT', url: `${PREFIX}/instances/orders:a:80/maintenance`, payload: { reason: 'x' } })
  t.equal(unauthenticated.statusCode, 401)
})

t.test('a resync of a shared store reads the holds afresh; a failed read is logged and changes nothing', async (t) => {
  const clock = manualClock()
  const inner = new MemoryStore()
  let resync: (() => void) | undefined
  let failing = false
  const store = wrapStore({
    publish: async () => {},
    subscribe: async (_listener: unknown, onResync?: () => void) => { resync = onResync },
    available: () => true,
    listMaintenance: async () => {
      if (failing) throw new Error('store away')
      return await inner.listMaintenance()
    }
  } as never, inner)
  const app = await build(t, { now: clock.now, store })
  const warnings: string[] = []
  app.log.warn = ((_object: unknown, message: string) => { warnings.push(message) }) as never
  await send(app, 'POST', 'orders:a:80', info('orders'))
  // Another replica's hold, whose event was lost.
  await inner.setMaintenance('orders:a:80', { reason: 'from elsewhere', since: clock.now() })
  t.equal((await app.lunaRegistry.getInstance('orders:a:80'))?.status, 'OK', 'not known here yet')
  resync!()
  await until('the hold is read', async () => (await app.lunaRegistry.getInstance('orders:a:80'))?.maintenance)
  t.match(await app.lunaRegistry.getInstance('orders:a:80'), { status: 'DOWN', maintenance: { reason: 'from elsewhere' } })
  failing = true
  await inner.clearMaintenance('orders:a:80')
  resync!()
  await until('the failure is logged', () => warnings.find((line) => /could not read the maintenance holds/.test(line)))
  t.equal((await app.lunaRegistry.getInstance('orders:a:80'))?.status, 'DOWN', 'what was known stays')
})
