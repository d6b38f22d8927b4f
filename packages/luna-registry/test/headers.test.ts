import Fastify, { type InjectOptions } from 'fastify'
import t from 'tap'
import { parseHead, rawConnection } from '../../../test-support/raw-http.js'
import { until } from '../../../test-support/until.js'
import lunaRegistry from '../src/index.js'
import { AUTH, PREFIX, build, info, listen } from './helpers.js'

const BROWSER = { ...AUTH, accept: 'text/html,application/xhtml+xml' }

t.test('every answer of the registry\'s routes forbids MIME sniffing: JSON, errors, 404s, the panel and its files', async (t) => {
  const app = await build(t)
  t.equal((await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: info() })).statusCode, 201)
  const css = (await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: BROWSER })).body.match(/href="([^"]+luna\.css[^"]*)"/)?.[1]
  t.ok(css, 'the panel links its stylesheet')
  const cases: Array<[string, InjectOptions, number]> = [
    ['services JSON', { method: 'GET', url: `${PREFIX}/services`, headers: AUTH }, 200],
    ['a heartbeat', { method: 'PUT', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: info() }, 200],
    ['the panel', { method: 'GET', url: `${PREFIX}/services/`, headers: BROWSER }, 200],
    ['a service page', { method: 'GET', url: `${PREFIX}/services/orders`, headers: BROWSER }, 200],
    ['the stylesheet', { method: 'GET', url: css ?? `${PREFIX}/assets/luna.css`, headers: AUTH }, 200],
    ['no credentials', { method: 'GET', url: `${PREFIX}/services` }, 401],
    ['a bad body', { method: 'POST', url: `${PREFIX}/instances/orders:h:2`, headers: AUTH, payload: { name: 'orders' } }, 400],
    ['an unknown instance', { method: 'GET', url: `${PREFIX}/instances/orders:h:9`, headers: AUTH }, 404],
    ['an unknown route', { method: 'GET', url: `${PREFIX}/nowhere`, headers: AUTH }, 404],
    ['an unknown route, no credentials', { method: 'GET', url: `${PREFIX}/nowhere` }, 401]
  ]
  for (const [name, request, status] of cases) {
    const res = await app.inject(request)
    t.equal(res.statusCode, status, name)
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${name}: nosniff`)
  }
})

t.test('the event stream forbids MIME sniffing too', async (t) => {
  const { port } = await listen(t)
  const stream = await rawConnection(t, port, `GET ${PREFIX}/events HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH.authorization}\r\n\r\n`)
  await until('the stream\'s headers', () => stream.received().includes('\r\n\r\n') || undefined)
  const { status, headers } = parseHead(stream.received())
  t.equal(status, 200)
  t.match(headers['content-type'], /^text\/event-stream/)
  t.equal(headers['x-content-type-options'], 'nosniff')
})

t.test('the host app\'s own routes are left as they are', async (t) => {
  const app = Fastify()
  app.get('/public', async () => 'hello')
  await app.register(lunaRegistry)
  t.teardown(() => app.close())
  t.notOk((await app.inject('/public')).headers['x-content-type-options'])
})
