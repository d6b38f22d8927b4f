import t, { type Test } from 'tap'
import { DEFAULT_PROTECTION_MAX_DURATION, isGuardStore, LunaRegistry, MemoryStore, STORE_METHODS, type ProtectionState, type RegistryEvent, type RegistryStore } from '../src/index.js'
import { AUTH, build, info, listen, manualClock, PREFIX, recordEvents, send, wrapStore } from './helpers.js'
import { EventStream } from './sse-client.js'

type Build = Parameters<typeof build>

/** A registry on a hand-moved clock, swept by hand, with `count` instances of `orders` registered. */
async function setup (t: Test, count: number, options: Build[1] = {}): Promise<{
  app: Awaited<ReturnType<typeof build>>
  clock: ReturnType<typeof manualClock>
  events: RegistryEvent[]
  ids: string[]
  beat: (ids: string[]) => Promise<void>
}> {
  const clock = options.now === undefined ? manualClock() : { now: options.now, advance: () => { throw new Error('the caller moves its clock') } }
  const app = await build(t, { heartbeatTimeout: 30_000, evictAfter: 60_000, ...options, now: clock.now })
  await app.lunaRegistry.stop()
  const ids = Array.from({ length: count }, (_, i) => `orders:h${i}:80`)
  for (const id of ids) await send(app, 'POST', id, info('orders'))
  const events = recordEvents(app.lunaRegistry)
  const beat = async (beating: string[]): Promise<void> => {
    for (const id of beating) t.equal((await send(app, 'PUT', id, info('orders'))).statusCode, 200)
  }
  return { app, clock, events, ids, beat }
}

const protections = (events: RegistryEvent[]): unknown[] => events.flatMap((event) =>
  event.type === 'protection' ? [{ active: event.active, timedOut: event.timedOut, of: event.of }] : [])

const evicted = (events: RegistryEvent[]): string[] => events.flatMap((event) => event.type === 'evicted' ? [event.instanceId] : [])

t.test('more than half of ten timing out together turns protection on: statuses stay exact, nothing is evicted', async (t) => {
  const { app, clock, events, ids, beat } = await setup(t, 10)
  clock.advance(20_000)
  await beat(ids.slice(6))
  clock.advance(10_000)
  await app.lunaRegistry.sweep()
  t.equal(events.filter((event) => event.type === 'status' && event.reason === 'timeout').length, 6, 'six DOWN at once, as ever')
  t.same(protections(events), [{ active: true, timedOut: 6, of: 10 }])
  const on = events.find((event) => event.type === 'protection')!
  t.match(on, { type: 'protection', active: true, since: new Date(clock.now()).toISOString(), reason: /6 of 10 instances \(60%\) missed their heartbeat within 30s, more than the 50% threshold/ })
  t.notOk('service' in on, 'the registry\'s event, not an instance\'s')
  t.match(app.lunaRegistry.protection, { active: true, timedOut: 6, of: 10 })

  // Well past evictAfter: nothing goes while protection is on.
  for (let i = 0; i < 10; i++) {
    clock.advance(15_000)
    await beat(ids.slice(6))
    await app.lunaRegistry.sweep()
  }
  t.same(evicted(events), [], 'not evicted while protection is on')
  t.equal((await app.lunaRegistry.listInstances({ status: 'DOWN' })).length, 6, 'still DOWN')

  // Two of the six come back: 4 of 10 timed out, under the threshold. While on, the share is
  // counted once a second at most.
  await beat([...ids.slice(0, 2), ...ids.slice(6)])
  await app.lunaRegistry.sweep()
  t.equal(protections(events).length, 1, 'not counted again within the second')
  clock.advance(1000)
  await app.lunaRegistry.sweep()
  t.same(protections(events).at(-1), { active: false, timedOut: undefined, of: undefined })
  t.match(events.at(-5), { type: 'protection', active: false, reason: /instances are back: 4 of 10 instances \(40%\) still timed out/ })
  t.same(evicted(events), ['orders:h2:80', 'orders:h3:80', 'orders:h4:80', 'orders:h5:80'], 'eviction resumes once it is off, for those long gone')
})

