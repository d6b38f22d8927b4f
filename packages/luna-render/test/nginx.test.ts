import { once } from 'node:events'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { get, PrivateNginx, requireNginx } from '../../../test-support/nginx.js'
import { until } from '../../../test-support/until.js'
import { NGINX_TEMPLATE, Renderer, type RenderResult, type RenderTarget } from '../src/index.js'
import { info, recordingLog, results, startRegistry, tempDir } from './helpers.js'

type Tap = Test

/** An HTTP server that answers every request with its name, the path it got and the headers. */
async function upstream (t: Tap, name: string): Promise<{ port: number, server: Server }> {
  const server = createServer((request, response) => {
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify({ name, url: request.url, headers: request.headers }))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return { port: (server.address() as AddressInfo).port, server }
}

interface Answer { name: string, url: string, headers: Record<string, string> }

async function through (nginx: PrivateNginx, path: string): Promise<{ status: number, answer?: Answer }> {
  const { status, body } = await get(`${nginx.url}${path}`)
  return status === 200 ? { status, answer: JSON.parse(body) as Answer } : { status }
}

/** Which upstreams answer `count` requests in a row, by name. */
async function tally (nginx: PrivateNginx, path: string, count: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (let i = 0; i < count; i++) {
    const { answer } = await through(nginx, path)
    const name = answer?.name ?? 'none'
    counts[name] = (counts[name] ?? 0) + 1
  }
  return counts
}

/** The next result for the nginx file that is not `unchanged`. */
async function next (seen: RenderResult[], from: number): Promise<RenderResult> {
  return await until('the renderer writes the nginx file', () => seen.slice(from).find((result) => result.outcome !== 'unchanged'))
}

/**
 * Luna's renderer writing for a private nginx, which starts after Luna has written its file (as
 * it would on a machine where Luna starts first), with `delay` between a change and its render.
 */
async function setUp (t: Tap, target: Partial<RenderTarget> = {}, delay = 100): Promise<{
  nginx: PrivateNginx
  registry: Awaited<ReturnType<typeof startRegistry>>
  renderer: Renderer
  seen: RenderResult[]
  lines: ReturnType<typeof recordingLog>['lines']
}> {
  const nginx = await PrivateNginx.create(t)
  const registry = await startRegistry(t)
  const { lines, log } = recordingLog()
  const renderer = new Renderer({
    registry,
    targets: [{ template: NGINX_TEMPLATE, output: nginx.include, test: nginx.test, reload: nginx.reload, ...target }],
    listen: nginx.listen,
    delay,
    log
  })
  const seen = results(renderer)
  t.teardown(() => renderer.close())
  await renderer.start()
  await nginx.start()
  return { nginx, registry, renderer, seen, lines }
}

t.test('requests through nginx reach the registered instances by weight, at the gateway\'s addresses', async (t) => {
  if (!requireNginx(t)) return
  const { nginx, registry, seen, lines } = await setUp(t)
  // nginx was not running when Luna wrote its file: the reload failed, was logged, and the file stayed.
  t.same(seen, [{ output: nginx.include, outcome: 'not reloaded' }])
  t.match(lines.warn, [[{ output: nginx.include, exit: 1 }, /nginx.pid/]])
  t.equal((await through(nginx, '/gateway/services/orders/')).status, 404)

  const a = await upstream(t, 'a')
  const b = await upstream(t, 'b')
  const before = seen.length
  await registry.register(`orders:127.0.0.1:${a.port}`, info('orders', `http://127.0.0.1:${a.port}/api/`, 1))
  await registry.register(`orders:127.0.0.1:${b.port}`, info('orders', `http://127.0.0.1:${b.port}/api/`, 3))
  t.equal((await next(seen, before)).outcome, 'written')
  t.same(seen.slice(before).map((result) => result.outcome), ['written'], 'the two registrations made one render')
  // The reload has been asked for: nginx's new worker takes over in a moment.
  await until('nginx routes orders', async () => (await through(nginx, '/gateway/services/orders/')).status === 200 || undefined)
  await nginx.settled()

  t.same(await tally(nginx, '/gateway/services/orders/items/1?x=1', 40), { a: 10, b: 30 })
  const { answer } = await through(nginx, '/gateway/services/orders/items/1?x=1')
  t.equal(answer?.url, '/api/items/1?x=1', 'the rest of the path below the instance\'s path, the query as it was')
  t.equal(answer?.headers['x-forwarded-for'], '127.0.0.1')
  t.equal(answer?.headers['x-forwarded-proto'], 'http')
  t.equal((await through(nginx, '/gateway/services/orders')).answer?.url, '/api/', 'the service\'s root is the instance\'s URL')
  t.equal((await through(nginx, '/gateway/services/billing/')).status, 404, 'an unknown service is nginx\'s 404')
})

t.test('an instance reporting DOWN leaves the rotation, and the last one leaving removes the service', async (t) => {
  if (!requireNginx(t)) return
  const { nginx, registry, seen } = await setUp(t)
  const a = await upstream(t, 'a')
  const b = await upstream(t, 'b')
  const idA = `orders:127.0.0.1:${a.port}`
  const idB = `orders:127.0.0.1:${b.port}`
  await registry.register(idA, info('orders', `http://127.0.0.1:${a.port}/`))
  await registry.register(idB, info('orders', `http://127.0.0.1:${b.port}/`))
  await until('nginx routes to both', async () => Object.keys(await tally(nginx, '/gateway/services/orders/', 4)).length === 2 || undefined)

  await registry.heartbeat(idB, info('orders', `http://127.0.0.1:${b.port}/`, 1, 'DOWN'))
  await until('b leaves the rotation', async () => {
    const counts = await tally(nginx, '/gateway/services/orders/', 6)
    return counts['a'] === 6 || undefined
  }, 2000)

  await registry.heartbeat(idA, info('orders', `http://127.0.0.1:${a.port}/`, 1, 'DOWN'))
  await until('a service without a routable instance answers 503', async () => (await through(nginx, '/gateway/services/orders/x')).status === 503 || undefined, 2000)

  const before = seen.length
  await registry.deregister(idA)
  await registry.deregister(idB)
  await until('the service is gone: 404', async () => (await through(nginx, '/gateway/services/orders/x')).status === 404 || undefined, 2000)
  t.equal((await next(seen, before)).outcome, 'written')
  t.notMatch(await readFile(nginx.include, 'utf8'), /orders/)
})

t.test('an output nginx rejects: the previous file is put back, nginx keeps serving, the next change is rendered', async (t) => {
  if (!requireNginx(t)) return
  const dir = await tempDir(t)
  // The shipped template, plus a line nginx cannot read while a service named "broken" exists.
  const template = join(dir, 'nginx.eta')
  await writeFile(template, `${await readFile(NGINX_TEMPLATE, 'utf8')}<% if (it.routes.some((route) => route.name === 'broken')) { %>this is not nginx;<% } %>\n`)
  const { nginx, registry, seen, lines } = await setUp(t, { template })
  const a = await upstream(t, 'a')
  await registry.register(`orders:127.0.0.1:${a.port}`, info('orders', `http://127.0.0.1:${a.port}/`))
  await until('nginx routes orders', async () => (await through(nginx, '/gateway/services/orders/')).status === 200 || undefined)
  await nginx.settled()
  const good = await readFile(nginx.include, 'utf8')

  let before = seen.length
  await registry.register(`broken:127.0.0.1:${a.port}`, info('broken', `http://127.0.0.1:${a.port}/`))
  t.equal((await next(seen, before)).outcome, 'rejected')
  t.equal(await readFile(nginx.include, 'utf8'), good, 'the file nginx accepted is back')
  t.match(lines.error.at(-1), [{ output: nginx.include, exit: 1, said: /unknown directive "this"/ }, /rejected the new .*unknown directive "this"/])
  t.equal((await through(nginx, '/gateway/services/orders/')).answer?.name, 'a', 'nginx still serves')
  t.equal((await through(nginx, '/gateway/services/broken/')).status, 404)

  before = seen.length
  await registry.deregister(`broken:127.0.0.1:${a.port}`)
  await registry.register(`billing:127.0.0.1:${a.port}`, info('billing', `http://127.0.0.1:${a.port}/`))
  t.equal((await next(seen, before)).outcome, 'written')
  await until('nginx routes billing', async () => (await through(nginx, '/gateway/services/billing/')).status === 200 || undefined)
})

t.test('500 registrations in one burst are one or a few reloads', async (t) => {
  if (!requireNginx(t)) return
  // The default delay, as luna-server runs it.
  const { nginx, registry, seen } = await setUp(t, {}, undefined)
  const a = await upstream(t, 'a')
  const reloadsBefore = (await readFile(nginx.reloads, 'utf8')).split('\n').filter(Boolean).length
  const before = seen.length
  await Promise.all(Array.from({ length: 500 }, async (_, i) =>
    await registry.register(`svc-${i % 50}:host-${i}.example:${1000 + i}`, info(`svc-${i % 50}`, `http://127.0.0.1:${a.port}/${i % 50}/`))))
  await until('all 50 services are routed', async () => (await through(nginx, '/gateway/services/svc-49/x')).answer?.url === '/49/x' || undefined, 5000)
  const reloads = (await readFile(nginx.reloads, 'utf8')).split('\n').filter(Boolean).length - reloadsBefore
  t.ok(reloads >= 1 && reloads <= 3, `${reloads} reload(s) for 500 registrations`)
  t.ok(seen.slice(before).length <= 3, `${seen.length - before} render(s)`)
  t.match(await readFile(nginx.include, 'utf8'), /upstream luna_50_svc-9 \{/)
})

t.test('hostile URLs registered in the registry: nginx accepts the file, and nothing is injected', async (t) => {
  if (!requireNginx(t)) return
  const { nginx, registry, seen } = await setUp(t)
  const a = await upstream(t, 'a')
  const hostile = [
    `http://127.0.0.1:${a.port}/x;}server{listen 1;}$y'"#z/`,
    'http://evil;}upstream{x/',
    'http://evil{}/',
    `http://127.0.0.1:${a.port}/%0d%0aX-Injected:%20yes/`
  ]
  // The registry takes them all: a URL is stored as sent. Only the rendering keeps them out.
  for (const [i, url] of hostile.entries()) t.equal((await registry.register(`evil:10.0.0.${i + 1}:80`, info('evil', url))).created, true, url)
  const before = seen.length
  // A name with each of the characters a service name may hold besides letters and digits.
  await registry.register(`plain.v2_eu-1:127.0.0.1:${a.port}`, info('plain.v2_eu-1', `http://127.0.0.1:${a.port}/`))
  t.equal((await next(seen, before)).outcome, 'written', 'nginx -t accepted the file')
  const text = await readFile(nginx.include, 'utf8')
  t.notMatch(text, /listen 1;|upstream\{|X-Injected: yes|\$y/)
  await until('nginx routes plain.v2_eu-1', async () => (await through(nginx, '/gateway/services/plain.v2_eu-1/')).status === 200 || undefined)
  await nginx.settled()
  t.equal((await through(nginx, '/gateway/services/plainXv2_eu-1/')).status, 404, 'the "." of a name is no wildcard')
  // Two base paths of weight 1 each: the first instance's is routed; the two bad hosts are left out.
  const evil = await through(nginx, '/gateway/services/evil/rest')
  t.equal(evil.answer?.url, '/x%3B%7Dserver%7Blisten%201%3B%7D%24y%27%22/rest', 'the instance gets its own path, percent-encoded')
  t.equal(evil.answer?.headers['x-injected'], undefined)
  t.equal(text.match(/# left out: evil:/g)?.length, 3)
})
