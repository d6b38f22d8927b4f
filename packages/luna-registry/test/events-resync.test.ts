import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { MemoryStore, StoreUnavailableError, type ListFilter } from '../src/index.js'
import { AUTH, info, listen, wrapStore } from './helpers.js'
import { EventStream } from './sse-client.js'

// A 'resync' from the registry says the store may hold what no event told: the streams get a
// fresh snapshot. The memory store never needs one; these tests change it behind the registry's
// back and emit 'resync' as a shared store's registry does.

interface Tap { teardown: (fn: () => unknown) => void }

interface Server { app: FastifyInstance, base: string, inner: MemoryStore, gate: Gate }

/** Holds the store's list reads while closed, and counts them. */
class Gate {
  #closed: { promise: Promise<void>, open: () => void } | undefined
  #reached: Promise<void> = Promise.resolve()
  #reach: () => void = () => {}
  failing = false
  reads = 0

  close (): void {
    let open = (): void => {}
    const promise = new Promise<void>((resolve) => { open = resolve })
    this.#closed = { promise, open }
    this.#reached = new Promise((resolve) => { this.#reach = resolve })
  }

  /** Resolves when a read reaches the closed gate; rejects if none does within `timeout` ms. */
  async reached (timeout = 3000): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no store read within ${timeout} ms`)), timeout)
    })
    try {
      await Promise.race([this.#reached, late])
    } finally {
      clearTimeout(timer)
    }
  }

  open (): void {
    this.#closed?.open()
    this.#closed = undefined
  }

  async pass (): Promise<void> {
    this.reads++
    if (this.failing) throw new StoreUnavailableError('the test says so')
    if (this.#closed === undefined) return
    this.#reach()
    await this.#closed.promise
  }
}

async function gated (t: Tap): Promise<Server> {
  const inner = new MemoryStore()
  const gate = new Gate()
  const store = wrapStore({
    list: async (filter?: ListFilter) => {
      await gate.pass()
      return await inner.list(filter)
    }
  }, inner)
  const { app, base } = await listen(t, { store })
  return { app, inner, gate, base }
}

async function subscribe (t: Tap, base: string, query = ''): Promise<EventStream> {
  const stream = await EventStream.open(`${base}/events${query}`, AUTH)
  t.teardown(() => stream.close())
  return stream
}

function ids (snapshot: { data: unknown }): string[] {
  return (snapshot.data as Array<{ instances: Array<{ instanceId: string }> }>).flatMap((service) => service.instances.map((instance) => instance.instanceId))
}

t.test('a resync sends every subscriber a fresh snapshot of what the store holds now, on the same stream', async (t) => {
  const { app, base, inner } = await gated(t)
  await app.lunaRegistry.register('orders:h:1', info('orders') as never)
  await app.lunaRegistry.register('billing:h:2', info('billing') as never)
  const all = await subscribe(t, base)
  const orders = await subscribe(t, base, '?service=orders')
  const first = await all.next('snapshot')
  t.same(ids(first), ['billing:h:2', 'orders:h:1'])
  t.same(ids(await orders.next('snapshot')), ['orders:h:1'])

  // Lost without an event, as a Redis restarted without its data loses them.
  await inner.remove('orders:h:1')
  app.lunaRegistry.emit('resync')
  const fresh = await all.next()
  t.equal(fresh.event, 'snapshot')
  t.same(ids(fresh), ['billing:h:2'], 'what the store no longer has is gone')
  t.same((await orders.next()).data, [], 'a stream of one service gets the snapshot of that service')

  await app.lunaRegistry.register('orders:h:1', info('orders') as never)
  const registered = await all.next()
  t.match(registered, { event: 'registered', data: { instanceId: 'orders:h:1', created: true } })
  t.ok(Number(registered.id) > Number(fresh.id), 'and the changes after it, numbered after it')
  t.match(await orders.next(), { event: 'registered', data: { instanceId: 'orders:h:1' } })
  t.notOk(all.ended || orders.ended)
})

/** A subscriber past its first snapshot, and a resync whose store read is held at the gate. */
async function resyncHeld (t: Tap, { app, base, gate }: Server): Promise<EventStream> {
  const stream = await subscribe(t, base)
  await stream.next('snapshot')
  gate.close()
  app.lunaRegistry.emit('resync')
  await gate.reached()
  return stream
}

t.test('events that come while the fresh snapshot is read wait for it', async (t) => {
  const server = await gated(t)
  const { app, gate } = server
  const stream = await resyncHeld(t, server)
  await app.lunaRegistry.register('orders:h:1', info('orders') as never)
  gate.open()
  t.equal((await stream.next()).event, 'snapshot', 'the snapshot first')
  t.match(await stream.next(), { event: 'registered', data: { instanceId: 'orders:h:1' } }, 'then the event that came meanwhile')
})

t.test('a resync during a first snapshot sends that subscriber a fresh one after it', async (t) => {
  const { app, base, inner, gate } = await gated(t)
  await app.lunaRegistry.register('orders:h:1', info('orders') as never)
  gate.close()
  const opening = subscribe(t, base)
  await gate.reached()
  // The first snapshot's read may have come before what the resync is about.
  await inner.remove('orders:h:1')
  app.lunaRegistry.emit('resync')
  gate.open()
  const stream = await opening
  await stream.next('snapshot')
  const fresh = await stream.next()
  t.equal(fresh.event, 'snapshot', 'a second snapshot follows the first')
  t.same(fresh.data, [])
})

t.test('resyncs that come while one is read are served by one more read', async (t) => {
  const server = await gated(t)
  const { app, gate } = server
  const stream = await resyncHeld(t, server)
  const before = gate.reads
  for (let i = 0; i < 5; i++) app.lunaRegistry.emit('resync')
  gate.open()
  await stream.next('snapshot')
  await stream.next('snapshot')
  t.equal(gate.reads - before, 1, 'five resyncs meanwhile, one read')
})

t.test('a fresh snapshot that cannot be read ends the streams, so their clients reconnect to one', async (t) => {
  const { app, base, gate } = await gated(t)
  const stream = await subscribe(t, base)
  await stream.next('snapshot')
  gate.failing = true
  app.lunaRegistry.emit('resync')
  await t.rejects(stream.next(), /the stream ended/)
  t.equal(app.lunaRegistry.listenerCount('event'), 0, 'and the subscriber is forgotten')
  gate.failing = false
  const again = await subscribe(t, base)
  t.equal((await again.next()).event, 'snapshot', 'a new stream starts with a snapshot')
})

t.test('a resync with no subscriber reads nothing', async (t) => {
  const { app, base, gate } = await gated(t)
  app.lunaRegistry.emit('resync')
  // What comes after it: a subscriber's snapshot, then a change. A read for the resync would
  // come before the snapshot's, or as a second snapshot before the change.
  const stream = await subscribe(t, base)
  await stream.next('snapshot')
  await app.lunaRegistry.register('orders:h:1', info('orders') as never)
  t.match(await stream.next(), { event: 'registered', data: { instanceId: 'orders:h:1' } }, 'no fresh snapshot for the resync')
  t.equal(gate.reads, 1, 'one read: the subscriber\'s snapshot')
})
