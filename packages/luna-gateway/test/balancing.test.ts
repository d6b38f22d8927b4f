import t from 'tap'
import type { LunaGatewayOptions } from '../src/index.js'
import { echoed, send, startEcho, startGateway, type Gateway } from './helpers.js'

interface Tap { teardown: (fn: () => unknown) => void }

/** A gateway with three live instances of `orders`, a, b and c, of weights 1, 2 and 3, and a DOWN one that sorts first. */
async function fleet (t: Tap, options: LunaGatewayOptions): Promise<Gateway> {
  const gateway = await startGateway(t, options)
  for (const [name, weight] of [['a', 1], ['b', 2], ['c', 3]] as const) {
    const upstream = await startEcho(t, name)
    await gateway.register(`orders:${name}:1`, upstream.origin, { balancerOptions: { weight } })
  }
  const down = await startEcho(t, 'down')
  await gateway.register('orders:0down:1', down.origin, { status: 'DOWN', balancerOptions: { weight: 1000 } })
  return gateway
}

async function names (gateway: Gateway, count: number): Promise<string[]> {
  const seen = []
  for (let i = 0; i < count; i++) seen.push(echoed(await send(gateway.origin, '/gateway/services/orders/x')).name)
  return seen
}

function counts (seen: string[]): Record<string, number> {
  const result: Record<string, number> = {}
  for (const name of seen) result[name] = (result[name] ?? 0) + 1
  return result
}

t.test('by default, smooth weighted round-robin: shares follow the weights exactly', async (t) => {
  const gateway = await fleet(t, {})
  const seen = await names(gateway, 60)
  t.same(counts(seen), { a: 10, b: 20, c: 30 })
  t.same(seen.slice(0, 6), ['c', 'b', 'a', 'c', 'b', 'c'], 'the same sequence as the registry\'s pick')
})

t.test('the original\'s WeightedRoundRobin is the same', async (t) => {
  const gateway = await fleet(t, { balancer: 'WeightedRoundRobin' })
  t.same(counts(await names(gateway, 12)), { a: 2, b: 4, c: 6 })
})

t.test('round-robin (RoundRobin) ignores the weights', async (t) => {
  for (const balancer of ['round-robin', 'RoundRobin']) {
    const gateway = await fleet(t, { balancer })
    t.same(await names(gateway, 6), ['a', 'b', 'c', 'a', 'b', 'c'], balancer)
  }
})

t.test('first (the original\'s None) sends everything to the first OK instance', async (t) => {
  for (const balancer of ['first', 'None']) {
    const gateway = await fleet(t, { balancer })
    t.same(await names(gateway, 5), ['a', 'a', 'a', 'a', 'a'], balancer)
  }
})

t.test('random draws among the routable instances only', async (t) => {
  const gateway = await fleet(t, { balancer: 'random' })
  const seen = counts(await names(gateway, 60))
  t.same(Object.keys(seen).sort(), ['a', 'b', 'c'], 'each of them, and never the DOWN one')
})

t.test('the gateway and pick share one balancer module, not one rotation', async (t) => {
  const gateway = await fleet(t, {})
  t.same(await names(gateway, 3), ['c', 'b', 'a'])
  t.equal((await gateway.app.lunaRegistry.pick('orders')).instanceId, 'orders:c:1', 'pick starts its own rotation')
})

t.test('X-Luna-Metadata-<key> headers narrow the instances a request may go to; maintenance holds are skipped', async (t) => {
  const gateway = await startGateway(t)
  for (const [name, zone] of [['a', 'eu-1'], ['b', 'eu-1'], ['c', 'us-1']] as const) {
    const upstream = await startEcho(t, name)
    await gateway.register(`orders:${name}:1`, upstream.origin, { metadata: { zone } })
  }
  const zoned = async (zone: string, count: number): Promise<string[]> => {
    const seen = []
    for (let i = 0; i < count; i++) seen.push(echoed(await send(gateway.origin, '/gateway/services/orders/x', { headers: { 'X-Luna-Metadata-Zone': zone } })).name)
    return seen
  }
  t.same(counts(await zoned('eu-1', 4)), { a: 2, b: 2 })
  t.same(counts(await zoned('us-1', 2)), { c: 2 })
  const none = await send(gateway.origin, '/gateway/services/orders/x', { headers: { 'x-luna-metadata-zone': 'ap-1' } })
  t.equal(none.status, 503)
  t.match(JSON.parse(none.body), { code: 'FST_LUNA_NO_INSTANCE_AVAILABLE' })
  const bad = await send(gateway.origin, '/gateway/services/orders/x', { headers: { 'x-luna-metadata-': 'x' } })
  t.equal(bad.status, 400)
  t.match(JSON.parse(bad.body), { code: 'FST_LUNA_INVALID_METADATA_FILTER', message: 'headers/x-luna-metadata- must name a metadata key of 1 to 128 characters' })
  await gateway.app.lunaRegistry.setMaintenance('orders:a:1', 'disk swap')
  t.same(counts(await zoned('eu-1', 3)), { b: 3 }, 'never to an instance in maintenance')
})
