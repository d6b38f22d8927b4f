import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import lunaRegistry from 'luna-registry'
import t from 'tap'
import { checkAgainstModel, report } from '../../luna-registry/test/registry-model.js'
import { RedisStore } from '../src/index.js'
import { deleteKeys, REDIS_URL, requireRedis } from './redis.js'

// The random request sequences of luna-registry's model test, with the Redis store behind the
// routes: each sequence on a key prefix of its own, deleted once it has run.

t.test('the Redis store behind the routes follows the model', async (t) => {
  if (!await requireRedis(t)) return
  const clock = Date.parse('2026-01-01T00:00:00.000Z')
  const details = await checkAgainstModel({
    limit: { milliseconds: 4000 },
    fresh: async () => {
      const prefix = `luna-test:${randomUUID()}:`
      const store = new RedisStore({ url: REDIS_URL, keyPrefix: prefix })
      const app = Fastify()
      // The clock never moves: nothing times out, so every status is the one reported.
      await app.register(lunaRegistry, { store, now: () => clock })
      await app.ready()
      return {
        app,
        close: async () => {
          await app.close()
          await store.close()
          await deleteKeys(prefix)
        }
      }
    }
  })
  t.notOk(details.failed, report(details))
  t.ok(details.numRuns >= 3, `${details.numRuns} sequences checked`)
})