t.test('fewer than five timeouts never turn protection on, whatever their share', async (t) => {
  const { app, clock, events } = await setup(t, 4)
  clock.advance(30_000)
  await app.lunaRegistry.sweep()
  t.same(protections(events), [], 'four of four: no protection')
  clock.advance(60_000)
  await app.lunaRegistry.sweep()
  t.equal(evicted(events).length, 4, 'evicted as usual')
})

t.test('timeouts spread over more than a heartbeatTimeout do not add up', async (t) => {
  const { app, clock, events, ids, beat } = await setup(t, 10)
  // Three go quiet now, three more a timeout later: never more than three within one window.
  clock.advance(15_000)
  await beat(ids.slice(3))
  clock.advance(15_000)
  await app.lunaRegistry.sweep()
  clock.advance(15_000)
  await beat(ids.slice(6))
  clock.advance(16_000)
  await app.lunaRegistry.sweep()
  t.equal((await app.lunaRegistry.listInstances({ status: 'DOWN' })).length, 6)
  t.same(protections(events), [])
})

t.test('exactly the threshold is not more than it', async (t) => {
  const { app, clock, events, ids, beat } = await setup(t, 10)
  clock.advance(20_000)
  await beat(ids.slice(5))
  clock.advance(10_000)
  await app.lunaRegistry.sweep()
  t.same(protections(events), [], 'five of ten is not more than half')
})

t.test('protectionThreshold 0 never turns protection on', async (t) => {
  const { app, clock, events } = await setup(t, 10, { protectionThreshold: 0 })
  clock.advance(30_000)
  await app.lunaRegistry.sweep()
  clock.advance(60_000)
  await app.lunaRegistry.sweep()
  t.same(protections(events), [])
  t.equal(evicted(events).length, 10)
})

t.test('protection ends after protectionMaxDuration, and the same timeouts do not turn it on again', async (t) => {
  const { app, clock, events } = await setup(t, 10, { protectionMaxDuration: '5m' })
  clock.advance(30_000)
  await app.lunaRegistry.sweep()
  t.same(protections(events), [{ active: true, timedOut: 10, of: 10 }])
  clock.advance(5 * 60_000 - 1)
  await app.lunaRegistry.sweep()
  t.equal(protections(events).length, 1, 'on until the end of its longest duration')
  clock.advance(1)
  await app.lunaRegistry.sweep()
  t.match(events.find((event) => event.type === 'protection' && !event.active), { reason: /protectionMaxDuration \(5m\)/ })
  t.equal(evicted(events).length, 10, 'a datacenter that really died is cleaned up')
  t.same(app.lunaRegistry.protection, { active: false })
})

t.test('an operator ends protection with DELETE /protection; the summary shows it throughout', async (t) => {
  const { app, clock, events, ids } = await setup(t, 10)
  const summary = async (): Promise<Record<string, unknown>> => (await app.inject({ method: 'GET', url: `${PREFIX}/summary`, headers: AUTH })).json()
  t.same(await summary(), { services: 1, servicesUp: 1, instances: 10, instancesOnline: 10, protection: { active: false } })
  clock.advance(30_000)
  await app.lunaRegistry.sweep()
  t.match(await summary(), {
    services: 1,
    servicesUp: 0,
    instances: 10,
    instancesOnline: 0,
    protection: { active: true, since: new Date(clock.now()).toISOString(), reason: /10 of 10 instances/, timedOut: 10, of: 10 }
  })
  t.equal((await app.inject({ method: 'DELETE', url: `${PREFIX}/protection` })).statusCode, 401, 'behind the auth')
  const ended = await app.inject({ method: 'DELETE', url: `${PREFIX}/protection`, headers: AUTH })
  t.equal(ended.statusCode, 200)
  t.same(ended.json(), { active: false })
  t.match(events.at(-1), { type: 'protection', active: false, reason: /an operator ended it/ })
  clock.advance(60_000)
  await app.lunaRegistry.sweep()
  t.same(protections(events).length, 2, 'the timeouts it was ended over do not turn it on again')
  t.same(evicted(events).sort(), ids.slice().sort())
  const again = await app.inject({ method: 'DELETE', url: `${PREFIX}/protection`, headers: AUTH })
  t.same(again.json(), { active: false }, 'ending it when it is off changes nothing')
  t.equal(protections(events).length, 2)
})

