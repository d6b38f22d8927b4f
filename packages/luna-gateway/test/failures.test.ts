import { once } from 'node:events'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import { freePort as closedPort } from '../../../test-support/redis-server.js'
import { echoed, send, startEcho, startGateway, startUpstream } from './helpers.js'

/** A server that accepts each connection and resets it at once, counting them. */
interface Tap { teardown: (fn: () => unknown) => void }

async function startResetter (t: Tap): Promise<{ origin: string, connections: () => number }> {
  let connections = 0
  const server = createServer((socket: Socket) => {
    connections++
    socket.resetAndDestroy()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections }
}

t.test('unknown service: 404 FST_LUNA_SERVICE_NOT_FOUND in Fastify\'s shape', async (t) => {
  const gateway = await startGateway(t)
  const answer = await send(gateway.origin, '/gateway/services/nobody/x')
  t.equal(answer.status, 404)
  t.same(JSON.parse(answer.body), { statusCode: 404, code: 'FST_LUNA_SERVICE_NOT_FOUND', error: 'Not Found', message: 'Service "nobody" has no registered instances' })
})

t.test('no instance OK with a weight above 0: 503 FST_LUNA_NO_INSTANCE_AVAILABLE', async (t) => {
  const upstream = await startEcho(t, 'orders')
  const gateway = await startGateway(t)
  await gateway.register('orders:a:1', upstream.origin, { status: 'DOWN' })
  await gateway.register('orders:b:1', upstream.origin, { balancerOptions: { weight: 0 } })
  const answer = await send(gateway.origin, '/gateway/services/orders/x')
  t.equal(answer.status, 503)
  t.same(JSON.parse(answer.body), {
    statusCode: 503,
    code: 'FST_LUNA_NO_INSTANCE_AVAILABLE',
    error: 'Service Unavailable',
    message: 'Service "orders" has no instance that is OK with a weight above 0'
  })
  t.equal(upstream.seen.length, 0)
})

t.test('an instance past its heartbeat deadline gets no traffic, before the sweeper says so', async (t) => {
  let now = Date.parse('2026-01-01T00:00:00Z')
  const a = await startEcho(t, 'a')
  const b = await startEcho(t, 'b')
  const gateway = await startGateway(t, {}, { now: () => now, heartbeatTimeout: '10s', sweepInterval: '1h' })
  await gateway.register('orders:a:1', a.origin)
  await gateway.register('orders:b:1', b.origin)
  now += 9_999
  await gateway.app.lunaRegistry.heartbeat('orders:b:1', { name: 'orders', version: '1.0.0', status: 'OK', url: b.origin })
  now += 1
  const names = []
  for (let i = 0; i < 4; i++) names.push(echoed(await send(gateway.origin, '/gateway/services/orders/x')).name)
  t.same(names, ['b', 'b', 'b', 'b'], 'a\'s deadline has just passed')
  t.equal(a.seen.length, 0)
  now += 10_000
  t.equal((await send(gateway.origin, '/gateway/services/orders/x')).status, 503, 'and b\'s')
})

t.test('a refused connection: another instance answers, and the refusing one cools down', async (t) => {
  let now = 0
  const live = await startEcho(t, 'live')
  const gateway = await startGateway(t, { coolDown: '10s', now: () => now })
  // `a` sorts first: the balancer tries it first.
  await gateway.register('orders:a:1', `http://127.0.0.1:${await closedPort()}`)
  await gateway.register('orders:b:1', live.origin)
  const refusals = (): number => gateway.logs.filter((line) => line['instanceId'] === 'orders:a:1' && line['failure'] === 'connect').length
  for (let i = 0; i < 6; i++) {
    const answer = await send(gateway.origin, '/gateway/services/orders/x', { method: 'POST', body: `order ${i}` })
    t.equal(answer.status, 200, `request ${i}`)
    t.match(echoed(answer), { name: 'live', body: `order ${i}` }, 'a POST and its body, sent again whole')
  }
  t.equal(live.seen.length, 6)
  t.equal(refusals(), 1, 'a was tried once, then skipped')
  now += 10_000
  for (let i = 0; i < 2; i++) t.equal((await send(gateway.origin, '/gateway/services/orders/x')).status, 200)
  t.equal(refusals(), 2, 'and tried again, in its turn, once its cool-down was over')
})

t.test('an upstream killed while still registered costs no failed GET', async (t) => {
  const a = await startEcho(t, 'a')
  const b = await startEcho(t, 'b')
  const gateway = await startGateway(t)
  await gateway.register('orders:a:1', a.origin)
  await gateway.register('orders:b:1', b.origin)
  const before = await Promise.all([1, 2, 3, 4].map(async () => echoed(await send(gateway.origin, '/gateway/services/orders/x')).name))
  t.same(before.sort(), ['a', 'a', 'b', 'b'])
  await a.close()
  const statuses = []
  for (let i = 0; i < 40; i++) statuses.push((await send(gateway.origin, '/gateway/services/orders/x')).status)
  t.same(statuses, Array(40).fill(200), '0 failed GETs')
  const concurrent = await Promise.all(Array.from({ length: 20 }, async () => (await send(gateway.origin, '/gateway/services/orders/x')).status))
  t.same(concurrent, Array(20).fill(200), 'nor concurrent ones')
})

t.test('the cool-down ends: a restarted instance gets traffic again', async (t) => {
  let now = 0
  const a = await startEcho(t, 'a')
  const b = await startEcho(t, 'b')
  const gateway = await startGateway(t, { coolDown: '5s', now: () => now })
  await gateway.register('orders:a:1', a.origin)
  await gateway.register('orders:b:1', b.origin)
  await a.close()
  const names = async (count: number): Promise<string[]> => {
    const seen = []
    for (let i = 0; i < count; i++) seen.push(echoed(await send(gateway.origin, '/gateway/services/orders/x')).name)
    return seen
  }
  t.same(await names(4), ['b', 'b', 'b', 'b'])
  const again = await startEcho(t, 'a again')
  await gateway.register('orders:a:1', again.origin)
  now += 4_999
  t.same(await names(2), ['b', 'b'], 'still cooling down')
  now += 1
  t.same((await names(4)).sort(), ['a again', 'a again', 'b', 'b'])
})

t.test('every instance cooling down: they are tried anyway, rather than refused unasked', async (t) => {
  const port = await closedPort()
  const gateway = await startGateway(t, { coolDown: '1h' })
  await gateway.register('orders:a:1', `http://127.0.0.1:${port}`)
  const refused = await send(gateway.origin, '/gateway/services/orders/x')
  t.equal(refused.status, 502)
  t.match(JSON.parse(refused.body), { statusCode: 502, code: 'FST_LUNA_BAD_GATEWAY', error: 'Bad Gateway', message: /^No instance of service "orders" could be reached: .*ECONNREFUSED/ })
  await startEcho(t, 'back', port)
  t.equal(echoed(await send(gateway.origin, '/gateway/services/orders/x')).name, 'back')
})

t.test('connections reset before any response byte: other instances, at most `attempts`, then 502', async (t) => {
  const resetters = [await startResetter(t), await startResetter(t), await startResetter(t), await startResetter(t)]
  const gateway = await startGateway(t, { attempts: 3 })
  for (const [i, resetter] of resetters.entries()) await gateway.register(`orders:r${i}:1`, resetter.origin)
  const answer = await send(gateway.origin, '/gateway/services/orders/x', { method: 'DELETE' })
  t.equal(answer.status, 502)
  t.match(JSON.parse(answer.body), { code: 'FST_LUNA_BAD_GATEWAY', message: /could be reached/ })
  t.equal(resetters.reduce((sum, resetter) => sum + resetter.connections(), 0), 3, 'three attempts, each on another instance')
  t.equal(resetters.filter((resetter) => resetter.connections() > 1).length, 0)
})

t.test('a single instance whose connection breaks is tried again, it did not refuse', async (t) => {
  let requests = 0
  const flaky = await startUpstream(t, (request, response) => {
    requests++
    if (requests === 1) request.socket.resetAndDestroy()
    else response.end('second time lucky')
  })
  const gateway = await startGateway(t)
  await gateway.register('orders:a:1', flaky.origin)
  const answer = await send(gateway.origin, '/gateway/services/orders/x')
  t.equal(answer.status, 200)
  t.equal(answer.body, 'second time lucky')
})

t.test('no response headers in time: 504; a GET tries another instance first, a POST does not', async (t) => {
  const silent = async (): Promise<{ origin: string, requests: () => number }> => {
    let requests = 0
    const upstream = await startUpstream(t, () => { requests++ })
    return { origin: upstream.origin, requests: () => requests }
  }
  const a = await silent()
  const b = await silent()
  const gateway = await startGateway(t, { timeout: 150 })
  await gateway.register('orders:a:1', a.origin)
  await gateway.register('orders:b:1', b.origin)
  const get = await send(gateway.origin, '/gateway/services/orders/x')
  t.equal(get.status, 504)
  t.same(JSON.parse(get.body), { statusCode: 504, code: 'FST_LUNA_GATEWAY_TIMEOUT', error: 'Gateway Timeout', message: 'Service "orders" sent no response headers within 150 ms' })
  t.same([a.requests(), b.requests()], [1, 1], 'the GET went to both')
  const post = await send(gateway.origin, '/gateway/services/orders/x', { method: 'POST', body: 'once' })
  t.equal(post.status, 504)
  t.equal(a.requests() + b.requests(), 3, 'the POST went to one only')
})

t.test('paths that could leave the instance\'s base path: 400, and nothing is forwarded', async (t) => {
  const upstream = await startEcho(t, 'orders')
  const gateway = await startGateway(t)
  await gateway.register('orders:a:1', `${upstream.origin}/api/`)
  const refused = [
    '/gateway/services/orders/../admin',
    '/gateway/services/orders/a/../../admin',
    '/gateway/services/orders/%2e%2e/admin',
    '/gateway/services/orders/%2E%2e/admin',
    '/gateway/services/orders/.%2e/admin',
    '/gateway/services/orders/./x',
    '/gateway/services/orders/..%2fadmin',
    '/gateway/services/orders/x%2F..%2F..%2Fadmin',
    '/gateway/services/orders/..%5cadmin',
    '/gateway/services/orders/..\\admin',
    '/gateway/services/orders/%252e%252e/admin',
    '/gateway/services/orders/..;/admin',
    '/gateway/services/orders/x%00',
    '/gateway/services/%2e%2e/x'
  ]
  for (const path of refused) {
    const answer = await send(gateway.origin, path)
    t.equal(answer.status, 400, path)
    t.match(JSON.parse(answer.body), { statusCode: 400, code: 'FST_LUNA_INVALID_PATH', error: 'Bad Request', message: /^The path / }, path)
  }
  // Escapes that are not escapes, or not UTF-8: Fastify's router refuses them first.
  for (const path of ['/gateway/services/orders/%zz', '/gateway/services/orders/%ff']) {
    const answer = await send(gateway.origin, path)
    t.match(JSON.parse(answer.body), { statusCode: 400, code: 'FST_ERR_BAD_URL' }, path)
  }
  t.equal(upstream.seen.length, 0)
  t.equal(echoed(await send(gateway.origin, '/gateway/services/orders/a..b/x...y?q=..')).url, '/api/a..b/x...y?q=..', 'dots inside a segment, or in the query, are fine')
})

t.test('a body over the limit: 413, whether its length is announced or not', async (t) => {
  const upstream = await startEcho(t, 'orders')
  const gateway = await startGateway(t, { bodyLimit: 1024 })
  await gateway.register('orders:a:1', upstream.origin)
  const announced = await send(gateway.origin, '/gateway/services/orders/x', { method: 'POST', body: 'x'.repeat(1025) })
  t.equal(announced.status, 413)
  t.same(JSON.parse(announced.body), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE', error: 'Payload Too Large', message: 'body is larger than the limit of 1024 bytes' })
  t.equal(upstream.seen.length, 0, 'refused before forwarding')
  const chunked = await send(gateway.origin, '/gateway/services/orders/x', { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: 'x'.repeat(1025) })
  t.equal(chunked.status, 413)
  t.match(JSON.parse(chunked.body), { code: 'FST_ERR_CTP_BODY_TOO_LARGE' })
  const within = await send(gateway.origin, '/gateway/services/orders/x', { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: 'x'.repeat(1024) })
  t.equal(echoed(within).body.length, 1024)
})
