import t from 'tap'
import { echoed, send, startEcho, startGateway, startUpstream } from './helpers.js'

t.test('the path goes below the instance URL\'s path, the query byte for byte', async (t) => {
  const upstream = await startEcho(t, 'orders')
  const gateway = await startGateway(t)
  await gateway.register('orders:a:1', `${upstream.origin}/api/`)
  await gateway.register('billing:b:1', `${upstream.origin}/v2`)
  await gateway.register('root:c:1', upstream.origin)
  const url = async (path: string): Promise<string> => {
    const answer = await send(gateway.origin, path)
    t.equal(answer.status, 200, path)
    return echoed(answer).url
  }
  t.equal(await url('/gateway/services/orders/items/1?x=1'), '/api/items/1?x=1')
  t.equal(await url("/gateway/services/orders/items/1?b='q'&a=2&a=1&c=%7e&d&e=%20+x"), "/api/items/1?b='q'&a=2&a=1&c=%7e&d&e=%20+x")
  t.equal(await url('/gateway/services/orders'), '/api/', 'the service\'s root is the instance URL')
  t.equal(await url('/gateway/services/orders/'), '/api/')
  t.equal(await url('/gateway/services/orders?x=1'), '/api/?x=1')
  t.equal(await url('/gateway/services/billing/items/1'), '/v2/items/1', 'a "/" inserted below a path without one')
  t.equal(await url('/gateway/services/billing'), '/v2')
  t.equal(await url('/gateway/services/billing/'), '/v2/')
  t.equal(await url('/gateway/services/root/a/b%20c/%7Ed'), '/a/b%20c/%7Ed', 'percent-encoding kept as sent')
  t.equal(await url('/gateway/services/root/a//b'), '/a//b')
})

