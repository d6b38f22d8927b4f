import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createLunaClient, LunaClient, LunaError, LunaNetworkError } from '../src/index.js'
import { credentials, freePort, instanceInfo, startRegistry } from './helpers.js'

t.test('credentials in the URL become basic auth, decoded', async (t) => {
  const registry = await startRegistry(t)
  t.match(registry.url, /%3A/, 'the password holds characters that must be escaped in a URL')
  const client = createLunaClient(registry.url)
  t.equal(client.url, `http://127.0.0.1:${registry.port}/registry/v1`, 'the base URL keeps no credentials')
  t.same(await client.services(), [])

  const wrong = createLunaClient(`http://ops:nope@127.0.0.1:${registry.port}`)
  const error = await wrong.services().catch((error: unknown) => error)
  t.ok(error instanceof LunaError)
  t.match(error, { statusCode: 401, code: /UNAUTHORIZED|AUTHORIZATION/, error: 'Unauthorized' })

  const anonymous = createLunaClient(`http://127.0.0.1:${registry.port}`)
  await t.rejects(anonymous.services(), { name: 'LunaError', statusCode: 401 })

  const withAuth = createLunaClient({ url: `http://ops:nope@127.0.0.1:${registry.port}`, auth: credentials })
  t.same(await withAuth.services(), [], '`auth` wins over the URL\'s credentials')
})

t.test('the prefix: default, already in the URL, or another one', async (t) => {
  t.equal(createLunaClient('http://host:4000').url, 'http://host:4000/registry/v1')
  t.equal(createLunaClient('http://host:4000/').url, 'http://host:4000/registry/v1')
  t.equal(createLunaClient('http://host:4000/registry/v1/').url, 'http://host:4000/registry/v1', 'not doubled')
  t.equal(createLunaClient({ url: 'http://host:4000', prefix: '/luna' }).url, 'http://host:4000/luna')
  t.equal(createLunaClient({ url: 'https://host/behind/proxy', prefix: '' }).url, 'https://host/behind/proxy')
  t.equal(createLunaClient(new URL('http://a@host:4000?x=1#y')).url, 'http://host:4000/registry/v1', 'query and fragment dropped')

  const registry = await startRegistry(t)
  t.same(await createLunaClient(`${registry.url}/registry/v1`).services(), [])
})

t.test('bad options fail at once, without repeating the URL', async (t) => {
  t.throws(() => createLunaClient('http://ops:secret@'), { name: 'TypeError' })
  t.throws(() => createLunaClient('localhost:4000'), { name: 'TypeError', message: /http: or https:/ })
  t.throws(() => createLunaClient('ftp://ops:secret@host'), { name: 'TypeError', message: /"ftp:"/ })
  t.throws(() => createLunaClient({ url: 'http://host', prefix: 'registry' }), { message: /prefix/ })
  t.throws(() => createLunaClient({ url: 'http://host', timeout: 0 }), { message: /timeout/ })
  try {
    createLunaClient('http://ops:secret@')
  } catch (error) {
    t.notMatch((error as Error).message, /secret/)
  }
})

t.test('discovery: services, service, instances, instance', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  const orders = client.register({ ...instanceInfo, description: 'Takes orders' }, { heartbeatInterval: 60_000 })
  const billing = client.register({ ...instanceInfo, name: 'billing', url: 'http://127.0.0.1:9000/' }, { heartbeatInterval: 60_000 })
  t.teardown(async () => { await client.close() })
  await orders.ready()
  await billing.ready()
  await billing.setStatus('DOWN')

  const services = await client.services()
  t.same(services.map((service) => [service.name, service.status]), [['billing', 'DOWN'], ['orders', 'UP']], 'sorted by name')
  t.same((await client.services({ status: 'UP' })).map((service) => service.name), ['orders'])
  t.match(await client.service('orders'), { name: 'orders', description: 'Takes orders', instancesOnline: 1, instancesTotal: 1 })
  t.equal(await client.service('nobody'), undefined, 'an unknown service is undefined')
  t.same((await client.instances()).map((instance) => instance.instanceId), ['billing:127.0.0.1:9000', 'orders:127.0.0.1:8080'])
  t.same((await client.instances({ status: 'DOWN' })).map((instance) => instance.name), ['billing'])
  t.same((await client.instances({ service: 'orders', status: 'OK' })).map((instance) => instance.name), ['orders'])
  t.match(await client.instance('orders:127.0.0.1:8080'), { status: 'OK', description: 'Takes orders' })
  t.equal(await client.instance('orders:127.0.0.1:1'), undefined, 'an unknown instance is undefined')
  await t.rejects(client.instances({ status: 'up' as 'OK' }), { name: 'LunaError', statusCode: 400, code: 'FST_ERR_VALIDATION' })
  await t.rejects(client.instance('not an id'), { statusCode: 400, code: 'FST_LUNA_INVALID_INSTANCE_ID' })
})

