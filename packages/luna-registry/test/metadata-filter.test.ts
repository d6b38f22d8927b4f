import t from 'tap'
import { matchesMetadata, MemoryStore, metadataFilterOf, StoreUnavailableError, type ListFilter } from '../src/index.js'
import { until } from '../../../test-support/until.js'
import { AUTH, build, info, listen, PREFIX, send, wrapStore } from './helpers.js'
import { EventStream } from './sse-client.js'

async function setup (t: Parameters<typeof build>[0]): Promise<Awaited<ReturnType<typeof build>>> {
  const app = await build(t)
  await send(app, 'POST', 'orders:eu1:80', info('orders', { metadata: { zone: 'eu-1', tier: 'gold' } }))
  await send(app, 'POST', 'orders:eu2:80', info('orders', { metadata: { zone: 'eu-1' } }))
  await send(app, 'POST', 'orders:us1:80', info('orders', { metadata: { zone: 'us-1', tier: 'gold' } }))
  await send(app, 'POST', 'billing:eu1:80', info('billing', { metadata: { zone: 'eu-1' } }))
  return app
}

async function get (app: Awaited<ReturnType<typeof build>>, url: string): Promise<{ statusCode: number, body: any }> {
  const res = await app.inject({ method: 'GET', url: `${PREFIX}${url}`, headers: AUTH })
  return { statusCode: res.statusCode, body: res.json() }
}

const ids = (views: Array<{ instanceId: string }>): string[] => views.map((view) => view.instanceId)

t.test('GET /instances?metadata.KEY=VALUE: every entry must match', async (t) => {
  const app = await setup(t)
  t.same(ids((await get(app, '/instances?metadata.zone=eu-1')).body), ['billing:eu1:80', 'orders:eu1:80', 'orders:eu2:80'])
  t.same(ids((await get(app, '/instances?metadata.zone=eu-1&metadata.tier=gold')).body), ['orders:eu1:80'])
  t.same(ids((await get(app, '/instances?service=orders&metadata.tier=gold')).body), ['orders:eu1:80', 'orders:us1:80'])
  t.same((await get(app, '/instances?metadata.zone=eu-1&metadata.zone=us-1')).body, [], 'one key twice: both must hold, none can')
  t.same((await get(app, '/instances?metadata.zone=')).body, [], 'an empty value matches only an empty value')
  t.same((await get(app, '/instances?metadata.constructor=x')).body, [], 'only the metadata\'s own keys')
})

t.test('GET /services/{name} and /services?metadata.…: only the matching instances, figures recounted', async (t) => {
  const app = await setup(t)
  const service = (await get(app, '/services/orders?metadata.zone=eu-1')).body
  t.match(service, { name: 'orders', instancesTotal: 2, instancesOnline: 2 })
  t.same(ids(service.instances), ['orders:eu1:80', 'orders:eu2:80'])
  t.match((await get(app, '/services/orders?metadata.zone=ap-1')).body, { instancesTotal: 0, status: 'DOWN', instances: [] }, 'the service exists; no instance matches')
  t.equal((await get(app, '/services/nobody?metadata.zone=eu-1')).statusCode, 404)
  const list = (await get(app, '/services?metadata.tier=gold')).body as Array<{ name: string, instancesTotal: number }>
  t.same(list.map((one) => [one.name, one.instancesTotal]), [['orders', 2]])
})

t.test('GET /services/{name}/pick?metadata.zone=…: zone-aware picks', async (t) => {
  const app = await setup(t)
  for (let i = 0; i < 4; i++) t.equal((await get(app, '/services/orders/pick?metadata.zone=us-1')).body.instanceId, 'orders:us1:80')
  const eu = new Set<string>()
  for (let i = 0; i < 4; i++) eu.add((await get(app, '/services/orders/pick?metadata.zone=eu-1')).body.instanceId)
  t.same([...eu].sort(), ['orders:eu1:80', 'orders:eu2:80'], 'in turn among the matching')
  t.match(await get(app, '/services/orders/pick?metadata.zone=ap-1'), { statusCode: 503, body: { code: 'FST_LUNA_NO_INSTANCE_AVAILABLE' } })
})

t.test('a filter that breaks the metadata rules is a clear 400', async (t) => {
  const app = await setup(t)
  for (const url of ['/instances', '/services/orders', '/services/orders/pick', '/services']) {
    t.match(await get(app, `${url}?metadata.=x`), { statusCode: 400, body: { code: 'FST_LUNA_INVALID_METADATA_FILTER', message: 'querystring/metadata. must name a metadata key of 1 to 128 characters' } }, url)
  }
  t.match(await get(app, `/instances?metadata.${'k'.repeat(129)}=x`), { statusCode: 400, body: { message: /must name a metadata key of 1 to 128 characters/ } })
  t.match(await get(app, `/instances?metadata.zone=${'v'.repeat(513)}`), { statusCode: 400, body: { message: /querystring\/metadata\.zone\/0 must NOT have more than 512 characters/ } })
  const many = Array.from({ length: 65 }, (_, i) => `metadata.k${i}=v`).join('&')
  t.match(await get(app, `/instances?${many}`), { statusCode: 400, body: { code: 'FST_LUNA_INVALID_METADATA_FILTER', message: /one metadata filter too many: at most 64/ } })
})