t.test('every method and its body go through; so does the upstream\'s status and body', async (t) => {
  const upstream = await startEcho(t, 'orders')
  const gateway = await startGateway(t)
  await gateway.register('orders:a:1', upstream.origin)
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    const answer = await send(gateway.origin, '/gateway/services/orders/things', {
      method,
      headers: { 'content-type': 'text/plain' },
      body: `${method} body`
    })
    t.equal(answer.status, 200, method)
    t.match(echoed(answer), { method, url: '/things', body: `${method} body`, headers: { 'content-type': 'text/plain' } }, method)
  }
  const json = await send(gateway.origin, '/gateway/services/orders/things', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a": [1, 2]}' })
  t.equal(echoed(json).body, '{"a": [1, 2]}', 'JSON is forwarded as sent, not parsed and written again')
  const untyped = await send(gateway.origin, '/gateway/services/orders/things', { method: 'POST', body: 'no type' })
  t.equal(echoed(untyped).body, 'no type', 'a body without a content type')
  const get = await send(gateway.origin, '/gateway/services/orders/things')
  t.match(echoed(get), { method: 'GET', body: '' })
  const head = await send(gateway.origin, '/gateway/services/orders/things', { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.body, '')
  t.equal(upstream.seen.at(-1)?.method, 'HEAD')
})

t.test('an upstream error is the upstream\'s answer, headers and all', async (t) => {
  const upstream = await startUpstream(t, (_request, response) => {
    response.statusCode = 500
    response.setHeader('content-type', 'text/plain')
    response.setHeader('x-upstream', 'yes')
    response.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/'])
    response.end('database on fire')
  })
  const gateway = await startGateway(t)
  await gateway.register('orders:a:1', upstream.origin)
  const answer = await send(gateway.origin, '/gateway/services/orders/x')
  t.equal(answer.status, 500)
  t.equal(answer.body, 'database on fire')
  t.equal(answer.headers['content-type'], 'text/plain')
  t.equal(answer.headers['x-upstream'], 'yes')
  t.same(answer.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/'])
})

t.test('hop-by-hop headers stay on their hop; Host is the instance\'s; X-Forwarded-* are set', async (t) => {
  const upstream = await startUpstream(t, (_request, response) => {
    response.setHeader('keep-alive', 'timeout=1')
    response.setHeader('connection', 'x-upstream-private')
    response.setHeader('x-upstream-private', 'secret')
    response.setHeader('x-kept', 'yes')
    response.end('ok')
  })
  const gateway = await startGateway(t)
  await gateway.register('orders:a:1', upstream.origin)
  const answer = await send(gateway.origin, '/gateway/services/orders/x', {
    headers: {
      host: 'shop.example:8443',
      connection: 'keep-alive, x-client-private',
      'x-client-private': 'secret',
      'keep-alive': 'timeout=5',
      'proxy-authorization': 'Basic Zm9vOmJhcg==',
      te: 'trailers',
      'x-custom': 'kept',
      'x-forwarded-for': '203.0.113.9',
      authorization: 'Bearer service-token'
    }
  })
  t.equal(answer.status, 200)
  const headers = upstream.seen[0]!.headers
  t.equal(headers['x-custom'], 'kept')
  t.equal(headers['authorization'], 'Bearer service-token', 'the service\'s own auth goes through')
  t.equal(headers['x-client-private'], undefined, 'a header named in Connection is dropped')
  t.equal(headers['keep-alive'], undefined)
  t.equal(headers['proxy-authorization'], undefined)
  t.equal(headers['te'], 'trailers', 'te: trailers says trailers are welcome')
  t.equal(headers['host'], `127.0.0.1:${upstream.port}`)
  t.equal(headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1', 'the client appended')
  t.equal(headers['x-forwarded-proto'], 'http')
  t.equal(headers['x-forwarded-host'], 'shop.example:8443')
  t.equal(answer.headers['x-kept'], 'yes')
  t.equal(answer.headers['x-upstream-private'], undefined)
  t.not(answer.headers['keep-alive'], 'timeout=1', 'the upstream\'s keep-alive is not the client\'s')
})

t.test('Expect: 100-continue is answered by the gateway, not forwarded (curl sends it for large uploads)', async (t) => {
  const upstream = await startEcho(t, 'files')
  const gateway = await startGateway(t)
  await gateway.register('files:a:1', upstream.origin)
  const answer = await send(gateway.origin, '/gateway/services/files/up', { method: 'PUT', headers: { expect: '100-continue' }, body: 'the upload' })
  t.equal(answer.status, 200)
  t.equal(echoed(answer).body, 'the upload')
  t.equal(echoed(answer).headers['expect'], undefined)
})

t.test('preserveHost sends the client\'s Host', async (t) => {
  const upstream = await startEcho(t, 'orders')
  const gateway = await startGateway(t, { preserveHost: true })
  await gateway.register('orders:a:1', upstream.origin)
  const answer = await send(gateway.origin, '/gateway/services/orders/x', { headers: { host: 'shop.example' } })
  t.equal(echoed(answer).headers['host'], 'shop.example')
})

t.test('response trailers the upstream declares reach the client after the body', async (t) => {
  const upstream = await startUpstream(t, (_request, response) => {
    response.setHeader('trailer', 'x-checksum')
    response.write('part 1, ')
    response.addTrailers({ 'x-checksum': 'abc123' })
    response.end('part 2')
  })
  const gateway = await startGateway(t)
  await gateway.register('orders:a:1', upstream.origin)
  const answer = await send(gateway.origin, '/gateway/services/orders/x')
  t.equal(answer.body, 'part 1, part 2')
  t.equal(answer.headers['trailer'], 'x-checksum')
  t.same(answer.trailers, { 'x-checksum': 'abc123' })
})

t.test('no auth by default; with auth, the registry\'s credentials are checked and not forwarded', async (t) => {
  const upstream = await startEcho(t, 'orders')
  const open = await startGateway(t)
  await open.register('orders:a:1', upstream.origin)
  t.equal((await send(open.origin, '/gateway/services/orders/x')).status, 200)

  const guarded = await startGateway(t, { auth: { username: 'ops', password: 's3cret' } })
  await guarded.register('orders:a:1', upstream.origin)
  const anonymous = await send(guarded.origin, '/gateway/services/orders/x')
  t.equal(anonymous.status, 401)
  t.equal(anonymous.headers['www-authenticate'], 'Basic realm="Luna"')
  const wrong = await send(guarded.origin, '/gateway/services/orders/x', { headers: { authorization: `Basic ${Buffer.from('ops:nope').toString('base64')}` } })
  t.match(JSON.parse(wrong.body), { statusCode: 401, code: 'FST_LUNA_UNAUTHORIZED' })
  const right = await send(guarded.origin, '/gateway/services/orders/x', { headers: { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` } })
  t.equal(right.status, 200)
  t.equal(echoed(right).headers['authorization'], undefined, 'the registry\'s credentials stay here')
})

t.test('the gateway lives under its prefix, beside the registry', async (t) => {
  const upstream = await startEcho(t, 'orders')
  const gateway = await startGateway(t, { prefix: '/edge/v1/' })
  await gateway.register('orders:a:1', upstream.origin)
  t.equal(echoed(await send(gateway.origin, '/edge/v1/services/orders/x')).url, '/x')
  t.equal((await send(gateway.origin, '/gateway/services/orders/x')).status, 404)
  const unknown = await send(gateway.origin, '/edge/v1/elsewhere')
  t.match(JSON.parse(unknown.body), { statusCode: 404, code: 'FST_LUNA_ROUTE_NOT_FOUND' })
  const registry = await send(gateway.origin, '/registry/v1/services')
  t.equal(registry.status, 401, 'the registry keeps its auth')
})
