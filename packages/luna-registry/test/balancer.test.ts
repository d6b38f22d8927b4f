import t from 'tap'
import { BALANCER_KINDS, balancerKind, createBalancer, type Balancer, type BalancerCandidate } from '../src/index.js'

const candidate = (instanceId: string, weight = 1): BalancerCandidate => ({ instanceId, weight })

function picks (balancer: Balancer, candidates: readonly BalancerCandidate[], count: number, service = 'orders'): string[] {
  return Array.from({ length: count }, () => balancer.pick(service, candidates)?.instanceId ?? 'none')
}

function counts (ids: string[]): Record<string, number> {
  const result: Record<string, number> = {}
  for (const id of ids) result[id] = (result[id] ?? 0) + 1
  return result
}

t.test('names: canonical kinds, the original names and any spelling of them', async (t) => {
  t.same(BALANCER_KINDS, ['weighted-round-robin', 'round-robin', 'random', 'first'])
  for (const kind of BALANCER_KINDS) t.equal(balancerKind(kind), kind)
  t.equal(balancerKind('WeightedRoundRobin'), 'weighted-round-robin')
  t.equal(balancerKind('RoundRobin'), 'round-robin')
  t.equal(balancerKind('None'), 'first', 'the original\'s None is the first OK instance')
  t.equal(balancerKind('ROUND_ROBIN'), 'round-robin')
  t.equal(balancerKind('Random'), 'random')
  t.equal(balancerKind('least-connections'), undefined)
  t.equal(balancerKind('constructor'), undefined, 'no inherited property is a name')
  t.throws(() => createBalancer('fastest' as never), { name: 'TypeError', message: /unknown balancer kind "fastest"/ })
})

t.test('weighted round-robin: shares follow the weights exactly, smoothly', async (t) => {
  const balancer = createBalancer()
  t.equal(balancer.kind, 'weighted-round-robin', 'the default')
  const sequence = picks(balancer, [candidate('a', 1), candidate('b', 2), candidate('c', 3)], 600)
  t.same(counts(sequence), { a: 100, b: 200, c: 300 })
  t.same(sequence.slice(0, 6), ['c', 'b', 'a', 'c', 'b', 'c'], 'the heavy instance is not picked in bursts')
})

t.test('weighted round-robin: an instance that leaves is forgotten, one that comes starts afresh', async (t) => {
  const balancer = createBalancer('weighted-round-robin')
  picks(balancer, [candidate('a'), candidate('b'), candidate('c', 5)], 3)
  // Had c's value been kept, its return would start with a burst of c.
  picks(balancer, [candidate('a'), candidate('b')], 4)
  const sequence = picks(balancer, [candidate('a'), candidate('b'), candidate('c', 2)], 40)
  t.same(counts(sequence), { a: 10, b: 10, c: 20 })
  t.same(sequence.slice(0, 4), ['c', 'a', 'b', 'c'])
})

t.test('services rotate independently, and forget() starts a service over', async (t) => {
  const balancer = createBalancer('weighted-round-robin')
  const pool = [candidate('a'), candidate('b')]
  t.same(picks(balancer, pool, 1, 'orders'), ['a'])
  t.same(picks(balancer, pool, 1, 'billing'), ['a'], 'billing has a rotation of its own')
  t.same(picks(balancer, pool, 1, 'orders'), ['b'])
  balancer.forget('orders')
  t.same(picks(balancer, pool, 1, 'orders'), ['a'])
})

t.test('round-robin: each in turn by id, whatever the weights and the order given', async (t) => {
  const balancer = createBalancer('round-robin')
  t.same(picks(balancer, [candidate('c', 9), candidate('a', 1), candidate('b', 5)], 6), ['a', 'b', 'c', 'a', 'b', 'c'])
})

t.test('round-robin: the turn goes on from the last id when instances come and go', async (t) => {
  const balancer = createBalancer('round-robin')
  t.same(picks(balancer, [candidate('a'), candidate('b'), candidate('c')], 2), ['a', 'b'])
  // b leaves: the next after b is c; then a newcomer d takes its turn after c.
  t.same(picks(balancer, [candidate('a'), candidate('c'), candidate('d')], 4), ['c', 'd', 'a', 'c'])
})

t.test('random: draws in proportion to the weights', async (t) => {
  // A deterministic source: 0, 0.1, …, 0.9 over and over.
  let step = 0
  const balancer = createBalancer('random', { random: () => (step++ % 10) / 10 })
  t.equal(balancer.kind, 'random')
  t.same(counts(picks(balancer, [candidate('a', 1), candidate('b', 4)], 100)), { a: 20, b: 80 })
  t.same(counts(picks(createBalancer('random'), [candidate('a', 1), candidate('b', 0)], 50)), { a: 50 }, 'Math.random by default')
})

t.test('first: the first candidate in the order given', async (t) => {
  const balancer = createBalancer('first')
  t.same(picks(balancer, [candidate('b'), candidate('a')], 3), ['b', 'b', 'b'])
  t.same(picks(balancer, [candidate('b', 0), candidate('a')], 1), ['a'])
})

t.test('every kind: weight 0 is never picked, and no candidate picks nothing', async (t) => {
  for (const kind of BALANCER_KINDS) {
    const balancer = createBalancer(kind)
    t.same(counts(picks(balancer, [candidate('drained', 0), candidate('ok', 1), candidate('odd', Number.NaN)], 20)), { ok: 20 }, kind)
    t.equal(balancer.pick('orders', []), undefined, `${kind}: no candidate`)
    t.equal(balancer.pick('orders', [candidate('drained', 0)]), undefined, `${kind}: none above 0`)
  }
})

t.test('the candidate object itself is returned, with whatever it carries', async (t) => {
  const record = { instanceId: 'a', weight: 1, url: 'http://10.0.0.1/' }
  for (const kind of BALANCER_KINDS) t.equal(createBalancer(kind).pick('orders', [record]), record, kind)
})