t.test('the event stream\'s ?service= subscription narrows by metadata too, snapshot and changes', async (t) => {
  const { app, base } = await listen(t)
  await send(app, 'POST', 'orders:eu1:80', info('orders', { metadata: { zone: 'eu-1' } }))
  await send(app, 'POST', 'orders:us1:80', info('orders', { metadata: { zone: 'us-1' } }))
  const stream = await EventStream.open(`${base}/events?service=orders&metadata.zone=eu-1`, AUTH)
  t.teardown(() => stream.close())
  const snapshot = (await stream.next('snapshot')).data as Array<{ instancesTotal: number, instances: Array<{ instanceId: string }> }>
  t.equal(snapshot.length, 1)
  t.same(ids(snapshot[0]!.instances), ['orders:eu1:80'])
  await send(app, 'PUT', 'orders:us1:80', info('orders', { metadata: { zone: 'us-1' }, version: '2' }))
  await send(app, 'PUT', 'orders:eu1:80', info('orders', { metadata: { zone: 'eu-1' }, version: '2' }))
  await send(app, 'DELETE', 'orders:us1:80')
  t.match((await stream.next('updated')).data, { instanceId: 'orders:eu1:80' }, 'the other zone\'s change is not sent')
  t.match((await stream.next('deregistered')).data, { instanceId: 'orders:us1:80' }, 'a deregistration carries no metadata: sent to all')
  const bad = await fetch(`${base}/events?metadata.=x`, { headers: AUTH })
  t.equal(bad.status, 400)
})

t.test('a fresh snapshot after a resync is narrowed by metadata too; one that cannot be read ends the stream', async (t) => {
  const inner = new MemoryStore()
  let failing = false
  const store = wrapStore({
    list: async (filter?: ListFilter) => {
      if (failing && filter?.service !== undefined) throw new StoreUnavailableError('the test says so')
      return await inner.list(filter)
    }
  }, inner)
  const { app, base } = await listen(t, { store })
  await send(app, 'POST', 'orders:eu1:80', info('orders', { metadata: { zone: 'eu-1' } }))
  const stream = await EventStream.open(`${base}/events?service=orders&metadata.zone=eu-1`, AUTH)
  t.teardown(() => stream.close())
  await stream.next('snapshot')
  // Written behind the registry's back, as another replica's lost events would be.
  const now = Date.now()
  await inner.register({ instanceId: 'orders:eu2:80', name: 'orders', version: '1', url: 'http://h/', status: 'OK', balancerOptions: { weight: 1 }, metadata: { zone: 'eu-1' }, registeredAt: now, lastHeartbeat: now })
  await inner.register({ instanceId: 'orders:us1:80', name: 'orders', version: '1', url: 'http://h/', status: 'OK', balancerOptions: { weight: 1 }, metadata: { zone: 'us-1' }, registeredAt: now, lastHeartbeat: now })
  app.lunaRegistry.emit('resync')
  const fresh = (await stream.next('snapshot')).data as Array<{ instancesTotal: number, instances: Array<{ instanceId: string }> }>
  t.same(ids(fresh[0]!.instances), ['orders:eu1:80', 'orders:eu2:80'])
  t.equal(fresh[0]!.instancesTotal, 2, 'figures of the matching instances')
  failing = true
  app.lunaRegistry.emit('resync')
  await until('the stream ends', () => stream.ended ? true : undefined)
})

t.test('metadataFilterOf, for servers built on Luna: the same rules, in process', async (t) => {
  t.same(metadataFilterOf({ service: 'orders', 'metadata.zone': 'eu-1', 'metadata.tier': ['gold', 'gold'] }), [['zone', 'eu-1'], ['tier', 'gold'], ['tier', 'gold']])
  t.equal(metadataFilterOf({ service: 'orders' }), undefined)
  t.throws(() => metadataFilterOf({ 'metadata.zone': 5 }), { code: 'FST_LUNA_INVALID_METADATA_FILTER', message: 'querystring/metadata.zone must be a string' })
  t.throws(() => metadataFilterOf({ 'metadata.zone': 'v'.repeat(513) }), { message: 'querystring/metadata.zone must NOT have more than 512 characters' })
  t.ok(matchesMetadata({ zone: 'eu-1' }, undefined))
  t.notOk(matchesMetadata({}, [['toString', '']]), 'only own keys')
})
