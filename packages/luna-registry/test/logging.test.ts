import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import t, { type Test } from 'tap'
import { endedWithin, rawConnection } from '../../../test-support/raw-http.js'
import lunaRegistry, { StoreUnavailableError } from '../src/index.js'
import { AUTH, PREFIX, info, wrapStore } from './helpers.js'

interface Line { level: number, msg: string, [field: string]: unknown }

/** The registry in an app that logs everything, down to trace, into `lines`. */
async function logged (t: Test, store = wrapStore()): Promise<{ app: FastifyInstance, lines: Line[] }> {
  const lines: Line[] = []
  const app = Fastify({ logger: { level: 'trace', stream: { write: (line: string) => { lines.push(JSON.parse(line) as Line) } } } })
  await app.register(lunaRegistry, { store })
  await app.ready()
  t.teardown(() => app.close())
  return { app, lines }
}

/** What the registry logged, leaving out the host app's own request lines. */
function registryLines (lines: Line[]): Line[] {
  return lines.filter((line) => line.msg !== 'incoming request' && line.msg !== 'request completed')
}

const DEBUG = 20

t.test('client errors are logged at debug, one line each with the code, the method and the URL, without a stack', async (t) => {
  const { app, lines } = await logged(t)
  const cases: Array<[string, InjectOptions & { method: string, url: string }, number, string]> = [
    ['no credentials', { method: 'GET', url: `${PREFIX}/services` }, 401, 'FST_BASIC_AUTH_MISSING_OR_BAD_AUTHORIZATION_HEADER'],
    ['a body breaking its schema', { method: 'POST', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: info('orders', { status: 'MAYBE' }) }, 400, 'FST_ERR_VALIDATION'],
    ['an unknown instance', { method: 'PUT', url: `${PREFIX}/instances/orders:h:1`, headers: AUTH, payload: info() }, 404, 'FST_LUNA_INSTANCE_NOT_FOUND'],
    ['another content type', { method: 'POST', url: `${PREFIX}/instances/orders:h:1`, headers: { ...AUTH, 'content-type': 'text/plain' }, payload: 'x' }, 415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE']
  ]
  for (const [name, request, status, code] of cases) {
    lines.length = 0
    const res = await app.inject(request)
    t.equal(res.statusCode, status, name)
    const written = registryLines(lines)
    t.equal(written.length, 1, `${name}: one line`)
    t.match(written[0], { level: DEBUG, code, statusCode: status, method: request.method, url: request.url, msg: res.json().message }, name)
    t.notOk('err' in written[0]!, `${name}: no error object`)
    t.notMatch(JSON.stringify(written), /stack|\n {4}at /, `${name}: no stack`)
  }
})

t.test('a store outage is answered 503 with a plain message; what the store said goes to the debug line only', async (t) => {
  // The texts ioredis gives while Redis is away.
  const detail = "Stream isn't writeable and enableOfflineQueue options is false"
  const { app, lines } = await logged(t, wrapStore({
    list: async () => { throw new StoreUnavailableError(detail, { cause: new Error(detail) }) },
    get: async () => { throw new StoreUnavailableError('Connection is closed.') }
  }))
  for (const url of [`${PREFIX}/services`, `${PREFIX}/instances`, `${PREFIX}/instances/orders:h:1`]) {
    lines.length = 0
    const res = await app.inject({ method: 'GET', url, headers: AUTH })
    t.equal(res.statusCode, 503, url)
    t.same(res.json(), {
      statusCode: 503,
      code: 'FST_LUNA_STORE_UNAVAILABLE',
      error: 'Service Unavailable',
      message: 'The registry store is unavailable; retry later'
    }, `${url}: nothing of the store's own words`)
    const written = registryLines(lines)
    t.equal(written.length, 1, `${url}: one line`)
    t.match(written[0], {
      level: DEBUG,
      code: 'FST_LUNA_STORE_UNAVAILABLE',
      statusCode: 503,
      method: 'GET',
      url,
      msg: 'The registry store is unavailable; retry later',
      detail: /^The registry store is unavailable: (Stream isn't writeable|Connection is closed)/
    })
  }
})

t.test('credentials in an absolute-form request line never reach the registry\'s lines, at trace', async (t) => {
  const { app, lines } = await logged(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  lines.length = 0
  const secret = 'pa55w0rd-in-the-url'
  const target = (path: string): string => `http://user:${secret}@registry.internal${PREFIX}${path}`
  const answers: string[] = []
  for (const request of [
    `GET ${target('/services')} HTTP/1.1\r\nHost: registry.internal\r\nConnection: close\r\n\r\n`,
    `GET ${target('/nowhere')} HTTP/1.1\r\nHost: registry.internal\r\nAuthorization: ${AUTH.authorization}\r\nConnection: close\r\n\r\n`,
    `PUT ${target('/instances/orders:h:1')} HTTP/1.1\r\nHost: registry.internal\r\nAuthorization: ${AUTH.authorization}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}'
  ]) {
    answers.push(await endedWithin(await rawConnection(t, port, request), 5000))
  }
  t.match(answers, [/^HTTP\/1.1 401/, /^HTTP\/1.1 404/, /^HTTP\/1.1 400/])
  t.notMatch(answers[1], secret, 'nor the 404\'s message')
  const written = registryLines(lines)
  t.same(written.map((line) => line.url), [`http://registry.internal${PREFIX}/services`, `http://registry.internal${PREFIX}/nowhere`, `http://registry.internal${PREFIX}/instances/orders:h:1`], 'each refusal logged, its URL without the credentials')
  t.notMatch(JSON.stringify(written), secret)
})
