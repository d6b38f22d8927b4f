import t from 'tap'
import { MemoryStore } from '../src/index.js'
import { guardContract, sampleRecord, storeContract } from '../src/testing/store-contract.js'

storeContract({
  create: () => new MemoryStore(),
  test: (name, fn) => t.test(name, async (t) => {
    await fn()
    t.pass('the contract holds')
  })
})

guardContract({
  create: () => new MemoryStore(),
  test: (name, fn) => t.test(name, async (t) => {
    await fn()
    t.pass('the contract holds')
  })
})

t.test('a frozen metadata or balancerOptions object is kept as it is, without a copy', async (t) => {
  const store = new MemoryStore()
  const metadata = Object.freeze({ zone: 'eu-1' })
  const balancerOptions = Object.freeze({ weight: 2, pool: Object.freeze({ size: 4 }) })
  const { instance } = await store.register(sampleRecord({ metadata, balancerOptions }))
  t.equal(instance.metadata, metadata, 'nothing can change it: the store keeps the object itself')
  t.equal(instance.balancerOptions, balancerOptions)
  const { registeredAt: _, ...update } = sampleRecord({ metadata, balancerOptions, lastHeartbeat: instance.lastHeartbeat + 1 })
  const beat = await store.heartbeat(update)
  t.equal(beat?.instance.metadata, metadata, 'by a heartbeat too')
  t.equal((await store.get(instance.instanceId))?.balancerOptions, balancerOptions)
})
