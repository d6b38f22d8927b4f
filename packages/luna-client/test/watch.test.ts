import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { until, within } from '../../../test-support/until.js'
import { createLunaClient, LunaNetworkError, type LunaClientError, type ServiceView, type WatchEvent } from '../src/index.js'
import { freePort, instanceInfo, next, startRegistry, TestRegistry, watchRejections } from './helpers.js'

/** The views without the heartbeat time, which a heartbeat that changes nothing does not announce. */
function comparable (services: ServiceView[]): unknown {
  return services.map((service) => ({ ...service, instances: service.instances.map(({ lastHeartbeat, ...rest }) => rest) }))
}

t.test('watch sees registrations, status changes and departures, and keeps the registry\'s list', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  const changes: WatchEvent[] = []
  const watcher = client.watch((services, event) => { changes.push(event) })
  t.teardown(async () => { await client.close() })
  t.same(await watcher.ready(), [], 'the first snapshot: an empty registry')
  t.ok(watcher.connected)
  t.same(changes.map((event) => event.type), ['snapshot'])

  const orders = client.register({ ...instanceInfo, description: 'Takes orders' }, { heartbeatInterval: 60_000 })
  const [afterRegistration, registered] = await next<[ServiceView[], WatchEvent]>(watcher, 'change')
  t.match(registered, { type: 'registered', created: true, instanceId: 'orders:127.0.0.1:8080' })
  t.match(afterRegistration, [{ name: 'orders', status: 'UP', instancesOnline: 1, description: 'Takes orders' }])

  const billing = client.register({ ...instanceInfo, name: 'billing', url: 'http://127.0.0.1:9000/' }, { heartbeatInterval: 60_000 })
  await billing.ready()
  await orders.setStatus('DOWN')
  await until('the watcher sees orders DOWN', () => watcher.current().find((service) => service.name === 'orders')?.status === 'DOWN' ? true : undefined, 2000)
  t.match(changes.find((event) => event.type === 'status'), { type: 'status', previous: 'OK', status: 'DOWN', reason: 'reported' })
  t.same(watcher.current().map((service) => service.name), ['billing', 'orders'], 'sorted by name')
  t.same(comparable(watcher.current()), comparable(await client.services()), 'the same list the registry gives')

  await orders.deregister()
  await until('the watcher sees orders leave', () => watcher.current().length === 1 ? true : undefined, 2000)
  t.match(changes.at(-1), { type: 'deregistered', instanceId: 'orders:127.0.0.1:8080' })
  t.same(comparable(watcher.current()), comparable(await client.services()))
  t.not(afterRegistration, watcher.current(), 'every change makes a new list: one a listener kept stays as it was')
  t.equal(afterRegistration[0]?.status, 'UP')
})

t.test('watch(name) follows one service', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  t.teardown(async () => { await client.close() })
  const other = client.register({ ...instanceInfo, name: 'billing' }, { heartbeatInterval: 60_000 })
  await other.ready()
  const seen: string[] = []
  let ordersDown = false
  const watcher = client.watch('orders', (services, event) => {
    seen.push(`${event.type}:${services.map((service) => service.name).join(',')}`)
    if (event.type === 'status' && event.instanceId === 'orders:127.0.0.1:8080') ordersDown = true
  })
  t.equal(watcher.service, 'orders')
  t.same(await watcher.ready(), [], 'billing is not in the snapshot')
  const orders = client.register(instanceInfo, { heartbeatInterval: 60_000 })
  await orders.ready()
  await other.setStatus('DOWN')
  // A change of orders after billing's: once it is seen, billing's would have been too.
  await orders.setStatus('DOWN')
  await until('orders is seen DOWN', () => ordersDown || undefined, 5000)
  t.same(seen, ['snapshot:', 'registered:orders', 'status:orders'], 'billing\'s changes are not sent')
})

t.test('watch survives a registry restart: the last list stays while it is away, the new snapshot replaces it', async (t) => {
  const rejections = watchRejections()
  t.teardown(rejections.stop)
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  t.teardown(async () => { await client.close() })
  const watcher = client.watch(undefined, undefined, { backoff: { initialDelay: 50, maxDelay: 200 } })
  await watcher.ready()
  // Keeps itself registered, so it comes back after the restart...
  const handle = client.register(instanceInfo, { heartbeatInterval: 150 })
  await handle.ready()
  // ...while this one registered once, by hand, does not.
  const once = createLunaClient(registry.url).register({ ...instanceInfo, name: 'batch' }, { heartbeatInterval: 60_000 })
  await once.ready()
  await until('both are seen', () => watcher.current().length === 2 ? true : undefined, 2000)
  const before = watcher.current()

  const disconnected = next<[{ error: LunaClientError | undefined, retryIn: number }]>(watcher, 'disconnected')
  await registry.stop()
  const [{ retryIn }] = await disconnected
  t.notOk(watcher.connected)
  t.ok(retryIn >= 2000, `honours the stream's retry hint: ${retryIn} ms`)
  t.equal(watcher.current(), before, 'the last known list stays')

  await registry.start()
  const [services] = await next<[ServiceView[]]>(watcher, 'connected', 5000)
  t.ok(watcher.connected)
  t.notOk(services.some((service) => service.name === 'batch'), 'the new snapshot replaces the list: batch is gone')
  await until('orders is back in the list', () => watcher.current().some((service) => service.name === 'orders') ? true : undefined, 2000)
  t.same(comparable(watcher.current()), comparable(await client.services()))
  t.same(rejections.seen, [])
  await once.deregister()
})

