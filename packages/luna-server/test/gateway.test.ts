import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { freePort } from '../../../test-support/redis-server.js'
import { endedWithin, parseHead, rawConnection } from '../../../test-support/raw-http.js'
import { until } from '../../../test-support/until.js'
import { buildServer, type BuildServerOptions } from '../src/index.js'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(PACKAGE, 'bin', 'luna-server.js')
// As in cli.test.ts: no coverage hook, and no LUNA_* setting of the test runner's, in the child.
const INHERITED = Object.fromEntries(Object.entries(process.env)
  .filter(([key]) => !key.startsWith('LUNA_') && !key.startsWith('_TAPJS_') && key !== 'NODE_OPTIONS'))
const ADMIN = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` }

async function listen (t: Test, options: BuildServerOptions = {}, port = 0): Promise<{ app: FastifyInstance, origin: string }> {
  const app = buildServer({ logLevel: 'silent', ...options })
  await app.listen({ port, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, origin: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

/** A service instance that answers `{name} {url}`. */
async function startService (t: Test, name: string): Promise<string> {
  const server = createHttpServer((request, response) => { response.end(`${name} ${request.url!}`) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

async function register (origin: string, id: string, url: string): Promise<void> {
  const response = await fetch(`${origin}/registry/v1/instances/${id}`, {
    method: 'POST',
    headers: { ...ADMIN, 'content-type': 'application/json' },
    body: JSON.stringify({ name: id.split(':')[0], version: '1.0.0', status: 'OK', url })
  })
  if (response.status >= 300) throw new Error(await response.text())
}

t.test('luna-server is registry and gateway: a registered service answers at /gateway/services/{name}/', async (t) => {
  const { origin } = await listen(t)
  await register(origin, 'orders:a:1', await startService(t, 'orders'))
  const response = await fetch(`${origin}/gateway/services/orders/items/1?x=1`)
  t.equal(response.status, 200, 'without credentials: the services do their own auth')
  t.equal(await response.text(), 'orders /items/1?x=1')
})

/** A service instance that answers with the number of body bytes it received. */
async function startCounter (t: Test): Promise<string> {
  const server = createHttpServer((request, response) => {
    let bytes = 0
    request.on('data', (chunk: Buffer) => { bytes += chunk.length })
    request.on('end', () => { response.end(String(bytes)) })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

const UPLOAD_TIMEOUT = 300
const uploadHead = (length: number): string => `POST /gateway/services/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n`

t.test('an upload through the gateway may outlast the request timeout while it keeps coming', async (t) => {
  const { app, origin } = await listen(t, { requestTimeout: UPLOAD_TIMEOUT })
  await register(origin, 'uploads:a:1', await startCounter(t))
  const port = (app.server.address() as AddressInfo).port
  const chunks = 12
  const chunk = 'x'.repeat(1000)
  const upload = await rawConnection(t, port, uploadHead(chunks * chunk.length))
  const started = Date.now()
  for (let i = 0; i < chunks; i++) {
    await new Promise((resolve) => setTimeout(resolve, UPLOAD_TIMEOUT / 3))
    upload.socket.write(chunk)
  }
  const text = await until('the answer', () => upload.received().includes('\r\n\r\n') && upload.received().endsWith(String(chunks * chunk.length)) ? upload.received() : undefined, 5000)
  t.ok(Date.now() - started > 3 * UPLOAD_TIMEOUT, 'the upload took several request timeouts')
  t.equal(parseHead(text).status, 200)
  t.notOk(upload.socket.destroyed, 'and the connection is kept for the next request')
})

t.test('an upload through the gateway that stops coming is cut after the request timeout', async (t) => {
  const { app, origin } = await listen(t, { requestTimeout: UPLOAD_TIMEOUT })
  await register(origin, 'uploads:a:1', await startCounter(t))
  const port = (app.server.address() as AddressInfo).port
  const started = Date.now()
  const upload = await rawConnection(t, port, `${uploadHead(1000)}${'x'.repeat(100)}`)
  await endedWithin(upload, 5000)
  t.ok(Date.now() - started >= UPLOAD_TIMEOUT - 50, 'not before the timeout')
})

t.test('LUNA_GATEWAY=off leaves the registry alone', async (t) => {
  const { origin } = await listen(t, { gateway: false })
  await register(origin, 'orders:a:1', await startService(t, 'orders'))
  t.equal((await fetch(`${origin}/gateway/services/orders/`)).status, 404)
})

t.test('LUNA_GATEWAY_AUTH=on puts the gateway behind the registry\'s credentials', async (t) => {
  const { origin } = await listen(t, { gatewayAuth: true, username: 'ops', password: 'pw' })
  const authorization = `Basic ${Buffer.from('ops:pw').toString('base64')}`
  await fetch(`${origin}/registry/v1/instances/orders:a:1`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'orders', version: '1.0.0', status: 'OK', url: await startService(t, 'orders') })
  })
  t.equal((await fetch(`${origin}/gateway/services/orders/`)).status, 401)
  t.equal((await fetch(`${origin}/gateway/services/orders/`, { headers: { authorization } })).status, 200)
})

t.test('the gateway settings reach it: balancer, attempts, body limit, timeout', async (t) => {
  const { origin } = await listen(t, { gatewayBalancer: 'first', gatewayBodyLimit: 10, gatewayAttempts: 1, gatewayTimeout: 100 })
  await register(origin, 'orders:a:1', await startService(t, 'a'))
  await register(origin, 'orders:b:1', await startService(t, 'b'))
  const answers = []
  for (let i = 0; i < 3; i++) answers.push(await (await fetch(`${origin}/gateway/services/orders/`)).text())
  t.same(answers, ['a /', 'a /', 'a /'], 'first: the first OK instance')
  const large = await fetch(`${origin}/gateway/services/orders/`, { method: 'POST', body: 'more than ten bytes' })
  t.equal(large.status, 413)
  const silent = createHttpServer(() => {})
  silent.listen(0, '127.0.0.1')
  await once(silent, 'listening')
  t.teardown(() => {
    silent.closeAllConnections()
    silent.close()
  })
  await register(origin, 'slow:a:1', `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`)
  t.match(await (await fetch(`${origin}/gateway/services/slow/`)).json(), { statusCode: 504, message: 'Service "slow" sent no response headers within 100 ms' })
})

t.test('LUNA_CORS_ORIGIN: a page on another origin may call the gateway and the registry', async (t) => {
  const { origin } = await listen(t, { corsOrigin: 'https://shop.example,http://localhost:5173' })
  await register(origin, 'orders:a:1', await startService(t, 'orders'))
  const preflight = async (path: string, from: string): Promise<Response> => await fetch(`${origin}${path}`, {
    method: 'OPTIONS',
    headers: { origin: from, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type, authorization' }
  })
  for (const path of ['/gateway/services/orders/items/1', '/registry/v1/services']) {
    const allowed = await preflight(path, 'https://shop.example')
    t.equal(allowed.status, 204, path)
    t.equal(allowed.headers.get('access-control-allow-origin'), 'https://shop.example', path)
    t.match(allowed.headers.get('access-control-allow-methods'), /PUT/, path)
    t.match(allowed.headers.get('access-control-allow-headers'), /authorization/, path)
    t.match(allowed.headers.get('vary'), /Origin/, path)
    const other = await preflight(path, 'https://evil.example')
    t.equal(other.headers.get('access-control-allow-origin'), null, `${path}: not from another origin`)
  }
  const call = await fetch(`${origin}/gateway/services/orders/items/1`, { headers: { origin: 'http://localhost:5173' } })
  t.equal(call.status, 200)
  t.equal(call.headers.get('access-control-allow-origin'), 'http://localhost:5173')
  t.equal(await call.text(), 'orders /items/1')
})

t.test('without LUNA_CORS_ORIGIN there are no CORS headers', async (t) => {
  const { origin } = await listen(t)
  await register(origin, 'orders:a:1', await startService(t, 'orders'))
  const call = await fetch(`${origin}/gateway/services/orders/`, { headers: { origin: 'https://shop.example' } })
  t.equal(call.headers.get('access-control-allow-origin'), null)
})

t.test('LUNA_CORS_ORIGIN=* allows any origin', async (t) => {
  const { origin } = await listen(t, { corsOrigin: '*' })
  const response = await fetch(`${origin}/registry/v1/services`, { method: 'OPTIONS', headers: { origin: 'https://any.example', 'access-control-request-method': 'GET' } })
  t.equal(response.headers.get('access-control-allow-origin'), '*')
})

t.test('LUNA_REGISTRY_URL: a luna-server process as a gateway-only replica of another', async (t) => {
  const registryPort = await freePort()
  const child = spawn(process.execPath, [BIN, '--port', '0', '--host', '127.0.0.1', '--log-level', 'info'], {
    cwd: PACKAGE,
    env: { ...INHERITED, LUNA_REGISTRY_URL: `http://admin:@127.0.0.1:${registryPort}` }
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const url = new URL(await until('the replica logs its address', () => /"url":"([^"]+)"/.exec(output)?.[1], 20_000))
  t.equal(url.pathname, '/gateway/services/', 'the address logged is the gateway\'s')
  t.match(output, /Luna gateway listening on/)
  const replica = url.origin

  const early = await fetch(`${replica}/healthz`)
  t.equal(early.status, 503, 'not ready before the first snapshot')
  t.same(await early.json(), { status: 'not synchronised' })
  const earlyReady = await fetch(`${replica}/readyz`)
  t.equal(earlyReady.status, 503, '/readyz agrees')
  t.same(await earlyReady.json(), { status: 'not synchronised' })
  t.match(await (await fetch(`${replica}/gateway/services/orders/`)).json(), { statusCode: 503, code: 'FST_LUNA_GATEWAY_NOT_SYNCHRONISED' })

  const registry = await listen(t, {}, registryPort)
  await until('the replica is synchronised', async () => (await fetch(`${replica}/healthz`)).status === 200 || undefined, 15_000)
  t.equal((await fetch(`${replica}/readyz`)).status, 200, 'ready once synchronised, with no store of its own to ask')
  t.equal((await fetch(`${replica}/registry/v1/services`, { headers: ADMIN })).status, 404, 'no registry on the replica')

  await register(registry.origin, 'orders:a:1', await startService(t, 'orders'))
  const text = await until('the registration is routable on the replica', async () => {
    const response = await fetch(`${replica}/gateway/services/orders/x`)
    return response.status === 200 ? await response.text() : undefined
  }, 1000)
  t.equal(text, 'orders /x')

  child.kill('SIGTERM')
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 0, 'closes cleanly, event stream and all')
})