t.test('protection is announced on the event stream, to every subscriber, and logged', async (t) => {
  const clock = manualClock()
  const lines: Array<Record<string, unknown>> = []
  const { app, base } = await listen(t, { now: clock.now, heartbeatTimeout: 30_000 })
  await app.lunaRegistry.stop()
  app.log.warn = ((object: Record<string, unknown>, message: string) => { lines.push({ ...object, message }) }) as never
  app.log.info = ((object: Record<string, unknown>, message: string) => { lines.push({ ...object, message }) }) as never
  for (let i = 0; i < 6; i++) await send(app, 'POST', `orders:h${i}:80`, info('orders'))
  const all = await EventStream.open(`${base}/events`, AUTH)
  const billing = await EventStream.open(`${base}/events?service=billing`, AUTH)
  t.teardown(() => { all.close(); billing.close() })
  await all.next('snapshot')
  await billing.next('snapshot')
  clock.advance(30_000)
  await app.lunaRegistry.sweep()
  for (const stream of [all, billing]) {
    const event = await stream.next('protection')
    t.match(event.data, { type: 'protection', active: true, timedOut: 6, of: 6 })
  }
  t.match(lines.find((line) => /protection is on/.test(String(line['message']))), { timedOut: 6, of: 6, message: /mass-expiry protection is on: 6 of 6 instances/ })
  await fetch(`${base}/protection`, { method: 'DELETE', headers: AUTH })
  t.match((await all.next('protection')).data, { active: false })
  t.ok(lines.some((line) => /protection is off: an operator ended it/.test(String(line['message']))))
})

t.test('restart grace: a registry that was away gives every instance a heartbeatTimeout from its return', async (t) => {
  const clock = manualClock()
  const store = new MemoryStore()
  const first = await build(t, { now: clock.now, store, heartbeatTimeout: 30_000 })
  await first.lunaRegistry.stop()
  await send(first, 'POST', 'orders:gone:80', info('orders'))
  clock.advance(30_000)
  await first.lunaRegistry.sweep()
  t.equal((await first.lunaRegistry.getInstance('orders:gone:80'))?.status, 'DOWN', 'timed out before the registry went away')
  await send(first, 'POST', 'orders:quiet:80', info('orders'))
  await send(first, 'POST', 'orders:back:80', info('orders'))
  await first.close()

  // Away for longer than the timeout: every deadline passed meanwhile.
  clock.advance(45_000)
  const second = await build(t, { now: clock.now, store, heartbeatTimeout: 30_000 })
  await second.lunaRegistry.stop()
  const events = recordEvents(second.lunaRegistry)
  const status = async (id: string): Promise<string | undefined> => (await second.lunaRegistry.getInstance(id))?.status
  t.equal(await status('orders:quiet:80'), 'OK', 'not blamed for the registry\'s absence')
  t.equal(await status('orders:back:80'), 'OK')
  t.equal(await status('orders:gone:80'), 'DOWN', 'a timeout announced before the absence stands')
  t.equal(second.lunaRegistry.graceUntil, clock.now() + 30_000)
  const picked = await second.inject({ method: 'GET', url: `${PREFIX}/services/orders/pick`, headers: AUTH })
  t.equal(picked.statusCode, 200)

  clock.advance(20_000)
  await send(second, 'PUT', 'orders:back:80', info('orders'))
  await second.lunaRegistry.sweep()
  t.same(events.filter((event) => event.type === 'status'), [], 'nothing times out within the grace')
  clock.advance(9_999)
  await second.lunaRegistry.sweep()
  t.equal(await status('orders:quiet:80'), 'OK', 'until a heartbeatTimeout after the return')
  clock.advance(1)
  await second.lunaRegistry.sweep()
  t.equal(await status('orders:quiet:80'), 'DOWN', 'silent past the grace: DOWN as usual')
  t.equal(await status('orders:back:80'), 'OK', 'the one that heartbeat stays')
  t.same(events.flatMap((event) => event.type === 'status' ? [`${event.instanceId} ${event.reason}`] : []), ['orders:quiet:80 timeout'])
  t.equal(second.lunaRegistry.graceUntil, undefined)
})

t.test('a registry started on a store nobody swept before gives no grace', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now, heartbeatTimeout: 30_000 })
  await app.lunaRegistry.stop()
  t.equal(app.lunaRegistry.graceUntil, undefined)
})

