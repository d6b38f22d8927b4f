import t from 'tap'
import { guardContract, storeContract } from 'luna-registry/testing'
import { RedisStore } from '../src/index.js'
import { REDIS_URL, deleteKeys, requireRedis } from './redis.js'

// The same contract as the memory store, unchanged, against a real Redis: each case gets an
// empty key prefix of its own, deleted afterwards.
if (await requireRedis(t)) {
  const create = async (): Promise<RedisStore> => {
    const prefix = `luna-test:contract:${Math.random().toString(36).slice(2)}:`
    const store = new RedisStore({ url: REDIS_URL, keyPrefix: prefix })
    await store.ready()
    const close = store.close.bind(store)
    store.close = async () => {
      await deleteKeys(prefix)
      await close()
    }
    return store
  }
  const test = (name: string, fn: () => Promise<void>): unknown => t.test(name, async (t) => {
    await fn()
    t.pass('the contract holds')
  })
  storeContract({ create, test })
  guardContract({ create, test })
}
