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
