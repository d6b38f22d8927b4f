import Fastify from 'fastify'
import lunaRegistry from 'luna-registry'
import t from 'tap'
import lunaGateway, { normaliseGatewayOptions, type LunaGatewayOptions } from '../src/index.js'

t.test('defaults', async (t) => {
  const settings = normaliseGatewayOptions({})
  t.match(settings, {
    source: undefined,
    prefix: '/gateway',
    balancer: 'weighted-round-robin',
    timeout: 30_000,
    connectTimeout: 5_000,
    attempts: 3,
    coolDown: 10_000,
    bodyLimit: 100 * 1024 * 1024,
    preserveHost: false,
    auth: false
  })
  t.equal(settings.now, Date.now)
})

t.test('durations, names and the caller\'s object left alone', async (t) => {
  const options: LunaGatewayOptions = { timeout: '2s', connectTimeout: 250, coolDown: 0, balancer: 'None', prefix: '/edge/', auth: { username: 'ops' } }
  const copy = structuredClone(options)
  t.match(normaliseGatewayOptions(options), { timeout: 2000, connectTimeout: 250, coolDown: 0, balancer: 'first', prefix: '/edge', auth: { username: 'ops', password: '' } })
  t.same(options, copy)
  t.equal(normaliseGatewayOptions({ prefix: '' }).prefix, '')
  t.equal(normaliseGatewayOptions({ balancer: 'RoundRobin' }).balancer, 'round-robin')
})

t.test('a bad option fails the plugin\'s load with a message naming it', async (t) => {
  const bad: Array<[LunaGatewayOptions, RegExp]> = [
    [{ balancer: 'fastest' }, /^luna-gateway option "balancer" must be one of weighted-round-robin, round-robin, random, first \(or WeightedRoundRobin, RoundRobin, None\), got "fastest"$/],
    [{ timeout: 0 }, /^luna-gateway option "timeout" must be a positive number of milliseconds/],
    [{ connectTimeout: 'soon' }, /"connectTimeout" must be a positive number/],
    [{ coolDown: -1 }, /"coolDown" must be a zero or positive number/],
    [{ attempts: 0 }, /"attempts" must be a positive integer number of instances, got 0/],
    [{ bodyLimit: 1.5 }, /"bodyLimit" must be a positive integer number of bytes, got 1.5/],
    [{ prefix: 'gateway' }, /"prefix" must be '' or a path starting with "\/"/],
    [{ prefix: '/a b' }, /"prefix"/],
    [{ preserveHost: 'yes' as never }, /"preserveHost" must be a boolean, got "yes"/],
    [{ auth: { username: '' } }, /"auth.username" must be a non-empty string without ":"/],
    [{ auth: { username: 'a', password: 1 as never } }, /"auth.password" must be a string, got 1/],
    [{ registryUrl: 'ftp://registry' }, /"registryUrl" must be an absolute http: or https: URL$/],
    [{ registryUrl: 'http://a:secret@', registryPrefix: 1 as never }, /"registryUrl"/],
    [{ registryUrl: 'http://registry', registry: {} as never }, /"registryUrl" cannot be given with registry/],
    [{ registry: {} as never }, /"registry" must be a LunaRegistry/],
    [{ now: 5 as never }, /"now" must be a function/]
  ]
  for (const [options, message] of bad) {
    const app = Fastify()
    app.register(lunaGateway, options)
    await t.rejects(async () => { await app.ready() }, { code: 'FST_LUNA_INVALID_OPTION', message }, JSON.stringify(options))
    await app.close()
  }
})

t.test('the password in a registry URL is never repeated', async (t) => {
  let message = ''
  try {
    normaliseGatewayOptions({ registryUrl: 'gopher://ops:hunter2@registry' })
  } catch (error) {
    message = (error as Error).message
  }
  t.match(message, /"registryUrl" must be an absolute http: or https: URL/)
  t.notMatch(message, /hunter2/)
})

t.test('without a registry in the app, one must be named', async (t) => {
  const app = Fastify()
  app.register(lunaGateway)
  await t.rejects(async () => { await app.ready() }, { code: 'FST_LUNA_INVALID_OPTION', message: /"registry" is required when the app has no luna-registry/ })
  await app.close()
})

t.test('the registry of the app by default, or the one given', async (t) => {
  const app = Fastify()
  await app.register(lunaRegistry)
  await app.register(lunaGateway)
  await app.ready()
  t.teardown(() => app.close())
  t.same({ mode: app.lunaGateway.mode, synchronised: app.lunaGateway.synchronised }, { mode: 'registry', synchronised: true })

  const other = Fastify()
  await other.register(lunaGateway, { registry: app.lunaRegistry })
  await other.ready()
  t.teardown(() => other.close())
  await app.lunaRegistry.register('orders:a:1', { name: 'orders', version: '1', status: 'DOWN', url: 'http://127.0.0.1:1/' })
  const answer = await other.inject({ url: '/gateway/services/orders/x' })
  t.equal(answer.statusCode, 503, 'the other app routes by the first app\'s registry')
})
