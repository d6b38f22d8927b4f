import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { exitWithin, runProcess, type NodeProcess } from '../../../test-support/node-process.js'
import { until } from '../../../test-support/until.js'
import { createLunaClient, type InstanceView } from '../src/index.js'
import { startRegistry, type TestRegistry } from './helpers.js'

const fixture = fileURLToPath(new URL('fixtures/service.mjs', import.meta.url))
// A fresh node process can take seconds to start on a busy machine; behaviour gets its own bounds.
const STARTUP = 15_000

function run (t: Test, registry: TestRegistry, mode: string): NodeProcess {
  // A plain node process: the test runner puts its loaders, which listen for signals too, into
  // NODE_OPTIONS of every node it sees spawned. `exec` keeps the pid, so signals reach node.
  return runProcess(t, '/bin/sh', ['-c', 'unset NODE_OPTIONS; exec "$0" "$1"', process.execPath, fixture], { env: { MODE: mode, LUNA_URL: registry.url } })
}

async function registered (service: NodeProcess): Promise<string> {
  return await until('the service registers', () => /registered (\S+)/.exec(service.output())?.[1], STARTUP)
}

t.test('SIGTERM: deregistered at once, then the process ends as SIGTERM ends it', async (t) => {
  const registry = await startRegistry(t)
  const service = run(t, registry, 'signals')
  const id = await registered(service)
  t.match(await registry.get<InstanceView>(`/instances/${id}`), { status: 'OK' })
  const before = registry.writesFor(id).length
  service.child.kill('SIGTERM')
  t.same(await exitWithin(service, STARTUP), [null, 'SIGTERM'], 'the signal is raised again: exit status 143 in a shell')
  // In that order: the DELETE answered before the process ended, after at most the heartbeat
  // that was under way when the signal came.
  t.match(registry.writesSeen(id).slice(before).join(', '), /^(PUT 200, )?DELETE 204$/, 'the signal\'s next request is the DELETE')
  t.equal(await registry.get(`/instances/${id}`), undefined, 'gone from the registry')
  t.match(service.output(), /deregistered true/)
})

t.test('SIGINT works the same', async (t) => {
  const registry = await startRegistry(t)
  const service = run(t, registry, 'signals')
  const id = await registered(service)
  service.child.kill('SIGINT')
  t.same(await exitWithin(service, 2000), [null, 'SIGINT'])
  t.equal(await registry.get(`/instances/${id}`), undefined)
})

t.test('beside a listener that only cleans up, the process still ends, with the status SIGTERM gives', async (t) => {
  const registry = await startRegistry(t)
  const service = run(t, registry, 'passive')
  const id = await registered(service)
  service.child.kill('SIGTERM')
  t.same(await exitWithin(service, 2000), [143, null], '128 + 15')
  t.match(service.output(), /cleaning up[\s\S]*deregistered true/)
  t.equal(await registry.get(`/instances/${id}`), undefined)
})

t.test('with exit: false, an application that handles SIGTERM itself decides when to exit', async (t) => {
  const registry = await startRegistry(t)
  const service = run(t, registry, 'own-handler')
  const id = await registered(service)
  service.child.kill('SIGTERM')
  // The server closed, the instance deregistered, nothing left to do: the process ends by itself.
  t.same(await exitWithin(service, 2000), [0, null])
  t.match(service.output(), /closing[\s\S]*deregistered true|deregistered true[\s\S]*closing/)
  t.equal(await registry.get(`/instances/${id}`), undefined)
})

t.test('SIGKILL leaves the instance to turn DOWN at the heartbeat timeout', async (t) => {
  const registry = await startRegistry(t, { heartbeatTimeout: 600 })
  const service = run(t, registry, 'signals')
  const id = await registered(service)
  service.child.kill('SIGKILL')
  await exitWithin(service, 2000)
  t.match(await registry.get<InstanceView>(`/instances/${id}`), { status: 'OK' }, 'still listed, OK until its deadline')
  const down = await until('the instance turns DOWN', async () => {
    const instance = await registry.get<InstanceView>(`/instances/${id}`)
    return instance?.status === 'DOWN' ? instance : undefined
  }, 2000)
  t.equal(down.reportedStatus, 'OK', 'DOWN because it went silent, not because it said so')
})

t.test('no timer or connection of the client keeps a process alive', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  for (const mode of ['stop', 'forget', 'watch']) {
    const service = run(t, registry, mode)
    t.same(await exitWithin(service, STARTUP), [0, null], `${mode}: the process ends by itself`)
    t.match(service.output(), mode === 'watch' ? /watched/ : /done/)
  }
  const left = await client.instances({ service: 'worker' })
  t.equal(left.length, 1, 'the one that did not deregister stays listed, until its heartbeat times out')
})
