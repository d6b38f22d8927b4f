import t from 'tap'
import { MemoryStore, STORE_METHODS, StoreUnavailableError, type RegistryStore } from '../src/index.js'
import { build, wrapStore } from './helpers.js'

t.test('ping() resolves with the memory store', async (t) => {
  const app = await build(t)
  await app.lunaRegistry.ping()
  t.pass()
})

t.test('ping() asks a store without one of its own for an instance', async (t) => {
  const store = new MemoryStore()
  let asked = 0
  const bare = Object.fromEntries(STORE_METHODS.map((method) => [method, store[method].bind(store)])) as unknown as RegistryStore
  bare.get = async (id) => { asked++; return await store.get(id) }
  const app = await build(t, { store: bare })
  await app.lunaRegistry.ping()
  t.equal(asked, 1)
})

t.test('ping() rejects with what the store said', async (t) => {
  const app = await build(t, { store: wrapStore({ ping: async () => { throw new StoreUnavailableError('connection refused') } }) })
  await t.rejects(app.lunaRegistry.ping(), { code: 'FST_LUNA_STORE_UNAVAILABLE' })
})