t.test('pick follows the registry: weights, DOWN instances, departures', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  t.teardown(async () => { await client.close() })
  const light = client.register({ ...instanceInfo, url: 'http://127.0.0.1:8001/', balancerOptions: { weight: 1 } }, { heartbeatInterval: 60_000 })
  const heavy = client.register({ ...instanceInfo, url: 'http://127.0.0.1:8002/', balancerOptions: { weight: 3 } }, { heartbeatInterval: 60_000 })
  await light.ready()
  await heavy.ready()

  const picks = async (count: number): Promise<Record<string, number>> => {
    const counts: Record<string, number> = {}
    for (let i = 0; i < count; i++) {
      const { url } = await client.pick('orders')
      counts[url] = (counts[url] ?? 0) + 1
    }
    return counts
  }
  t.same(await picks(8), { 'http://127.0.0.1:8001/': 2, 'http://127.0.0.1:8002/': 6 }, 'shares follow the weights')

  await heavy.setStatus('DOWN')
  t.same(await picks(3), { 'http://127.0.0.1:8001/': 3 }, 'a DOWN instance is never picked')
  await light.deregister()
  await t.rejects(client.pick('orders'), { name: 'LunaError', statusCode: 503, code: 'FST_LUNA_NO_INSTANCE_AVAILABLE' })
  await heavy.setStatus('OK')
  t.same(await picks(2), { 'http://127.0.0.1:8002/': 2 })
  await heavy.deregister()
  await t.rejects(client.pick('orders'), { statusCode: 404, code: 'FST_LUNA_SERVICE_NOT_FOUND', message: /orders/ })
})

t.test('an unreachable registry is a LunaNetworkError', async (t) => {
  const client = createLunaClient(`http://ops:secret@127.0.0.1:${await freePort()}`)
  const error = await client.services().catch((error: unknown) => error)
  t.ok(error instanceof LunaNetworkError)
  t.match(error, { code: 'LUNA_CLIENT_NETWORK_ERROR', message: /GET http:\/\/127\.0\.0\.1:\d+\/registry\/v1\/services: registry unreachable: .*ECONNREFUSED/ })
  t.notMatch((error as Error).message, /secret/)
  t.ok((error as Error).cause instanceof Error, 'the cause is kept')
})

t.test('a registry that does not answer in time is a timeout', async (t) => {
  const silent = createServer(() => {})
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { silent.closeAllConnections(); silent.close() })
  const client = createLunaClient({ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, timeout: 100 })
  await t.rejects(client.pick('orders'), { name: 'LunaNetworkError', code: 'LUNA_CLIENT_TIMEOUT', message: /no answer within 100 ms/ })
})

t.test('an answer that is not the registry\'s (a proxy\'s error page) is still a LunaError', async (t) => {
  const proxy = createServer((request, response) => {
    if (request.url?.endsWith('/services') === true) {
      response.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>')
    } else {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>')
    }
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { proxy.close() })
  const client = createLunaClient(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`)
  await t.rejects(client.services(), { name: 'LunaError', statusCode: 502, code: 'LUNA_CLIENT_UNEXPECTED_RESPONSE', message: /502 Bad Gateway: <h1>Bad Gateway<\/h1>/ })
  await t.rejects(client.pick('orders'), { statusCode: 200, code: 'LUNA_CLIENT_UNEXPECTED_RESPONSE' }, 'a 200 that is not JSON')
})

t.test('a fetch of one\'s own is used for every request, with the headers', async (t) => {
  const seen: Array<[string, string | null, string | null]> = []
  const recording: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers)
    seen.push([String(input), headers.get('authorization'), headers.get('accept')])
    return new Response('[]', { status: 200, headers: { 'content-type': 'application/json' } })
  }
  const client = new LunaClient({ url: 'http://admin@registry.internal:4000', fetch: recording })
  t.same(await client.services(), [])
  t.same(seen, [['http://registry.internal:4000/registry/v1/services', `Basic ${Buffer.from('admin:').toString('base64')}`, 'application/json']], 'a blank password is still basic auth')
})

t.test('after a registry restart, a kept-alive connection it closed does not fail the next request', async (t) => {
  const registry = await startRegistry(t)
  const client = createLunaClient(registry.url)
  // Another instance heartbeating keeps the registry busy while it closes, as in real life.
  const busy = createLunaClient(registry.url)
  t.teardown(async () => { await busy.close() })
  for (let round = 0; round < 6; round++) {
    const handle = busy.register(instanceInfo, { heartbeatInterval: 50 })
    await handle.ready()
    t.ok(await client.instance('orders:127.0.0.1:8080'), `round ${round}: the connection is in use`)
    await registry.stop()
    await registry.start()
    t.equal(await client.instance('nobody:127.0.0.1:1'), undefined, `round ${round}: the first request after the restart is answered`)
    await handle.deregister()
  }
})
