import { once } from 'node:events'
import t from 'tap'
import Fastify from 'fastify'
import lunaRegistry, { MemoryStore, type RegistryEvent } from '../src/index.js'
import { until, within } from '../../../test-support/until.js'
import { build, info, manualClock, recordEvents, send, wrapStore } from './helpers.js'

async function setup (t: Parameters<typeof build>[0], options: Parameters<typeof build>[1] = {}): Promise<{
  app: Awaited<ReturnType<typeof build>>
  clock: ReturnType<typeof manualClock>
  events: RegistryEvent[]
  post: (id: string, body?: Record<string, unknown>) => Promise<number>
  put: (id: string, body?: Record<string, unknown>) => Promise<number>
}> {
  const clock = manualClock()
  const app = await build(t, { now: clock.now, heartbeatTimeout: 30_000, ...options })
  await app.lunaRegistry.stop() // the test sweeps by hand, on its own clock
  const events = recordEvents(app.lunaRegistry)
  const write = (method: 'POST' | 'PUT') => async (id: string, body: Record<string, unknown> = {}): Promise<number> =>
    (await send(app, method, id, info(id.split(':')[0], body))).statusCode
  return { app, clock, events, post: write('POST'), put: write('PUT') }
}

const summary = (events: RegistryEvent[]): string[] => events.map((event) =>
  event.type === 'status' ? `status ${event.instanceId} ${event.previous}->${event.status} (${event.reason})` : `${event.type} ${'instanceId' in event ? event.instanceId : ''}`)

t.test('a missed deadline is announced once, as a status event with reason timeout', async (t) => {
  const { app, clock, events, post } = await setup(t)
  await post('orders:h:1')
  clock.advance(29_999)
  await app.lunaRegistry.sweep()
  t.same(summary(events), ['registered orders:h:1'], 'not before the deadline')
  clock.advance(1)
  await app.lunaRegistry.sweep()
  await app.lunaRegistry.sweep()
  t.same(summary(events), ['registered orders:h:1', 'status orders:h:1 OK->DOWN (timeout)'], 'at the deadline, once')
  const event = events[1]!
  t.match(event, { type: 'status', service: 'orders', instance: { status: 'DOWN', reportedStatus: 'OK', downSince: new Date(clock.now()).toISOString() } })
  t.equal(event.id, events[0]!.id + 1, 'ids increase one by one')
  t.equal(event.time, new Date(clock.now()).toISOString())
})

t.test('a heartbeat after a timeout brings the instance back with reason heartbeat', async (t) => {
  const { app, clock, events, post, put } = await setup(t)
  await post('orders:h:1')
  clock.advance(31_000)
  await app.lunaRegistry.sweep()
  await put('orders:h:1')
  t.same(summary(events).slice(1), ['status orders:h:1 OK->DOWN (timeout)', 'status orders:h:1 DOWN->OK (heartbeat)'])
})

t.test('a late heartbeat before the sweep announced anything changes nothing for listeners', async (t) => {
  const { app, clock, events, post, put } = await setup(t)
  await post('orders:h:1')
  clock.advance(31_000)
  await put('orders:h:1')
  await app.lunaRegistry.sweep()
  await app.lunaRegistry.deregister('orders:h:1')
  t.same(summary(events), ['registered orders:h:1', 'deregistered orders:h:1'], 'nothing between the registration and a later change')
})

t.test('reported status changes are status events with reason reported; plain heartbeats emit nothing', async (t) => {
  const { clock, events, post, put } = await setup(t)
  await post('orders:h:1')
  clock.advance(10_000)
  await put('orders:h:1')
  t.same(summary(events), ['registered orders:h:1'], 'a heartbeat that changes nothing emits nothing')
  await put('orders:h:1', { status: 'DOWN' })
  await put('orders:h:1', { status: 'DOWN' })
  await put('orders:h:1', { status: 'OK' })
  t.same(summary(events).slice(1), [
    'status orders:h:1 OK->DOWN (reported)',
    'status orders:h:1 DOWN->OK (reported)'
  ], 'one event each, the status carrying the instance as it now is')
  t.match(events.at(-1), { type: 'status', instance: { reportedStatus: 'OK', status: 'OK' } })
})

