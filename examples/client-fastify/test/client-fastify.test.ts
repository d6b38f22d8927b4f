import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { createLunaClient, type InstanceView } from 'luna-client'
import { buildServer } from 'luna-server'
import t from 'tap'
import { exitWithin, runNode } from '../../../test-support/node-process.js'
import { until } from '../../../test-support/until.js'
import { buildApp } from '../src/app.js'

const exampleDir = fileURLToPath(new URL('..', import.meta.url))
const credentials = { username: 'ops', password: 's3cret' }
// A fresh node process can take seconds to start on a busy machine; behaviour gets its own bounds.
const STARTUP = 20_000
const HEARTBEAT = 1000

/** A write the registry answered, and when (`performance.now()`). */
interface Write { what: string, at: number }

/** luna-server on 127.0.0.1; `writes` gets every POST, PUT and DELETE it answers, in order. */
async function startRegistry (writes: Write[], port = 0): Promise<FastifyInstance> {
  const registry = buildServer({ ...credentials, logLevel: 'silent' })
  registry.addHook('onResponse', async (request, reply) => {
    if (request.method !== 'GET') writes.push({ what: `${request.method} ${reply.statusCode}`, at: performance.now() })
  })
  await registry.listen({ port, host: '127.0.0.1' })
  return registry
}

t.test('run for real: registers, is discovered, goes DOWN and back, survives a registry restart, leaves on SIGTERM', async (t) => {
  let writes: Write[] = []
  let registry = await startRegistry(writes)
  const registryPort = (registry.server.address() as AddressInfo).port
  t.teardown(async () => { await registry.close() })
  const luna = createLunaClient(`http://${credentials.username}:${credentials.password}@127.0.0.1:${registryPort}`)
  t.teardown(async () => { await luna.close() })

  const proc = runNode(t, 'dist/index.js', exampleDir, { PORT: '0', LUNA_URL: luna.url.replace('http://', `http://${credentials.username}:${credentials.password}@`), HEARTBEAT_INTERVAL: String(HEARTBEAT) })
  const { child, output } = proc

  const base = await until('the service prints its address', () => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output())?.[1], STARTUP)
  const id = `catalog:127.0.0.1:${new URL(base).port}`
  const registered = await until('the registry lists the service', async () => await luna.instance(id))
  t.match(registered, { name: 'catalog', status: 'OK', url: `${base}/`, description: 'Lists what we sell', metadata: { runtime: /^node v/ } })
  t.match(await luna.pick('catalog'), { instanceId: id }, 'others find it with pick')

  t.same(await (await fetch(`${base}/`)).json(), { service: 'catalog', instanceId: id })
  t.match(await (await fetch(`${base}/items`)).json(), [{ sku: 'TEL-1' }, { sku: 'MAP-3' }])
  t.same(await (await fetch(`${base}/peers`)).json(), [{ instanceId: id, status: 'OK', url: `${base}/` }], 'it asks the registry about its peers')

  const put = async (status: string): Promise<Response> => await fetch(`${base}/status`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status })
  })
  t.same(await (await put('DOWN')).json(), { status: 'DOWN' })
  t.match(await luna.instance(id), { status: 'DOWN', reportedStatus: 'DOWN' }, 'DOWN in the registry at once')
  await t.rejects(luna.pick('catalog'), { name: 'LunaError', statusCode: 503 }, 'and out of rotation')
  t.same(await (await put('OK')).json(), { status: 'OK' })

  await registry.close()
  writes = []
  registry = await startRegistry(writes, registryPort)
  const back = await until('the service is registered again', async () => await luna.instance(id), STARTUP)
  t.equal((back as InstanceView).status, 'OK')
  // Heartbeats come every interval: the first to reach the new registry registers again.
  t.same(writes.map(({ what }) => what), ['PUT 404', 'POST 201'], 'the first heartbeat after the restart is refused, and the service registers again')
  const [refused, registration] = writes
  t.ok(registration!.at - refused!.at < HEARTBEAT / 2, `at once: ${Math.round(registration!.at - refused!.at)} ms after the 404 (heartbeat every ${HEARTBEAT} ms)`)

  const before = writes.length
  child.kill('SIGTERM')
  const [code] = await exitWithin(proc, STARTUP)
  t.equal(code, 0, 'closes and exits 0')
  // In that order: the DELETE answered before the process ended, after at most the heartbeat
  // that was under way when the signal came.
  t.match(writes.slice(before).map(({ what }) => what).join(', '), /^(PUT 200, )?DELETE 204$/, 'the signal\'s next request is the DELETE')
  t.equal(await luna.instance(id), undefined, 'gone from the registry')
  t.match(output(), /luna-client: registered/)
  t.match(output(), /luna-client: deregistered/)
  t.notMatch(output(), /s3cret/, 'the logs never show the password')
})

t.test('buildApp: serves without a registry, and says so when asked to change its status before listening', async (t) => {
  const app = await buildApp({ registry: 'http://127.0.0.1:1' })
  t.teardown(async () => { await app.close() })
  t.same((await app.inject('/')).json(), { service: 'catalog', instanceId: null })
  t.equal((await app.inject('/items')).statusCode, 200)
  const status = await app.inject({ method: 'PUT', url: '/status', payload: { status: 'DOWN' } })
  t.equal(status.statusCode, 409)
  const bad = await app.inject({ method: 'PUT', url: '/status', payload: { status: 'down' } })
  t.equal(bad.statusCode, 400)
})