t.test('a fresh snapshot mid-stream replaces the list on the same connection: no reconnection is reported', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  t.teardown(async () => { await client.close() })
  const watcher = client.watch()
  await watcher.ready()
  const connections: string[] = []
  watcher.on('connected', () => connections.push('connected'))
  watcher.on('disconnected', () => connections.push('disconnected'))
  await client.register(instanceInfo, { heartbeatInterval: 60_000 }).ready()
  await until('orders is seen', () => watcher.current().length === 1 ? true : undefined, 2000)

  // Gone without an event, as in a Redis that lost its data; the registry then resyncs its streams.
  const core = registry.app!.lunaRegistry
  await core.store.remove('orders:127.0.0.1:8080')
  core.emit('resync')
  const [services, event] = await next<[ServiceView[], WatchEvent]>(watcher, 'change')
  t.equal(event.type, 'snapshot')
  t.same(services, [], 'the list is what the registry has now')
  t.same(watcher.current(), [])
  t.ok(watcher.connected)
  t.same(connections, [], 'the stream never broke: neither disconnected nor connected again')

  await client.register({ ...instanceInfo, name: 'billing' }, { heartbeatInterval: 60_000 }).ready()
  await until('changes apply on top of the fresh snapshot', () => watcher.current()[0]?.name === 'billing' ? true : undefined, 2000)
})

t.test('watching an unreachable registry: errors with backoff, ready() waits, then the snapshot', async (t) => {
  const rejections = watchRejections()
  t.teardown(rejections.stop)
  const port = await freePort()
  const client = createLunaClient(`http://ops:${encodeURIComponent('s3:cr/et@')}@127.0.0.1:${port}`)
  const watcher = client.watch('orders', undefined, { backoff: { initialDelay: 40, maxDelay: 160 }, jitter: 0 })
  t.teardown(async () => { await client.close() })
  const retries: number[] = []
  watcher.on('error', (error, { retryIn }) => {
    t.ok(error instanceof LunaNetworkError)
    retries.push(retryIn)
  })
  const ready = watcher.ready()
  await until('four failed attempts', () => retries.length >= 4 ? true : undefined, 2000)
  t.same(retries.slice(0, 4), [40, 80, 160, 160])

  const registry = new TestRegistry()
  registry.port = port
  await registry.start()
  t.teardown(async () => { await registry.stop() })
  t.same(await ready, [])
  t.same(rejections.seen, [])
})

t.test('close() ends the stream and the reconnecting; ready() rejects if it never connected', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  const watcher = client.watch()
  await watcher.ready()
  const open = client.watch()
  await open.ready()
  watcher.close()
  t.ok(watcher.closed)
  t.notOk(watcher.connected)
  let events = 0
  watcher.on('change', () => { events++ })
  const seen = next(open, 'change')
  await client.register(instanceInfo, { heartbeatInterval: 60_000 }).ready()
  await seen
  t.equal(events, 0, 'a watcher still open saw the registration; the closed one did not')
  await client.close()

  const never = createLunaClient(`http://127.0.0.1:${await freePort()}`).watch()
  const ready = never.ready()
  never.close()
  await t.rejects(ready, /closed before its first snapshot/)
})

t.test('a stream that goes silent is reopened', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  t.teardown(async () => { await client.close() })
  // The registry's keep-alive comes every 15 s: a 300 ms idle limit sees silence.
  const watcher = client.watch(undefined, undefined, { idleTimeout: 300 })
  await watcher.ready()
  const [{ error }] = await next<[{ error: LunaClientError | undefined }]>(watcher, 'disconnected', 2000)
  t.match(error, { name: 'LunaNetworkError', code: 'LUNA_CLIENT_TIMEOUT', message: /silent for 300 ms/ })
})

t.test('closing a watcher leaves no connection behind: the registry can close at once', async (t) => {
  const registry = await startRegistry(t)
  const server = registry.app!.server
  const client = createLunaClient(registry.url)
  const watcher = client.watch()
  await watcher.ready()
  watcher.close()
  await until('the stream\'s connection is gone', async () => {
    const count = await new Promise<number>((resolve, reject) => server.getConnections((error, count) => { if (error === null) resolve(count); else reject(error) }))
    return count === 0 ? true : undefined
  }, 2000)
  await within('the registry closes', registry.stop())
  t.pass('nothing held it open')
})

