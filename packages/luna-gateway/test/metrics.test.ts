import Fastify from 'fastify'
import t from 'tap'
import lunaRegistry from 'luna-registry'
import { freePort as closedPort } from '../../../test-support/redis-server.js'
import lunaGateway from '../src/index.js'
import { send, startEcho, startGateway } from './helpers.js'

const AUTH = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }

async function metrics (origin: string): Promise<string> {
  return await (await fetch(`${origin}/registry/v1/metrics`, { headers: AUTH })).text()
}

t.test('requests and upstream errors are counted by service, at the registry\'s /metrics', async (t) => {
  const live = await startEcho(t, 'live')
  const gateway = await startGateway(t)
  await gateway.register('orders:a:1', `http://127.0.0.1:${await closedPort()}`)
  await gateway.register('orders:b:1', live.origin)
  await gateway.register('billing:c:1', live.origin, { status: 'DOWN' })
  for (let i = 0; i < 3; i++) t.equal((await send(gateway.origin, '/gateway/services/orders/x')).status, 200)
  t.equal((await send(gateway.origin, '/gateway/services/billing/x')).status, 503)
  t.equal((await send(gateway.origin, '/gateway/services/nobody-0/x')).status, 404)
  t.equal((await send(gateway.origin, '/gateway/services/nobody-1/x')).status, 404)
  const text = await metrics(gateway.origin)
  t.match(text, /^luna_gateway_requests_total\{service="orders"\} 3$/m)
  t.match(text, /^luna_gateway_requests_total\{service="billing"\} 1$/m)
  t.match(text, /^luna_gateway_upstream_errors_total\{service="orders",failure="connect"\} 1$/m, 'the refused attempt, once: then it cools down')
  t.match(text, /^luna_gateway_unknown_service_total 2$/m)
  t.notMatch(text, /nobody/, 'a name no instance registered is never a label')
})

t.test('without the registry\'s metrics the gateway counts nothing, and still forwards', async (t) => {
  const live = await startEcho(t, 'live')
  const app = Fastify()
  await app.register(lunaRegistry, { metrics: false })
  await app.register(lunaGateway)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  await app.lunaRegistry.register('orders:b:1', { name: 'orders', version: '1', status: 'OK', url: live.origin })
  const origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  t.equal((await send(origin, '/gateway/services/orders/x')).status, 200)
  t.equal((await fetch(`${origin}/registry/v1/metrics`, { headers: AUTH })).status, 404)
})