t.test('updated: any change of the info, nothing else', async (t) => {
  const { events, post, put } = await setup(t)
  await post('orders:h:1', { metadata: { a: '1' }, balancerOptions: { weight: 2, extra: { x: [1] } } })
  await put('orders:h:1', { metadata: { a: '1' }, balancerOptions: { weight: 2, extra: { x: [1] } } })
  t.equal(events.length, 1, 'same info, deep: nothing')
  for (const change of [{ version: '2' }, { url: 'http://h2/' }, { description: 'now described' }, { metadata: { a: '2' } }, { balancerOptions: { weight: 3 } }]) {
    const before = events.length
    await put('orders:h:1', change)
    t.equal(events.length, before + 1, JSON.stringify(change))
    t.equal(events.at(-1)?.type, 'updated')
  }
})

t.test('registering again is a registered event; a status change it brings is announced', async (t) => {
  const { app, clock, events, post } = await setup(t)
  await post('orders:h:1')
  clock.advance(40_000)
  await app.lunaRegistry.sweep()
  await post('orders:h:1')
  t.same(summary(events), [
    'registered orders:h:1',
    'status orders:h:1 OK->DOWN (timeout)',
    'registered orders:h:1',
    'status orders:h:1 DOWN->OK (heartbeat)'
  ])
  t.match(events[2], { created: false })
  t.match(events[0], { created: true })
})

t.test('an instance that reports DOWN and goes quiet changes no status, and is evicted later', async (t) => {
  const { app, clock, events, post } = await setup(t, { evictAfter: 60_000 })
  await post('orders:h:1', { status: 'DOWN' })
  clock.advance(30_000)
  await app.lunaRegistry.sweep()
  t.same(summary(events), ['registered orders:h:1'])
  clock.advance(60_000)
  await app.lunaRegistry.sweep()
  t.same(summary(events).slice(1), ['evicted orders:h:1'])
})

t.test('eviction: removed evictAfter after the deadline, announced, gone from every view', async (t) => {
  const { app, clock, events, post, put } = await setup(t, { evictAfter: '2s' })
  await post('orders:h:1')
  await post('orders:h:2')
  clock.advance(30_000)
  await app.lunaRegistry.sweep()
  await put('orders:h:2')
  clock.advance(1_999)
  await app.lunaRegistry.sweep()
  t.ok(await app.lunaRegistry.getInstance('orders:h:1'), 'not before evictAfter has passed')
  clock.advance(1)
  await app.lunaRegistry.sweep()
  t.equal(await app.lunaRegistry.getInstance('orders:h:1'), undefined)
  t.ok(await app.lunaRegistry.getInstance('orders:h:2'), 'the one that came back stays')
  const evicted = events.filter((event) => event.type === 'evicted')
  t.same(evicted.map((event) => event.instanceId), ['orders:h:1'])
  t.equal((await send(app, 'GET', 'orders:h:1')).statusCode, 404)
  t.equal(await put('orders:h:1'), 404, 'a heartbeat after eviction is told to register')
})

t.test('an instance that reports DOWN but keeps heartbeating is alive and never evicted', async (t) => {
  const { app, clock, events, post, put } = await setup(t, { evictAfter: 1000 })
  await post('orders:h:1', { status: 'DOWN' })
  for (let i = 0; i < 20; i++) {
    clock.advance(10_000)
    await put('orders:h:1', { status: 'DOWN' })
    await app.lunaRegistry.sweep()
  }
  t.ok(await app.lunaRegistry.getInstance('orders:h:1'))
  await app.lunaRegistry.deregister('orders:h:1')
  t.same(summary(events), ['registered orders:h:1', 'deregistered orders:h:1'], 'no eviction, nor any status change, before it left')
})

t.test('evictAfter 0 keeps timed-out instances forever', async (t) => {
  const { app, clock, post } = await setup(t, { evictAfter: 0 })
  await post('orders:h:1')
  for (let day = 0; day < 10; day++) {
    clock.advance(86_400_000)
    await app.lunaRegistry.sweep()
  }
  t.equal((await app.lunaRegistry.getInstance('orders:h:1'))?.status, 'DOWN')
})

t.test('the default evictAfter is 24 h', async (t) => {
  const { app, clock, post } = await setup(t)
  await post('orders:h:1')
  clock.advance(30_000)
  await app.lunaRegistry.sweep()
  clock.advance(86_400_000 - 1)
  await app.lunaRegistry.sweep()
  t.ok(await app.lunaRegistry.getInstance('orders:h:1'))
  clock.advance(1)
  await app.lunaRegistry.sweep()
  t.equal(await app.lunaRegistry.getInstance('orders:h:1'), undefined)
})

