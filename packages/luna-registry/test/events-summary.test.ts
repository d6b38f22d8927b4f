import t from 'tap'
import { AUTH, info, listen, manualClock, sendOver } from './helpers.js'
import { EventStream } from './sse-client.js'
import { MemoryStore } from '../src/index.js'

t.test('serviceSummaries: each service in figures, the same as its view says, without its instances', async (t) => {
  const clock = manualClock()
  const { app } = await listen(t, { now: clock.now, heartbeatTimeout: 10_000 })
  const registry = app.lunaRegistry
  await registry.stop()
  await registry.register('billing:h1:1', { name: 'billing', version: '2.0.0', status: 'OK', url: 'http://h1/' })
  clock.advance(4000)
  await registry.register('orders:h1:1', { name: 'orders', version: '1.10.0', status: 'OK', url: 'http://h1/', description: 'Takes orders', metadata: { zone: 'a' } })
  await registry.register('orders:h2:1', { name: 'orders', version: '1.9.0', status: 'DOWN', url: 'http://h2/', metadata: { zone: 'b' } })
  await registry.register('billing:h2:1', { name: 'billing', version: '2.0.0', status: 'DOWN', url: 'http://h2/' })
  clock.advance(7000) // billing:h1 times out, after billing:h2 said DOWN
  t.same(await registry.serviceSummaries(), [
    { name: 'billing', status: 'DOWN', online: 0, total: 2, versions: [{ version: '2.0.0', count: 2 }], description: '', downSince: '2026-01-01T00:00:10.000Z' },
    { name: 'orders', status: 'UP', online: 1, total: 2, versions: [{ version: '1.9.0', count: 1 }, { version: '1.10.0', count: 1 }], description: 'Takes orders' }
  ], 'sorted by name; a DOWN service went down when the last of its instances did; versions in natural order')
  for (const summary of await registry.serviceSummaries()) {
    const view = (await registry.getService(summary.name))!
    t.same([summary.status, summary.online, summary.total, summary.description], [view.status, view.instancesOnline, view.instancesTotal, view.description], `${summary.name}: as its view`)
  }
  t.same((await registry.serviceSummaries({ metadata: [['zone', 'b']] })).map((summary) => [summary.name, summary.status, summary.total]), [['orders', 'DOWN', 1]], 'of the instances that match')
  t.same((await registry.serviceSummaries({ service: 'orders' })).map((summary) => summary.name), ['orders'])
  t.same(await registry.serviceSummary('gone'), { name: 'gone', status: 'DOWN', online: 0, total: 0, versions: [], description: '' }, 'a service without instances: total 0')
  await registry.setMaintenance('orders:h1:1', 'disk swap')
  t.match(await registry.serviceSummary('orders'), { status: 'DOWN', online: 0, downSince: '2026-01-01T00:00:11.000Z' }, 'maintenance counts as DOWN, from when it began')
})

t.test('?view=summary: a snapshot of summaries, then one summary per changed service, not every instance', async (t) => {
  const { base } = await listen(t)
  await sendOver(base, 'POST', 'orders:h:1', info('orders', { description: 'Takes orders', metadata: { zone: 'a' } }))
  const stream = await EventStream.open(`${base}/events?view=summary`, AUTH)
  t.teardown(() => stream.close())
  t.equal(stream.response.statusCode, 200)
  const snapshot = await stream.next()
  t.equal(snapshot.event, 'snapshot')
  t.same(snapshot.data, [{ name: 'orders', status: 'UP', online: 1, total: 1, versions: [{ version: '1.0.0', count: 1 }], description: 'Takes orders' }])

  // A burst of changes to one service: one summary, once they are all made.
  await sendOver(base, 'POST', 'orders:h:2', info('orders', { version: '2.0.0' }))
  await sendOver(base, 'POST', 'orders:h:3', info('orders', { version: '2.0.0', status: 'DOWN' }))
  const changed = await stream.next()
  t.equal(changed.event, 'summary', 'a summary, not an instance event')
  t.same(changed.data, { name: 'orders', status: 'UP', online: 2, total: 3, versions: [{ version: '1.0.0', count: 1 }, { version: '2.0.0', count: 2 }], description: 'Takes orders' })
  t.ok(Number(changed.id) >= Number(snapshot.id), 'numbered as the events it sums up')

  await sendOver(base, 'POST', 'billing:h:1', info('billing'))
  t.match(await stream.next(), { event: 'summary', data: { name: 'billing', total: 1 } })
  for (const id of ['orders:h:1', 'orders:h:2', 'orders:h:3']) t.equal(await sendOver(base, 'DELETE', id), 204)
  t.same((await stream.next()).data, { name: 'orders', status: 'DOWN', online: 0, total: 0, versions: [], description: '' }, 'a service gone: total 0')
  t.same(stream.pending(), [], 'nothing else')
})

