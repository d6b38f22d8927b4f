import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { endedWithin, parseHead, rawConnection } from '../../../test-support/raw-http.js'
import { until } from '../../../test-support/until.js'
import { buildServer, type BuildServerOptions } from '../src/index.js'

const PASSWORD = 'Tr0ub4dor-and-3'

function basic (username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
}

const instance = {
  name: 'billing',
  version: '1.2.3',
  status: 'OK',
  url: 'http://billing.internal:8080/'
}

t.test('GET /healthz answers {"status":"ok"} without auth', async (t) => {
  const app = buildServer({ logLevel: 'silent', username: 'ops', password: PASSWORD })
  t.teardown(() => app.close())
  const response = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(response.statusCode, 200)
  t.equal(response.body, '{"status":"ok"}')
  t.match(response.headers['content-type'], /^application\/json/)
})

t.test('GET / redirects to the panel', async (t) => {
  const app = buildServer({ logLevel: 'silent' })
  t.teardown(() => app.close())
  const response = await app.inject({ method: 'GET', url: '/' })
  t.equal(response.statusCode, 302)
  t.equal(response.headers.location, '/registry/v1/services/')
  const panel = await app.inject({ method: 'GET', url: response.headers.location, headers: { accept: 'text/html', authorization: basic('admin', '') } })
  t.equal(panel.statusCode, 200)
  t.match(panel.headers['content-type'], /^text\/html/, 'a browser that follows it lands on the panel')
})

t.test('a gateway-only replica has no panel to redirect to', async (t) => {
  const app = buildServer({ logLevel: 'silent', registryUrl: 'http://admin:@127.0.0.1:9/' })
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 404)
})

t.test('registry routes sit under /registry/v1 behind admin and a blank password by default', async (t) => {
  const app = buildServer({ logLevel: 'silent' })
  t.teardown(() => app.close())
  const anonymous = await app.inject({ method: 'GET', url: '/registry/v1/services' })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.headers['www-authenticate'], 'Basic realm="Luna"')
  const admin = await app.inject({ method: 'GET', url: '/registry/v1/services', headers: { authorization: basic('admin', '') } })
  t.equal(admin.statusCode, 200)
  t.same(admin.json(), [])
})

t.test('a custom username and password replace the defaults', async (t) => {
  const app = buildServer({ logLevel: 'silent', username: 'ops', password: PASSWORD })
  t.teardown(() => app.close())
  const get = async (authorization: string): Promise<number> =>
    (await app.inject({ method: 'GET', url: '/registry/v1/instances', headers: { authorization } })).statusCode
  t.equal(await get(basic('ops', PASSWORD)), 200)
  t.equal(await get(basic('admin', '')), 401, 'the defaults no longer work')
  t.equal(await get(basic('ops', 'wrong')), 401)
  t.equal(await get(basic('admin', PASSWORD)), 401)
})

t.test('the heartbeat timeout reaches the registry', async (t) => {
  let clock = Date.UTC(2026, 0, 1)
  const app = buildServer({ logLevel: 'silent', heartbeatTimeout: 5000, now: () => clock })
  t.teardown(() => app.close())
  const headers = { authorization: basic('admin', '') }
  const registered = await app.inject({ method: 'POST', url: '/registry/v1/instances/billing:billing.internal:8080', headers, payload: instance })
  t.equal(registered.statusCode, 201)
  const status = async (): Promise<string> =>
    (await app.inject({ method: 'GET', url: '/registry/v1/instances/billing:billing.internal:8080', headers })).json().status

  clock += 4999
  t.equal(await status(), 'OK', 'just inside the timeout')
  clock += 1
  t.equal(await status(), 'DOWN', 'at the timeout, far short of the 30 s default')
})

t.test('the log level reaches the logger', async (t) => {
  const app = buildServer({ logLevel: 'warn' })
  t.teardown(() => app.close())
  t.equal(app.log.level, 'warn')
})

t.test('the logs never carry the credentials', async (t) => {
  const lines: string[] = []
  const app = buildServer({
    logLevel: 'trace',
    username: 'ops',
    password: PASSWORD,
    logStream: { write: (line) => { lines.push(line) } }
  })
  // What a host app or a future change might do: log the request headers.
  app.addHook('onResponse', async (request) => { request.log.info({ headers: request.headers }, 'headers seen') })
  const good = basic('ops', PASSWORD)
  const bad = basic('ops', `${PASSWORD}x`)
  await app.inject({ method: 'GET', url: '/registry/v1/services', headers: { authorization: good } })
  await app.inject({ method: 'GET', url: '/registry/v1/services', headers: { authorization: bad } })
  await app.inject({ method: 'POST', url: '/registry/v1/instances/billing:billing.internal:8080', headers: { authorization: good }, payload: instance })
  await app.inject({ method: 'GET', url: '/registry/v1/nowhere', headers: { authorization: good } })
  await app.close()

  const log = lines.join('')
  t.match(log, /incoming request/, 'requests were logged')
  const seen = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'headers seen')
  t.equal(seen.length, 4)
  for (const entry of seen) {
    t.equal(entry.headers.authorization, '[redacted]')
    t.equal(entry.headers['user-agent'], 'lightMyRequest', 'other headers are kept')
  }
  t.notMatch(log, PASSWORD)
  t.notMatch(log, good.slice('Basic '.length))
  t.notMatch(log, bad.slice('Basic '.length))
  t.notMatch(log, Buffer.from(PASSWORD).toString('base64'))
})