t.test('deregistration is an event', async (t) => {
  const { app, events, post } = await setup(t)
  await post('orders:h:1')
  t.equal((await send(app, 'DELETE', 'orders:h:1')).statusCode, 204)
  t.same(summary(events), ['registered orders:h:1', 'deregistered orders:h:1'])
  t.match(events[1], { service: 'orders', instanceId: 'orders:h:1' })
  t.equal((await send(app, 'DELETE', 'orders:h:1')).statusCode, 404)
  await post('orders:h:2')
  t.same(summary(events).slice(2), ['registered orders:h:2'], 'a 404 emits nothing: the next event is the next change')
})

t.test('downSince: the deadline for a timeout, the first DOWN report for a reported one', async (t) => {
  const { app, clock, post, put } = await setup(t)
  const start = clock.now()
  await post('orders:h:1')
  t.notOk('downSince' in (await app.lunaRegistry.getInstance('orders:h:1'))!, 'absent while OK')
  clock.advance(45_000)
  t.equal((await app.lunaRegistry.getInstance('orders:h:1'))?.downSince, new Date(start + 30_000).toISOString())
  await put('orders:h:1', { status: 'DOWN' })
  const reportedAt = clock.now()
  clock.advance(5000)
  await put('orders:h:1', { status: 'DOWN' })
  t.equal((await app.lunaRegistry.getInstance('orders:h:1'))?.downSince, new Date(reportedAt).toISOString(), 'kept while it stays DOWN')
  await put('orders:h:1', { status: 'OK' })
  t.notOk('downSince' in (await app.lunaRegistry.getInstance('orders:h:1'))!)
})

t.test('the sweeper runs by itself on a timer and stops with the app', async (t) => {
  const clock = manualClock()
  /** A registry sweeping every 10 ms on its own, and how often it has looked. */
  const sweeping = async (): Promise<{ app: Awaited<ReturnType<typeof build>>, sweeps: () => number }> => {
    let sweeps = 0
    const inner = new MemoryStore()
    const store = wrapStore({ claimTimedOut: async (before: number) => { sweeps++; return await inner.claimTimedOut(before) } }, inner)
    const app = await build(t, { store, now: clock.now, heartbeatTimeout: 1000, sweepInterval: 10 })
    return { app, sweeps: () => sweeps }
  }
  const { app, sweeps } = await sweeping()
  const announced = once(app.lunaRegistry, 'status') as Promise<[RegistryEvent]>
  t.equal((await send(app, 'POST', 'orders:h:1', info())).statusCode, 201)
  clock.advance(1000)
  const [event] = await within('the timeout is announced', announced)
  t.match(event, { type: 'status', instanceId: 'orders:h:1', reason: 'timeout' }, 'announced without anyone calling sweep()')

  await app.close()
  const after = sweeps()
  // Another registry on the same pace: while it sweeps five times, the closed one would have too.
  const other = await sweeping()
  await until('the other registry sweeps five times', () => other.sweeps() >= 5 || undefined)
  t.equal(sweeps(), after, 'the closed app\'s sweeper has stopped')
})

t.test('a failing store: the sweeper logs once per outage and keeps going', async (t) => {
  const clock = manualClock()
  let failing = true
  const lines: string[] = []
  const inner = new MemoryStore()
  const store = wrapStore({
    claimTimedOut: async (before: number) => {
      if (failing) throw new Error('store away')
      return await inner.claimTimedOut(before)
    }
  }, inner)
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(line) } } } })
  await app.register(lunaRegistry, { store, now: clock.now })
  await app.ready()
  await app.lunaRegistry.stop()
  t.teardown(() => app.close())
  for (let i = 0; i < 5; i++) await app.lunaRegistry.sweep()
  t.equal(lines.filter((line) => line.includes('sweeping for missed heartbeats failed')).length, 1)
  failing = false
  await app.lunaRegistry.sweep()
  t.equal(lines.filter((line) => line.includes('sweeping works again')).length, 1)
})

t.test('a listener that throws neither fails the request nor loses the other events', async (t) => {
  const { app, clock, events, post } = await setup(t)
  app.lunaRegistry.on('registered', () => { throw new Error('a careless listener') })
  app.lunaRegistry.on('status', () => { throw new Error('a careless listener') })
  t.equal(await post('orders:h:1'), 201, 'the registration stands and is answered')
  t.equal(await post('orders:h:2'), 201)
  clock.advance(30_000)
  await app.lunaRegistry.sweep()
  t.same(summary(events).filter((line) => line.startsWith('status')), [
    'status orders:h:1 OK->DOWN (timeout)',
    'status orders:h:2 OK->DOWN (timeout)'
  ], 'every timeout is still announced to the other listeners')
})