t.test('with a fetch of one\'s own, the stream is read through it', async (t) => {
  const registry = await startRegistry(t)
  const urls: string[] = []
  const recording: typeof fetch = async (input, init) => {
    urls.push(String(input))
    return await fetch(input, init)
  }
  const client = createLunaClient({ url: registry.url, fetch: recording })
  const watcher = client.watch('orders')
  t.same(await watcher.ready(), [])
  await client.register(instanceInfo, { heartbeatInterval: 60_000 }).ready()
  const [services, event] = await next<[ServiceView[], WatchEvent]>(watcher, 'change')
  t.equal(event.type, 'registered')
  t.equal(services[0]?.instancesTotal, 1)
  t.equal(urls[0], `${client.url}/events?service=orders`)
  // The registry ends the stream first: an aborted fetch would leave it a spare connection to wait for.
  await registry.stop()
  await client.close()
})

t.test('a refused stream (wrong credentials) is an error with the registry\'s code, retried', async (t) => {
  const registry = await startRegistry(t)
  for (const fetchOption of [undefined, fetch]) {
    const client = createLunaClient({ url: `http://ops:nope@127.0.0.1:${registry.port}`, fetch: fetchOption })
    const watcher = client.watch(undefined, undefined, { backoff: { initialDelay: 20 }, jitter: 0 })
    const [error, { retryIn }] = await next<[LunaClientError, { retryIn: number }]>(watcher, 'error')
    t.match(error, { name: 'LunaError', statusCode: 401 }, fetchOption === undefined ? 'over node:http' : 'over fetch')
    t.equal(retryIn, 20)
    await client.close()
  }
})

t.test('a stream that breaks the protocol is reopened, and the next snapshot puts the list right', async (t) => {
  let connections = 0
  const fake = createServer((request, response) => {
    connections++
    response.writeHead(200, { 'content-type': 'text/event-stream' })
    if (connections === 1) response.write('event: snapshot\ndata: {not json\n\n')
    else response.write('retry: 10\nid: 4\nevent: snapshot\ndata: []\n\n')
  })
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { fake.closeAllConnections(); fake.close() })
  const watcher = createLunaClient(`http://127.0.0.1:${(fake.address() as AddressInfo).port}`).watch(undefined, undefined, { backoff: { initialDelay: 10 } })
  t.teardown(() => { watcher.close() })
  const [error] = await next<[LunaClientError]>(watcher, 'error')
  t.match(error, { name: 'LunaError', code: 'LUNA_CLIENT_UNEXPECTED_RESPONSE', message: /snapshot event that is not JSON/ })
  const [, event] = await next<[ServiceView[], WatchEvent]>(watcher, 'change')
  t.same(event, { type: 'snapshot', id: 4, services: [] })
  t.ok(watcher.connected)
})

t.test('watch follows maintenance holds', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  t.teardown(async () => { await client.close() })
  const changes: WatchEvent[] = []
  const watcher = client.watch((_services, event) => { changes.push(event) })
  await watcher.ready()
  const orders = client.register(instanceInfo, { heartbeatInterval: 60_000 })
  await orders.ready()
  await registry.app!.lunaRegistry.setMaintenance('orders:127.0.0.1:8080', 'disk swap')
  await until('the watcher sees the hold', () => watcher.current()[0]?.instances[0]?.maintenance)
  t.match(watcher.current()[0], { status: 'DOWN', instances: [{ status: 'DOWN', maintenance: { reason: 'disk swap' } }] })
  t.ok(changes.some((event) => event.type === 'maintenance'))
  await registry.app!.lunaRegistry.liftMaintenance('orders:127.0.0.1:8080')
  await until('the watcher sees it lifted', () => watcher.current()[0]?.status === 'UP' ? true : undefined)
  t.equal(watcher.current()[0]?.instances[0]?.maintenance, undefined)
  await orders.deregister()
})

t.test('a protection event reaches the watcher and leaves its list as it was', async (t) => {
  const registry = await startRegistry(t, { heartbeatTimeout: 300 })
  const client = createLunaClient(registry.url)
  t.teardown(async () => { await client.close() })
  const lists: Array<[ServiceView[], WatchEvent]> = []
  const watcher = client.watch((services, event) => { lists.push([services, event]) })
  await watcher.ready()
  // Five instances that never heartbeat: a mass timeout.
  for (let i = 0; i < 5; i++) await registry.app!.lunaRegistry.register(`orders:10.0.0.${i}:80`, { ...instanceInfo, url: `http://10.0.0.${i}:80/` })
  const index = await until('protection turns on', () => { const i = lists.findIndex(([, event]) => event.type === 'protection'); return i === -1 ? undefined : i })
  t.match(lists[index]![1], { type: 'protection', active: true, timedOut: 5, of: 5 })
  t.same(lists[index]![0], lists[index - 1]![0], 'the list the event brings is the one before it')
  t.same(watcher.current()[0]?.instances.map((instance) => instance.status), ['DOWN', 'DOWN', 'DOWN', 'DOWN', 'DOWN'])
})
