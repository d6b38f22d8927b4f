import Fastify from 'fastify'
import t from 'tap'
import lunaRegistry, { MemoryStore, type RegistryStore } from '../src/index.js'
import { manualClock } from './helpers.js'
import { checkAgainstModel, report, runSteps, type Step } from './registry-model.js'

// Random sequences of valid, invalid and concurrent requests, checked against a model of the
// contract after every step (see registry-model.ts).

function fresh (store: () => RegistryStore) {
  return async () => {
    const app = Fastify()
    // The clock never moves: nothing times out, so every status is the one reported.
    await app.register(lunaRegistry, { store: store(), now: manualClock().now })
    await app.ready()
    return { app, close: async () => { await app.close() } }
  }
}

t.test('the memory store behind the routes follows the model', async (t) => {
  const details = await checkAgainstModel({ fresh: fresh(() => new MemoryStore()), limit: { milliseconds: 4000 } })
  t.notOk(details.failed, report(details))
  t.ok(details.numRuns >= 5, `${details.numRuns} sequences checked`)
})

t.test('a registry that breaks the contract is caught, and the sequence shrinks', async (t) => {
  // Says it removed nothing, having removed the instance.
  class Forgetful extends MemoryStore {
    override async remove (instanceId: string): Promise<boolean> {
      await super.remove(instanceId)
      return false
    }
  }
  const details = await checkAgainstModel({ fresh: fresh(() => new Forgetful()), limit: { runs: 100 }, seed: 42 })
  t.ok(details.failed, 'a sequence fails')
  const [steps] = details.counterexample ?? [[]]
  const kinds = steps.flatMap((step: Step) => step.map((op) => op.kind))
  t.ok(kinds.length <= 4, `shrunk to a few requests: ${JSON.stringify(steps)}`)
  t.ok(kinds.includes('register') && kinds.includes('deregister'), 'a registration and its removal')
})

t.test('a concurrent step is explained by some order of its requests', async (t) => {
  const app = Fastify()
  await app.register(lunaRegistry, { now: manualClock().now })
  t.teardown(() => app.close())
  const id = 'orders:10.0.0.1:8080' as const
  await t.resolves(runSteps(app, [
    [{ kind: 'register', id, variant: 1, status: 'OK', minimal: false }, { kind: 'deregister', id }],
    [{ kind: 'heartbeat', id, variant: 2, status: 'DOWN', minimal: true }, { kind: 'register', id, variant: 3, status: 'OK', minimal: true }, { kind: 'invalid', method: 'PUT', id, flaw: 'json' }]
  ]))
})