t.test('at info, requests are not logged one by one, nor the mistakes of clients; at debug they are', async (t) => {
  for (const [logLevel, logged] of [['info', false], ['debug', true]] as const) {
    const lines: string[] = []
    const app = buildServer({ logLevel, logStream: { write: (line) => { lines.push(line) } } })
    await app.inject({ method: 'PUT', url: '/registry/v1/instances/billing:h:1', headers: { authorization: basic('admin', '') }, payload: instance })
    await app.close()
    t.equal(lines.some((line) => line.includes('incoming request')), logged, `${logLevel}: request lines ${logged ? 'shown' : 'left out'}`)
    t.equal(lines.some((line) => line.includes('is not registered')), logged, `${logLevel}: the refused heartbeat ${logged ? 'shown' : 'left out'}`)
  }
})

t.test('a client\'s mistakes outside the registry are logged at debug, one line each, without a stack', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const app = buildServer({ logLevel: 'trace', logStream: { write: (line) => { lines.push(JSON.parse(line)) } } })
  t.teardown(() => app.close())
  // A route of the embedding app's own that refuses its client.
  app.get('/teapot', async () => { throw Object.assign(new Error('short and stout'), { statusCode: 418, code: 'E_TEAPOT' }) })
  for (const [url, status, code] of [['/nowhere', 404, undefined], ['/teapot', 418, 'E_TEAPOT']] as const) {
    lines.length = 0
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, status, url)
    const own = lines.filter((line) => line['msg'] !== 'incoming request' && line['msg'] !== 'request completed')
    t.equal(own.length, 1, `${url}: one line`)
    t.match(own[0], { level: 20, statusCode: status, method: 'GET', url, ...(code === undefined ? {} : { code }) }, url)
    t.notMatch(JSON.stringify(own), /stack/, `${url}: no stack`)
  }
})

/** A luna-server listening on 127.0.0.1, closed when the test ends; its port. */
async function listening (t: Test, options: BuildServerOptions): Promise<{ app: FastifyInstance, port: number }> {
  const app = buildServer(options)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, port: (app.server.address() as AddressInfo).port }
}

const REQUEST_TIMEOUT = 300
// Far above the timeout, far below tap's: a connection still open by then is held for ever.
const CUT_WITHIN = 5000

t.test('a request that stalls is answered 408 and its connection closed after the request timeout', async (t) => {
  const { app, port } = await listening(t, { logLevel: 'silent', requestTimeout: REQUEST_TIMEOUT })
  const head = `POST /registry/v1/instances/billing:h:1 HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic('admin', '')}\r\n`
  const cases: Array<[string, string]> = [
    ['credentials right, the body announced and never sent', `${head}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n`],
    ['half of the body', `${head}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`],
    ['the headers never finished', head],
    ['nothing sent at all', '']
  ]
  for (const [name, text] of cases) {
    const started = Date.now()
    const connection = await rawConnection(t, port, text)
    t.equal(parseHead(await endedWithin(connection, CUT_WITHIN)).status, 408, name)
    t.ok(Date.now() - started >= REQUEST_TIMEOUT - 50, `${name}: not before the timeout`)
  }
  t.same(await app.lunaRegistry.store.list(), [], 'nothing was written')
})

