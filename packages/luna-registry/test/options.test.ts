import Fastify from 'fastify'
import view from '@fastify/view'
import { Eta } from 'eta'
import t from 'tap'
import lunaRegistry, { MemoryStore, type LunaRegistryOptions } from '../src/index.js'
import { AUTH, info, wrapStore } from './helpers.js'

t.test('bad options make ready() reject with a message naming the option', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{ prefix: 5 }, /option "prefix" must be a string, got 5/],
    [{ prefix: 'registry' }, /option "prefix" must be '' or a path starting with "\/"/],
    [{ prefix: '/a b' }, /option "prefix"/],
    [{ auth: true }, /option "auth" must be \{ username, password \}, \{ users \}, \{ verify \}, a function or false, got true/],
    [{ auth: { username: 'a', users: [] } }, /option "auth" takes one of username \(with password\), users or verify/],
    [{ auth: { verify: 'yes' } }, /option "auth.verify" must be a function, got "yes"/],
    [{ auth: { users: {} } }, /option "auth.users" must be an array of users, got an object/],
    [{ auth: { users: [{ username: 'a', password: 'x', role: 'admin' }] } }, /option "auth.users\[0\].password" is refused: store a passwordHash made by luna-server hash-password/],
    [{ auth: { maxFailures: -1 } }, /option "auth.maxFailures" must be 0 \(no limit\) or a positive integer, got -1/],
    [{ auth: { maxFailures: 1.5 } }, /option "auth.maxFailures"/],
    [{ auth: { failureStore: { get: () => {} } } }, /option "auth.failureStore" must be an object with get\(key\) and add\(key, window\), got an object/],
    [{ auth: { password: 'x' } }, /option "auth.username" must be a non-empty string, got undefined/],
    [{ auth: { username: '' } }, /option "auth.username" must be a non-empty string/],
    [{ auth: { username: 'a:b' } }, /option "auth.username" must not contain ":"/],
    [{ auth: { username: 'a', password: 5 } }, /option "auth.password" must be a string, got 5/],
    [{ heartbeatTimeout: 0 }, /option "heartbeatTimeout" must be a positive number of milliseconds or a duration such as "30s", got 0/],
    [{ heartbeatTimeout: 'soon' }, /option "heartbeatTimeout" .* got "soon"/],
    [{ heartbeatTimeout: -5 }, /option "heartbeatTimeout"/],
    [{ store: {} }, /option "store" must implement register, heartbeat, remove, get, list, claimTimedOut, evictTimedOut, close; missing register, heartbeat, remove, get, list, claimTimedOut, evictTimedOut, close/],
    [{ store: { ...new MemoryStore(), close: undefined } }, /option "store" must implement/],
    [{ store: 'redis' }, /option "store" must be a store object, got "redis"/],
    [{ panel: 'yes' }, /option "panel" must be a boolean, got "yes"/],
    [{ metrics: 'on' }, /option "metrics" must be a boolean, got "on"/],
    [{ now: 5 }, /option "now" must be a function/],
    [{ events: { snapshotTimeout: 0 } }, /option "events.snapshotTimeout" must be a positive number of milliseconds or a duration such as "30s", got 0/],
    [{ events: { snapshotTimeout: 'later' } }, /option "events.snapshotTimeout" .* got "later"/],
    [{ protectionThreshold: 1 }, /option "protectionThreshold" must be a number from 0 \(never\) up to, not including, 1, got 1/],
    [{ protectionThreshold: -0.1 }, /option "protectionThreshold" .* got -0.1/],
    [{ protectionThreshold: '0.5' }, /option "protectionThreshold" .* got "0.5"/],
    [{ protectionThreshold: Number.NaN }, /option "protectionThreshold" .* got NaN/],
    [{ protectionMaxDuration: 0 }, /option "protectionMaxDuration" must be a positive number of milliseconds or a duration such as "30s", got 0/],
    [{ protectionMaxDuration: 'a while' }, /option "protectionMaxDuration" .* got "a while"/]
  ]
  for (const [options, message] of cases) {
    const app = Fastify()
    app.register(lunaRegistry, options as LunaRegistryOptions)
    const error = await app.ready().then(() => undefined, (err: Error & { code?: string }) => err)
    t.match(error, { code: 'FST_LUNA_INVALID_OPTION', message }, JSON.stringify(options))
    await app.close().catch(() => {})
  }
})

t.test('the caller\'s options object is never modified', async (t) => {
  const options = Object.freeze({ prefix: '/luna/', heartbeatTimeout: '10s', auth: Object.freeze({ username: 'u' }) })
  const app = Fastify()
  await app.register(lunaRegistry, options)
  t.teardown(() => app.close())
  t.same(options, { prefix: '/luna/', heartbeatTimeout: '10s', auth: { username: 'u' } })
  t.equal(app.lunaRegistry.heartbeatTimeout, 10_000)
})

t.test('prefix: a custom one, a trailing slash, and none at all', async (t) => {
  for (const [prefix, url] of [['/luna', '/luna/services'], ['/luna/', '/luna/services'], ['', '/services']] as const) {
    const app = Fastify()
    await app.register(lunaRegistry, { prefix })
    t.teardown(() => app.close())
    t.equal((await app.inject({ method: 'GET', url, headers: AUTH })).statusCode, 200, `prefix ${JSON.stringify(prefix)}: ${url}`)
    t.equal((await app.inject({ method: 'GET', url: '/registry/v1/services', headers: AUTH })).statusCode, 404)
  }
})

