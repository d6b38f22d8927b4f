import t from 'tap'
import { storeContract } from 'luna-registry/testing'
import { privateCluster } from '../../../test-support/redis-server.js'
import { RedisStore } from '../src/index.js'

// The same contract as the memory store, unchanged, against a Redis Cluster of three masters
// started for this file: each case gets an empty key prefix of its own.
const cluster = await privateCluster(t)
if (cluster !== undefined) {
  storeContract({
    create: async () => {
      const store = new RedisStore({ url: cluster.url, keyPrefix: `luna-test:${Math.random().toString(36).slice(2)}:` })
      await store.ready()
      return store
    },
    test: (name, fn) => t.test(name, async (t) => {
      await fn()
      t.pass('the contract holds')
    })
  })
}
