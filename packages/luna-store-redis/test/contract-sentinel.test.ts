import t from 'tap'
import { storeContract } from 'luna-registry/testing'
import { privateSentinels } from '../../../test-support/redis-server.js'
import { RedisStore } from '../src/index.js'

// The same contract as the memory store, unchanged, against a master found through three
// sentinels, its replica confirming every registration: each case gets a key prefix of its own.
const sentinels = await privateSentinels(t)
if (sentinels !== undefined) {
  storeContract({
    create: async () => {
      const store = new RedisStore({ url: sentinels.url, keyPrefix: `luna-test:${Math.random().toString(36).slice(2)}:` })
      await store.ready()
      return store
    },
    test: (name, fn) => t.test(name, async (t) => {
      await fn()
      t.pass('the contract holds')
    })
  })
}
