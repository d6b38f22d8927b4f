import { once } from 'node:events'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import lunaRegistry, { type LunaRegistryOptions } from 'luna-registry'
import t, { type Test } from 'tap'
import { exitWithin, runNode, type NodeProcess } from '../../../test-support/node-process.js'
import { until } from '../../../test-support/until.js'

const exampleDir = fileURLToPath(new URL('..', import.meta.url))
// Awkward characters on purpose: the client must decode them out of LUNA_URL.
const username = 'luna'
const password = 'p@ss:word'
const SERVICE = 'hello-test'
// A fresh node process can take seconds to start on a busy machine; behaviour gets 5 s.
const STARTUP = 20_000

async function startRegistry (t: Test, port = 0, options: LunaRegistryOptions = { auth: { username, password } }): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(lunaRegistry, options)
  await app.listen({ port, host: '127.0.0.1' })
  t.teardown(async () => { await app.close() })
  return app
}

function lunaUrl (port: number): string {
  return `http://${username}:${encodeURIComponent(password)}@127.0.0.1:${port}/registry/v1`
}

function startClient (t: Test, registryPort: number): NodeProcess {
  return runNode(t, 'dist/index.js', exampleDir, { LUNA_URL: lunaUrl(registryPort), SERVICE_NAME: SERVICE, PORT: '0', HEARTBEAT_INTERVAL: '100' })
}

t.test('registers, heartbeats, registers again after a 404 and deregisters on SIGTERM', async (t) => {
  const app = await startRegistry(t)
  const client = startClient(t, (app.server.address() as AddressInfo).port)

  const registered = await until('the client is registered', async () => {
    const [instance] = await app.lunaRegistry.listInstances({ service: SERVICE })
    return instance
  }, STARTUP)
  const { instanceId } = registered
  t.match(instanceId, /^hello-test:127\.0\.0\.1:\d+$/, 'the id carries the port the system picked')
  t.equal(registered.status, 'OK')
  t.equal(registered.version, '1.0.0')
  t.equal(registered.url, `http://${instanceId.slice(SERVICE.length + 1)}/`)
  t.match(registered.metadata, { runtime: /^node v/ })

  const hello = await fetch(registered.url)
  t.equal(hello.status, 200, 'the registered URL is the service itself')
  t.same(await hello.json(), { hello: 'world', from: SERVICE })

  await until('a heartbeat arrives', async () => {
    const instance = await app.lunaRegistry.getInstance(instanceId)
    return instance !== undefined && instance.lastHeartbeat > registered.lastHeartbeat ? instance : undefined
  })
  t.equal((await app.lunaRegistry.getInstance(instanceId))?.registeredAt, registered.registeredAt, 'heartbeats do not re-register')

  t.ok(await app.lunaRegistry.deregister(instanceId))
  const again = await until('the client registers again', async () => await app.lunaRegistry.getInstance(instanceId))
  t.ok(again.registeredAt > registered.registeredAt, 'a new registration')
  t.equal(again.status, 'OK')
  await until('the client logs it', () => client.output().includes(`re-registered ${instanceId}`) || undefined)

  client.child.kill('SIGTERM')
  const [code, signal] = await exitWithin(client, 10_000)
  t.equal(code, 0, 'exits 0')
  t.equal(signal, null)
  t.equal(await app.lunaRegistry.getInstance(instanceId), undefined, 'left the registry')
  t.match(client.output(), `deregistered ${instanceId} on SIGTERM`)
  t.notMatch(client.output(), /unreachable|refused|Error/, 'nothing went wrong on the way')
})

t.test('carries on while the registry is unreachable and registers once it is up', async (t) => {
  // A port that was free a moment ago: nothing listens there until the registry starts.
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as AddressInfo
  await new Promise((resolve) => probe.close(resolve))

  const client = startClient(t, port)
  await until('a failed heartbeat is logged', () => /PUT .* failed, registry unreachable: .*ECONNREFUSED/.test(client.output()) || undefined, STARTUP)
  t.match(client.output(), /POST hello-test:127\.0\.0\.1:\d+ failed, registry unreachable/, 'the first registration failed too')
  t.equal(client.child.exitCode, null, 'still running')

  const app = await startRegistry(t, port)
  const instance = await until('the client registers', async () => {
    const [instance] = await app.lunaRegistry.listInstances({ service: SERVICE })
    return instance
  })
  t.equal(instance.status, 'OK')

  await app.close()
  client.child.kill('SIGINT')
  const [code] = await exitWithin(client, 10_000)
  t.equal(code, 0, 'exits 0 even when the DELETE cannot reach the registry')
  t.match(client.output(), /DELETE .* failed, registry unreachable/)
  t.notMatch(client.output(), /Unhandled|TypeError/)
})

t.test('says so when the registry refuses the credentials, and keeps trying', async (t) => {
  const app = await startRegistry(t, 0, { auth: { username, password: 'something else' } })
  const client = startClient(t, (app.server.address() as AddressInfo).port)
  await until('a refused heartbeat is logged', () => /PUT .* refused: 401/.test(client.output()) || undefined, STARTUP)
  t.match(client.output(), /POST hello-test:127\.0\.0\.1:\d+ refused: 401 .*FST_LUNA_UNAUTHORIZED/)
  t.same(await app.lunaRegistry.listInstances(), [])

  client.child.kill('SIGTERM')
  const [code] = await exitWithin(client, 10_000)
  t.equal(code, 0)
})
