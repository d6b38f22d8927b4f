import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import lunaRegistry from 'luna-registry'
import t from 'tap'
import { freePort } from '../../../test-support/redis-server.js'
import { until } from '../../../test-support/until.js'
import lunaGateway from '../src/index.js'
import { echoed, send, startEcho } from './helpers.js'

interface Tap { teardown: (fn: () => unknown) => void }

const credentials = { username: 'ops', password: 's3cret' }

/** A registry alone, as luna-server runs it, on `port`. */
async function startRegistry (t: Tap, port: number): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(lunaRegistry, { auth: credentials })
  await app.listen({ port, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return app
}

/** A gateway-only app following the registry on `registryPort`. */
async function startFollower (t: Tap, registryPort: number): Promise<{ app: FastifyInstance, origin: string }> {
  const app = Fastify()
  await app.register(lunaGateway, {
    registryUrl: `http://${credentials.username}:${credentials.password}@127.0.0.1:${registryPort}`,
    watch: { backoff: { initialDelay: 20, maxDelay: 50 } }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, origin: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

async function register (registry: FastifyInstance, id: string, url: string, status: 'OK' | 'DOWN' = 'OK'): Promise<void> {
  await registry.lunaRegistry.register(id, { name: id.split(':')[0]!, version: '1.0.0', status, url })
}

t.test('a follower answers 503 until its first snapshot, then routes by the registry within a second', async (t) => {
  const registryPort = await freePort()
  const follower = await startFollower(t, registryPort)
  t.equal(follower.app.lunaGateway.mode, 'follower')
  t.equal(follower.app.lunaGateway.synchronised, false)
  const early = await send(follower.origin, '/gateway/services/orders/x')
  t.equal(early.status, 503)
  t.same(JSON.parse(early.body), {
    statusCode: 503,
    code: 'FST_LUNA_GATEWAY_NOT_SYNCHRONISED',
    error: 'Service Unavailable',
    message: 'The gateway has not yet received the service list from the registry'
  })

  const registry = await startRegistry(t, registryPort)
  await until('the follower has its first snapshot', () => follower.app.lunaGateway.synchronised || undefined)
  t.equal((await send(follower.origin, '/gateway/services/orders/x')).status, 404, 'synchronised: an unknown service is a 404')

  const upstream = await startEcho(t, 'orders')
  await register(registry, 'orders:a:1', upstream.origin)
  const answer = await until('the registration is routable on the follower', async () => {
    const attempt = await send(follower.origin, '/gateway/services/orders/items?x=1')
    return attempt.status === 200 ? attempt : undefined
  }, 1000)
  t.equal(echoed(answer).url, '/items?x=1')

  await register(registry, 'orders:a:1', upstream.origin, 'DOWN')
  await until('the DOWN status reaches the follower', async () => (await send(follower.origin, '/gateway/services/orders/x')).status === 503 || undefined, 1000)
  await registry.lunaRegistry.deregister('orders:a:1')
  await until('the deregistration reaches the follower', async () => (await send(follower.origin, '/gateway/services/orders/x')).status === 404 || undefined, 1000)
})

t.test('a lost stream reconnects and resynchronises from the new snapshot', async (t) => {
  const registryPort = await freePort()
  const first = await startRegistry(t, registryPort)
  const orders = await startEcho(t, 'orders')
  await register(first, 'orders:a:1', orders.origin)
  const follower = await startFollower(t, registryPort)
  await until('orders is routable', async () => (await send(follower.origin, '/gateway/services/orders/x')).status === 200 || undefined)

  await first.close()
  const kept = await send(follower.origin, '/gateway/services/orders/x')
  t.equal(kept.status, 200, 'while the registry is away, the last list still routes')

  // A registry that restarted with other contents: the follower must forget orders.
  const second = await startRegistry(t, registryPort)
  const billing = await startEcho(t, 'billing')
  await register(second, 'billing:b:1', billing.origin)
  await until('billing is routable', async () => (await send(follower.origin, '/gateway/services/billing/x')).status === 200 || undefined, 5000)
  t.equal((await send(follower.origin, '/gateway/services/orders/x')).status, 404, 'orders is gone with the old snapshot')
})

t.test('a follower routes by metadata headers, skips held instances, and keeps routing through a protection event', async (t) => {
  const registryPort = await freePort()
  const app = Fastify()
  await app.register(lunaRegistry, { auth: credentials, heartbeatTimeout: 300, sweepInterval: 20 })
  await app.listen({ port: registryPort, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const follower = await startFollower(t, registryPort)
  const eu = await startEcho(t, 'eu')
  const us = await startEcho(t, 'us')
  const body = (url: string, zone: string): Parameters<typeof app.lunaRegistry.register>[1] => ({ name: 'orders', version: '1.0.0', status: 'OK', url, metadata: { zone } })
  await app.lunaRegistry.register('orders:eu:1', body(eu.origin, 'eu-1'))
  await app.lunaRegistry.register('orders:us:1', body(us.origin, 'us-1'))
  const beat = setInterval(() => {
    app.lunaRegistry.heartbeat('orders:eu:1', body(eu.origin, 'eu-1')).catch(() => {})
    app.lunaRegistry.heartbeat('orders:us:1', body(us.origin, 'us-1')).catch(() => {})
  }, 50)
  t.teardown(() => clearInterval(beat))
  const zoned = async (zone: string): ReturnType<typeof send> => await send(follower.origin, '/gateway/services/orders/x', { headers: { 'x-luna-metadata-zone': zone } })
  await until('the follower routes by zone', async () => (await zoned('us-1')).status === 200 ? true : undefined)
  for (let i = 0; i < 3; i++) t.equal(echoed(await zoned('us-1')).name, 'us')

  // Five instances that never heartbeat turn protection on: the follower's table stays.
  for (let i = 0; i < 5; i++) await register(app, `billing:10.0.0.${i}:1`, `http://10.0.0.${i}:1/`)
  await until('protection is on', () => app.lunaRegistry.protection.active ? true : undefined)
  t.equal(echoed(await zoned('eu-1')).name, 'eu')

  await app.lunaRegistry.setMaintenance('orders:us:1', 'disk swap')
  await until('the follower skips the held one', async () => (await zoned('us-1')).status === 503 ? true : undefined)
  t.equal(echoed(await send(follower.origin, '/gateway/services/orders/x')).name, 'eu', 'without the header, the others')
})