t.test('a store that failed and answers again brings a grace', async (t) => {
  const clock = manualClock()
  const inner = new MemoryStore()
  let failing = false
  const store = new Proxy(inner, {
    get (target, key) {
      const value = Reflect.get(target, key, target) as unknown
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => failing && key !== 'close' ? Promise.reject(new Error('store away')) : (value as Function).apply(target, args)
    }
  })
  const app = await build(t, { now: clock.now, store, heartbeatTimeout: 30_000 })
  await app.lunaRegistry.stop()
  await send(app, 'POST', 'orders:h:80', info('orders'))
  failing = true
  clock.advance(5_000)
  await app.lunaRegistry.sweep()
  clock.advance(40_000)
  failing = false
  t.equal(app.lunaRegistry.graceUntil, undefined, 'not before a sweep finds the store back')
  await app.lunaRegistry.sweep()
  t.equal(app.lunaRegistry.graceUntil, clock.now() + 30_000)
  t.equal((await app.lunaRegistry.getInstance('orders:h:80'))?.status, 'OK')
})

t.test('the panel shows protection at once when a page is loaded while it is on, and why', async (t) => {
  const { app, clock } = await setup(t, 6)
  const page = async (): Promise<string> => (await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: { ...AUTH, accept: 'text/html' } })).body
  t.match(await page(), /<div class="protection" id="protection" role="status" aria-live="polite" hidden>/, 'hidden while off')
  clock.advance(30_000)
  await app.lunaRegistry.sweep()
  const html = await page()
  t.match(html, /<div class="protection" id="protection" role="status" aria-live="polite">/)
  t.match(html, /Mass-expiry protection is on<\/strong><span id="protection-since"> since <time datetime="2026-01-01T00:00:30.000Z">2026-01-01 00:00:30 UTC<\/time><\/span>: <span id="protection-reason">6 of 6 instances \(100%\) missed their heartbeat/)
  t.match(html, /id="protection-end">End protection<\/button>/)
  const service = (await app.inject({ method: 'GET', url: `${PREFIX}/services/orders`, headers: { ...AUTH, accept: 'text/html' } })).body
  t.match(service, /Mass-expiry protection is on/, 'on every page')
})

t.test('a change another process made first is adopted, not announced again', async (t) => {
  const clock = manualClock()
  const inner = new MemoryStore()
  const store = wrapStore({
    // Another replica turns protection on between this one's read and its swap.
    swapProtection: async (expected: number, next: ProtectionState) => {
      await inner.swapProtection(expected, { ...next, reason: 'the other replica\'s' })
      return await inner.swapProtection(expected, next)
    }
  } as never, inner)
  const { app, events } = await setup(t, 6, { now: clock.now, store })
  clock.advance(30_000)
  await app.lunaRegistry.sweep()
  t.same(protections(events), [], 'the other replica announced it')
  t.match(app.lunaRegistry.protection, { active: true, reason: 'the other replica\'s' })
})

t.test('a store that keeps no guards gets the process\'s own', async (t) => {
  const inner = new MemoryStore()
  const store = Object.fromEntries(STORE_METHODS.map((method) => [method, inner[method].bind(inner)])) as unknown as RegistryStore
  const { app, clock, events } = await setup(t, 6, { store })
  t.notOk(isGuardStore(store))
  await app.lunaRegistry.setMaintenance('orders:h0:80', 'disk swap')
  t.match(await app.lunaRegistry.getInstance('orders:h0:80'), { status: 'DOWN', maintenance: { reason: 'disk swap' } })
  clock.advance(30_000)
  await app.lunaRegistry.sweep()
  t.same(protections(events), [{ active: true, timedOut: 5, of: 5 }], 'the held one is no timeout')
})

t.test('a registry made in process without the protection settings gets the defaults', async (t) => {
  const clock = manualClock()
  const registry = new LunaRegistry({ store: new MemoryStore(), heartbeatTimeout: 30_000, evictAfter: 0, sweepInterval: 250, now: clock.now })
  for (let i = 0; i < 6; i++) await registry.register(`orders:h${i}:80`, info('orders') as never)
  clock.advance(30_000)
  await registry.sweep()
  t.match(registry.protection, { active: true, timedOut: 6, of: 6 })
  clock.advance(DEFAULT_PROTECTION_MAX_DURATION)
  await registry.sweep()
  t.same(registry.protection, { active: false })
})
