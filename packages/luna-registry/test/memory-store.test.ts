import t from 'tap'
import { MemoryStore } from '../src/index.js'
import { storeContract } from '../src/testing/store-contract.js'

storeContract({
  create: () => new MemoryStore(),
  test: (name, fn) => t.test(name, async (t) => {
    await fn()
    t.pass('the contract holds')
  })
})

t.test('records handed out are frozen snapshots', async (t) => {
  const store = new MemoryStore()
  t.teardown(() => store.close())
  const { instance } = await store.register({
    instanceId: 'a:h:1',
    name: 'a',
    version: '1',
    url: 'http://h:1/',
    status: 'OK',
    balancerOptions: { weight: 1 },
    metadata: {},
    registeredAt: 1,
    lastHeartbeat: 1
  })
  t.ok(Object.isFrozen(instance))
  t.ok(Object.isFrozen(instance.metadata))
  t.ok(Object.isFrozen(instance.balancerOptions))
})