t.test('?view=summary with ?service= and metadata: only that service, of the matching instances', async (t) => {
  const { base } = await listen(t)
  await sendOver(base, 'POST', 'orders:h:1', info('orders', { metadata: { zone: 'a' } }))
  await sendOver(base, 'POST', 'orders:h:2', info('orders', { metadata: { zone: 'b' } }))
  await sendOver(base, 'POST', 'billing:h:1', info('billing', { metadata: { zone: 'a' } }))
  const stream = await EventStream.open(`${base}/events?view=summary&service=orders&metadata.zone=a`, AUTH)
  t.teardown(() => stream.close())
  t.match((await stream.next('snapshot')).data, [{ name: 'orders', total: 1 }])
  await sendOver(base, 'POST', 'billing:h:2', info('billing', { metadata: { zone: 'a' } }))
  await sendOver(base, 'PUT', 'orders:h:2', info('orders', { metadata: { zone: 'a' } }))
  t.match((await stream.next()).data, { name: 'orders', total: 2 }, 'an instance that comes to match counts')
  t.same(stream.pending(), [], 'no summary of billing')
})

t.test('?view= is validated', async (t) => {
  const { base } = await listen(t)
  const bad = await fetch(`${base}/events?view=everything`, { headers: AUTH })
  t.equal(bad.status, 400)
  t.match(await bad.json(), { code: 'FST_ERR_VALIDATION', message: /querystring\/view/ })
  const instances = await EventStream.open(`${base}/events?view=instances`, AUTH)
  t.teardown(() => instances.close())
  t.equal((await instances.next()).event, 'snapshot', '?view=instances is the default stream')
})

t.test('a summary stream gets protection events as they come, and a fresh snapshot of summaries on a resync', async (t) => {
  const store = new MemoryStore()
  const { app, base } = await listen(t, { store })
  await sendOver(base, 'POST', 'orders:h:1', info('orders'))
  await sendOver(base, 'POST', 'ledger:h:1', info('ledger'))
  const stream = await EventStream.open(`${base}/events?view=summary`, AUTH)
  t.teardown(() => stream.close())
  t.equal((await stream.next('snapshot')).data instanceof Array, true)
  // Gone without an event, as in a shared store that lost it.
  t.equal(await store.remove('ledger:h:1'), true)
  app.lunaRegistry.emit('resync')
  const fresh = await stream.next()
  t.equal(fresh.event, 'snapshot')
  t.match(fresh.data, [{ name: 'orders', total: 1 }])
  t.equal((fresh.data as unknown[]).length, 1, 'without what the store no longer has')
})

t.test('a summary that cannot be read ends the summary stream; its client reconnects to a snapshot', async (t) => {
  const store = new MemoryStore()
  const { app, base } = await listen(t, { store })
  await sendOver(base, 'POST', 'orders:h:1', info('orders'))
  const stream = await EventStream.open(`${base}/events?view=summary`, AUTH)
  t.teardown(() => stream.close())
  await stream.next('snapshot')
  const list = store.list.bind(store)
  store.list = async () => { throw new Error('the store is away') }
  t.teardown(() => { store.list = list })
  await app.lunaRegistry.heartbeat('orders:h:1', info('orders', { version: '2.0.0' }) as never)
  await t.rejects(stream.next(undefined, 2000), /ended/)
})

t.test('a fresh snapshot of summaries that cannot be read ends the summary stream', async (t) => {
  const store = new MemoryStore()
  const { app, base } = await listen(t, { store })
  await sendOver(base, 'POST', 'orders:h:1', info('orders'))
  const stream = await EventStream.open(`${base}/events?view=summary`, AUTH)
  t.teardown(() => stream.close())
  await stream.next('snapshot')
  const list = store.list.bind(store)
  store.list = async () => { throw new Error('the store is away') }
  t.teardown(() => { store.list = list })
  app.lunaRegistry.emit('resync')
  await t.rejects(stream.next(undefined, 2000), /ended/)
})