t.test('a host app\'s own view engine, basic auth and parsers are left alone', async (t) => {
  const app = Fastify()
  await app.register(view, { engine: { eta: new Eta() }, templates: new URL('../views', import.meta.url).pathname })
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => { done(null, body) })
  app.post('/echo', async (request) => ({ got: request.body }))
  await app.register(lunaRegistry)
  t.teardown(() => app.close())
  await app.ready()
  t.equal(typeof app.view, 'function', 'the host keeps reply.view')
  const echo = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'text/plain' }, payload: 'hi' })
  t.same(echo.json(), { got: 'hi' }, 'the host keeps its text parser')
  const luna = await app.inject({ method: 'POST', url: '/registry/v1/instances/orders:h:1', headers: { ...AUTH, 'content-type': 'text/plain' }, payload: 'hi' })
  t.equal(luna.statusCode, 415, 'the registry still speaks only JSON')
})

t.test('the registry ignores the host app\'s Ajv coercion', async (t) => {
  const app = Fastify({ ajv: { customOptions: { coerceTypes: true, removeAdditional: 'all' } } })
  await app.register(lunaRegistry)
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/registry/v1/instances/orders:h:1', headers: AUTH, payload: info('orders', { version: 1 }) })
  t.equal(res.statusCode, 400)
})

t.test('ignoreTrailingSlash in the host app still routes both service URLs', async (t) => {
  const app = Fastify({ routerOptions: { ignoreTrailingSlash: true } })
  await app.register(lunaRegistry)
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'GET', url: '/registry/v1/services', headers: AUTH })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/registry/v1/services/', headers: AUTH })).statusCode, 200)
})

t.test('fastify.lunaRegistry serves in-process look-ups and writes', async (t) => {
  const app = Fastify()
  await app.register(lunaRegistry)
  t.teardown(() => app.close())
  const registry = app.lunaRegistry
  const { created, instance } = await registry.register('orders:h:1', { name: 'orders', version: '1', status: 'OK', url: 'http://h:1/' })
  t.equal(created, true)
  t.equal(instance.status, 'OK')
  t.equal((await registry.getInstance('orders:h:1'))?.version, '1')
  t.equal((await registry.heartbeat('orders:h:1', { name: 'orders', version: '2', status: 'OK', url: 'http://h:1/' }))?.version, '2')
  t.same((await registry.listServices()).map((s) => s.name), ['orders'])
  t.equal((await registry.getService('orders'))?.instancesTotal, 1)
  t.equal(await registry.deregister('orders:h:1'), true)
  t.equal(await registry.heartbeat('orders:h:1', { name: 'orders', version: '2', status: 'OK', url: 'http://h:1/' }), undefined)
  await t.rejects(registry.register('orders', { name: 'orders', version: '1', status: 'OK', url: 'http://h/' }), { code: 'FST_LUNA_INVALID_INSTANCE_ID' })
  await t.rejects(registry.register('orders:h:1', { name: 'billing', version: '1', status: 'OK', url: 'http://h/' }), { code: 'FST_LUNA_INSTANCE_ID_MISMATCH' })
  const bad = { name: 'orders', version: '1', status: 'ok', url: 'http://h/' } as unknown as Parameters<typeof registry.register>[1]
  await t.rejects(registry.register('orders:h:1', bad), { code: 'FST_LUNA_INVALID_INSTANCE_INFO', statusCode: 400, message: 'info/status must be one of "OK", "DOWN"' })
  await t.rejects(registry.heartbeat('orders:h:1', { ...bad, status: 'OK', url: 'nope' }), { message: 'info/url must be an absolute http: or https: URL' })
  t.same(await registry.listInstances(), [])
})

t.test('a store passed in is used, and left open for its owner to close', async (t) => {
  let closed = 0
  const inner = new MemoryStore()
  const store = wrapStore({ close: async () => { closed++ } }, inner)
  const app = Fastify()
  await app.register(lunaRegistry, { store })
  await app.inject({ method: 'POST', url: '/registry/v1/instances/orders:h:1', headers: AUTH, payload: info() })
  t.equal((await inner.list()).length, 1)
  t.equal(app.lunaRegistry.store, store)
  await app.close()
  t.equal(closed, 0, 'the app did not close what it was given')
  t.equal((await inner.list()).length, 1, 'and the caller can still read it')
})

t.test('the store the registry made itself is closed with the app', async (t) => {
  const app = Fastify()
  await app.register(lunaRegistry)
  await app.ready()
  const store = app.lunaRegistry.store
  let closed = 0
  const close = store.close.bind(store)
  store.close = async () => { closed++; await close() }
  await app.close()
  t.equal(closed, 1)
})

t.test('two registries in one app, each with its own prefix and store', async (t) => {
  const app = Fastify()
  await app.register(async (scope) => { await scope.register(lunaRegistry, { prefix: '/a' }) })
  await app.register(async (scope) => { await scope.register(lunaRegistry, { prefix: '/b', auth: { username: 'b' } }) })
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'POST', url: '/a/instances/orders:h:1', headers: AUTH, payload: info() })).statusCode, 201)
  const b = await app.inject({ method: 'GET', url: '/b/services', headers: { authorization: `Basic ${Buffer.from('b:').toString('base64')}` } })
  t.same(b.json(), [])
})