t.test('an idle keep-alive connection is closed after the request timeout', async (t) => {
  const { port } = await listening(t, { logLevel: 'silent', requestTimeout: REQUEST_TIMEOUT })
  const connection = await rawConnection(t, port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
  const text = await endedWithin(connection, CUT_WITHIN)
  t.equal(parseHead(text).status, 200)
  t.match(text, /\{"status":"ok"\}$/, 'answered, then closed with nothing more')
})

t.test('a live event stream outlasts the request timeout', async (t) => {
  const { app, port } = await listening(t, { logLevel: 'silent', requestTimeout: REQUEST_TIMEOUT })
  const stream = await rawConnection(t, port, `GET /registry/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nAuthorization: ${basic('admin', '')}\r\n\r\n`)
  await until('the snapshot', () => stream.received().includes('event: snapshot') || undefined)
  // Opened after the stream's last byte, and closed for idling: by then the stream has been idle
  // for longer than the timeout too.
  const idle = await rawConnection(t, port, '')
  await endedWithin(idle, CUT_WITHIN)
  const registered = await app.inject({ method: 'POST', url: '/registry/v1/instances/billing:h:1', headers: { authorization: basic('admin', '') }, payload: instance })
  t.equal(registered.statusCode, 201)
  await until('the event on the stream', () => stream.received().includes('event: registered') || undefined)
  t.notOk(stream.socket.readableEnded, 'the stream is still open')
})

t.test('credentials in an absolute-form request line never reach the logs, at trace', async (t) => {
  const lines: string[] = []
  const { port } = await listening(t, { logLevel: 'trace', logStream: { write: (line) => { lines.push(line) } } })
  const secret = 'pa55w0rd-in-the-url'
  const target = (path: string): string => `http://user:${secret}@registry.internal${path}`
  const authorization = `Authorization: ${basic('admin', '')}\r\n`
  const requests: Array<[string, number]> = [
    [`GET ${target('/registry/v1/services')} HTTP/1.1\r\nHost: x\r\n\r\n`, 401],
    [`GET ${target('/registry/v1/nowhere')} HTTP/1.1\r\nHost: x\r\n${authorization}\r\n`, 404],
    [`GET ${target('/nowhere')} HTTP/1.1\r\nHost: x\r\n\r\n`, 404],
    [`GET ${target('/healthz')} HTTP/1.1\r\nHost: x\r\n\r\n`, 200],
    [`POST ${target('/registry/v1/instances/billing:h:1')} HTTP/1.1\r\nHost: x\r\n${authorization}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n[]`, 400],
    // Node cannot parse this one: Fastify logs the error with the bytes it read.
    [`GET ${target('/healthz')} HTTP/1.1\r\nNot a header\r\n\r\n`, 400]
  ]
  for (const [request, status] of requests) {
    const connection = await rawConnection(t, port, `${request.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}`)
    t.equal(parseHead(await endedWithin(connection, CUT_WITHIN)).status, status, request.slice(0, request.indexOf(' HTTP/')))
  }
  const log = lines.join('')
  t.match(log, 'http://registry.internal/registry/v1/services', 'the requests were logged, without the credentials')
  t.match(log, 'client error', 'and the request Node could not parse')
  t.notMatch(log, secret)
  t.notMatch(log, '"rawPacket"', 'nor the bytes of a request Node could not parse')
})

t.test('every answer of the server forbids MIME sniffing: /healthz, 404s, Fastify\'s own 400s and the registry', async (t) => {
  const { port } = await listening(t, { logLevel: 'silent' })
  for (const [path, status] of [['/healthz', 200], ['/nowhere', 404], ['/healthz%', 400], ['/registry/v1/services', 401]] as const) {
    const connection = await rawConnection(t, port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    const { status: got, headers } = parseHead(await endedWithin(connection, CUT_WITHIN))
    t.equal(got, status, path)
    t.equal(headers['x-content-type-options'], 'nosniff', `${path}: nosniff`)
  }
})

t.test('the gateway hands back an upstream\'s headers as they are: no nosniff added to them', async (t) => {
  const upstream = createServer((_request, response) => { response.end('hi') })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { upstream.close() })
  const upstreamPort = (upstream.address() as AddressInfo).port
  const { app, port } = await listening(t, { logLevel: 'silent' })
  await app.lunaRegistry.register(`up:127.0.0.1:${upstreamPort}`, { name: 'up', version: '1', status: 'OK', url: `http://127.0.0.1:${upstreamPort}/` })
  const connection = await rawConnection(t, port, 'GET /gateway/services/up/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const { status, headers } = parseHead(await endedWithin(connection, CUT_WITHIN))
  t.equal(status, 200)
  t.equal(headers['x-content-type-options'], undefined)
})

t.test('LUNA_METRICS: /registry/v1/metrics behind the credentials, or not served with metrics off', async (t) => {
  const on = buildServer({ logLevel: 'silent', username: 'ops', password: PASSWORD })
  t.teardown(() => on.close())
  const scrape = await on.inject({ method: 'GET', url: '/registry/v1/metrics', headers: { authorization: basic('ops', PASSWORD) } })
  t.equal(scrape.statusCode, 200)
  t.match(scrape.body, /^luna_instances\{status="OK"\} 0$/m)
  t.equal((await on.inject({ method: 'GET', url: '/registry/v1/metrics' })).statusCode, 401)
  const off = buildServer({ logLevel: 'silent', username: 'ops', password: PASSWORD, metrics: false })
  t.teardown(() => off.close())
  t.equal((await off.inject({ method: 'GET', url: '/registry/v1/metrics', headers: { authorization: basic('ops', PASSWORD) } })).statusCode, 404)
})

t.test('the longest instance id can be put in maintenance', async (t) => {
  const app = buildServer({ logLevel: 'silent' })
  t.teardown(() => app.close())
  const name = 's'.repeat(128)
  const host = [...Array.from({ length: 3 }, () => 'h'.repeat(63)), 'h'.repeat(61)].join('.')
  const id = `${name}:${host}:65535`
  const auth = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }
  t.equal((await app.inject({ method: 'POST', url: `/registry/v1/instances/${id}`, headers: auth, payload: { name, version: '1', status: 'OK', url: 'http://h:1/' } })).statusCode, 201)
  const held = await app.inject({ method: 'PUT', url: `/registry/v1/instances/${id}/maintenance`, headers: auth, payload: { reason: 'disk swap' } })
  t.equal(held.statusCode, 200, held.body)
  t.match(held.json(), { instanceId: id, status: 'DOWN', maintenance: { reason: 'disk swap' } })
})
