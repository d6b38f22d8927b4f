import { fileURLToPath } from 'node:url'
import { MemoryStore } from 'luna-registry'
import t from 'tap'
import { exitWithin, runNode } from '../../../test-support/node-process.js'
import { until } from '../../../test-support/until.js'
import { buildApp } from '../src/app.js'

const exampleDir = fileURLToPath(new URL('..', import.meta.url))
const credentials = { username: 'ops', password: 's3cret' }
// A fresh node process can take seconds to start on a busy machine; behaviour gets 5 s.
const STARTUP = 20_000
const basic = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`

const billing = {
  name: 'billing',
  version: '2.1.0',
  status: 'OK',
  url: 'http://127.0.0.1:9000/'
}

t.test('run directly: open host routes, protected registry, self-registration, clean exit', async (t) => {
  const proc = runNode(t, 'dist/index.js', exampleDir, { PORT: '0', LUNA_AUTH_USERNAME: credentials.username, LUNA_AUTH_PASSWORD: credentials.password })
  const { child, output } = proc

  const base = await until('the app prints its address', () => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output())?.[1], STARTUP)
  const port = Number(new URL(base).port)
  t.ok(port > 0, 'listening on the port the system picked')

  const orders = await fetch(`${base}/orders`)
  t.equal(orders.status, 200, 'the host app\'s routes need no credentials')
  t.match(await orders.json(), [{ id: 1, item: 'telescope' }])

  const anonymous = await fetch(`${base}/registry/v1/services`)
  t.equal(anonymous.status, 401, 'the registry\'s routes do')
  t.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="Luna"')
  await anonymous.body?.cancel()

  const services = async (): Promise<Array<{ name: string, status: string, instances: Array<{ instanceId: string }> }>> => {
    const response = await fetch(`${base}/registry/v1/services`, { headers: { authorization: basic } })
    t.equal(response.status, 200)
    return await response.json() as Array<{ name: string, status: string, instances: Array<{ instanceId: string }> }>
  }
  const self = await until('the app lists itself', async () => (await services()).find((service) => service.name === 'orders'))
  t.equal(self.status, 'UP')
  t.same(self.instances.map((instance) => instance.instanceId), [`orders:127.0.0.1:${port}`])

  const instanceUrl = `${base}/registry/v1/instances/billing:127.0.0.1:9000`
  const json = { authorization: basic, 'content-type': 'application/json' }
  const registered = await fetch(instanceUrl, { method: 'POST', headers: json, body: JSON.stringify(billing) })
  t.equal(registered.status, 201)
  t.match(await registered.json(), { instanceId: 'billing:127.0.0.1:9000', status: 'OK', version: '2.1.0' })
  t.same((await services()).map((service) => service.name), ['billing', 'orders'], 'registered over HTTP, listed beside the app')

  const heartbeat = await fetch(instanceUrl, { method: 'PUT', headers: json, body: JSON.stringify({ ...billing, status: 'DOWN' }) })
  t.equal(heartbeat.status, 200)
  t.match(await heartbeat.json(), { status: 'DOWN', reportedStatus: 'DOWN' })

  const removed = await fetch(instanceUrl, { method: 'DELETE', headers: { authorization: basic } })
  t.equal(removed.status, 204)
  t.same((await services()).map((service) => service.name), ['orders'], 'gone once deleted')
  const gone = await fetch(instanceUrl, { headers: { authorization: basic } })
  t.equal(gone.status, 404)
  await gone.body?.cancel()

  child.kill('SIGTERM')
  const [code, signal] = await exitWithin(proc, 10_000)
  t.equal(code, 0, 'SIGTERM closes the app and exits 0')
  t.equal(signal, null)
  t.match(output(), /deregistered from its own registry/)
})

t.test('buildApp: host routes open, registry routes behind basic auth', async (t) => {
  const app = await buildApp({ registry: { auth: credentials } })
  t.teardown(async () => { await app.close() })

  const root = await app.inject('/')
  t.equal(root.statusCode, 200)
  t.same(root.json(), { service: 'orders', routes: ['/orders'] })
  t.equal((await app.inject('/orders')).statusCode, 200)

  t.equal((await app.inject('/registry/v1/services')).statusCode, 401)
  const wrong = await app.inject({ url: '/registry/v1/services', headers: { authorization: `Basic ${Buffer.from('ops:nope').toString('base64')}` } })
  t.equal(wrong.statusCode, 401)
  const listed = await app.inject({ url: '/registry/v1/services', headers: { authorization: basic } })
  t.equal(listed.statusCode, 200)
  t.same(listed.json(), [], 'not listening, so not registered')

  const bad = await app.inject({
    method: 'POST',
    url: '/registry/v1/instances/billing:127.0.0.1:9000',
    headers: { authorization: basic },
    payload: { ...billing, name: 'payments' }
  })
  t.equal(bad.statusCode, 400, 'the registry validates what the host app receives')
  t.equal(bad.json().code, 'FST_LUNA_INSTANCE_ID_MISMATCH')
})

t.test('buildApp: registers itself on listen, heartbeats, comes back when removed, leaves on close', async (t) => {
  // Records what the app does to its registry on close, since closing also empties the store.
  class RecordingStore extends MemoryStore {
    readonly removed: Array<[string, boolean]> = []
    override async remove (instanceId: string): Promise<boolean> {
      const existed = await super.remove(instanceId)
      this.removed.push([instanceId, existed])
      return existed
    }
  }
  const store = new RecordingStore()
  const app = await buildApp({ serviceName: 'shop', heartbeatInterval: 20, registry: { store, auth: false } })
  let closed = false
  t.teardown(async () => { if (!closed) await app.close() })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const id = `shop:127.0.0.1:${port}`

  // onListen hooks run once listen has resolved, so the registration lands a moment later.
  const self = await until('the app registers itself', async () => await app.lunaRegistry.getInstance(id))
  t.match(self, { name: 'shop', status: 'OK', url: `http://127.0.0.1:${port}/`, description: /hosts the Luna registry/ })
  const first = self.lastHeartbeat
  await until('a heartbeat arrives', async () => {
    const instance = await app.lunaRegistry.getInstance(id)
    return instance !== undefined && instance.lastHeartbeat > first ? instance : undefined
  })

  const response = await fetch(`http://127.0.0.1:${port}/registry/v1/instances/${id}`, { method: 'DELETE' })
  t.equal(response.status, 204, 'with auth: false the host app is in charge of protecting the routes')
  const back = await until('the app registers itself again', async () => await app.lunaRegistry.getInstance(id))
  t.equal(back.status, 'OK')

  const removedBefore = store.removed.length
  await app.close()
  closed = true
  t.same(store.removed.slice(removedBefore), [[id, true]], 'deregistered itself before the store closed')
})
