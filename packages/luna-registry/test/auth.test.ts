import { request as httpRequest } from 'node:http'
import Fastify from 'fastify'
import t from 'tap'
import { endedWithin, parseHead, rawConnection } from '../../../test-support/raw-http.js'
import lunaRegistry from '../src/index.js'
import { AUTH, PREFIX, basic, build, info, listen } from './helpers.js'

const CHALLENGE = 'Basic realm="Luna"'
const ROUTES: Array<[string, string, unknown?]> = [
  ['GET', `${PREFIX}/services`],
  ['GET', `${PREFIX}/services/`],
  ['GET', `${PREFIX}/services/orders`],
  ['GET', `${PREFIX}/instances`],
  ['GET', `${PREFIX}/instances/orders:h:1`],
  ['POST', `${PREFIX}/instances/orders:h:1`, info()],
  ['PUT', `${PREFIX}/instances/orders:h:1`, info()],
  ['DELETE', `${PREFIX}/instances/orders:h:1`],
  ['GET', `${PREFIX}/assets/luna.css`]
]

t.test('every route answers 401 with the Luna challenge without credentials', async (t) => {
  const app = await build(t)
  for (const [method, url, payload] of ROUTES) {
    const res = await app.inject({ method: method as 'GET', url, ...(payload === undefined ? {} : { payload: payload as object }) })
    t.equal(res.statusCode, 401, `${method} ${url}`)
    t.equal(res.headers['www-authenticate'], CHALLENGE, `${method} ${url} challenge`)
    t.equal(res.json().statusCode, 401)
  }
  t.same(await app.lunaRegistry.store.list(), [], 'nothing was written')
})

t.test('wrong credentials are refused; the default is admin with a blank password', async (t) => {
  const app = await build(t)
  const cases: Array<[string, Record<string, string>, number]> = [
    ['default admin and blank password', basic('admin', ''), 200],
    ['wrong password', basic('admin', 'x'), 401],
    ['wrong user', basic('root', ''), 401],
    ['user in another case', basic('Admin', ''), 401],
    ['no colon', { authorization: `Basic ${Buffer.from('admin').toString('base64')}` }, 401],
    ['another scheme', { authorization: 'Bearer abc' }, 401],
    ['garbage', { authorization: 'Basic !!!' }, 401],
    ['scheme in lower case', { authorization: `basic ${Buffer.from('admin:').toString('base64')}` }, 200]
  ]
  for (const [label, headers, status] of cases) {
    const res = await app.inject({ method: 'GET', url: `${PREFIX}/services`, headers })
    t.equal(res.statusCode, status, label)
    if (status === 401) {
      t.equal(res.headers['www-authenticate'], CHALLENGE, `${label}: challenge`)
      t.match(res.json(), { statusCode: 401, error: 'Unauthorized', code: /^FST_/ })
    }
  }
})

t.test('a password or username one character off is refused, whichever way the header is written', async (t) => {
  // 'ops:secret12' is 12 bytes, a whole number of base64 groups: a change to its last character
  // changes only the header's last character, so a comparison that stopped short would pass it.
  // Far more guesses than the guessing limit allows: it is tested on its own.
  const app = await build(t, { auth: { username: 'ops', password: 'secret12', maxFailures: 0 } })
  const header = (scheme: string, userpass: string): { authorization: string } => ({ authorization: `${scheme} ${Buffer.from(userpass).toString('base64')}` })
  const right = header('Basic', 'ops:secret12').authorization
  const lastOff = header('Basic', 'ops:secret13').authorization
  t.equal(lastOff.slice(0, -1), right.slice(0, -1), 'the headers differ in their last character only')
  const get = async (headers: { authorization: string }): Promise<number> =>
    (await app.inject({ method: 'GET', url: `${PREFIX}/services`, headers })).statusCode
  // `Basic` is the form clients send on every request; another spelling of it takes the long way.
  for (const scheme of ['Basic', 'basic', 'BASIC']) {
    t.equal(await get(header(scheme, 'ops:secret12')), 200, `${scheme}: the right credentials`)
    const wrong: Array<[string, string]> = [
      ['the last character of the password', 'ops:secret13'],
      ['the first character of the password', 'ops:Secret12'],
      ['a prefix of the password', 'ops:secret1'],
      ['the password and one character more', 'ops:secret123'],
      ['an empty password', 'ops:'],
      ['the last character of the username', 'opt:secret12'],
      ['a prefix of the username', 'op:secret12'],
      ['the username and one character more', 'opss:secret12']
    ]
    for (const [label, userpass] of wrong) t.equal(await get(header(scheme, userpass)), 401, `${scheme}: ${label}`)
  }
})

t.test('configured credentials, UTF-8 and colons in the password', async (t) => {
  const app = await build(t, { auth: { username: 'ops', password: 'pä:ss word' } })
  t.equal((await app.inject({ method: 'GET', url: `${PREFIX}/services`, headers: basic('ops', 'pä:ss word') })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: `${PREFIX}/services`, headers: basic('ops', 'pä:ss') })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: `${PREFIX}/services`, headers: AUTH })).statusCode, 401)
})

t.test('credentials embedded in a URL work over real HTTP', async (t) => {
  const { port } = await listen(t, { auth: { username: 'admin', password: 's3cret' } })
  // Node's http client, like curl and browsers, turns user:password@ into an Authorization header.
  const get = async (url: string): Promise<number> => await new Promise((resolve, reject) => {
    httpRequest(url, (res) => { res.resume(); resolve(res.statusCode ?? 0) }).on('error', reject).end()
  })
  t.equal(await get(`http://admin:s3cret@127.0.0.1:${port}${PREFIX}/services`), 200)
  t.equal(await get(`http://admin:wrong@127.0.0.1:${port}${PREFIX}/services`), 401)
  t.equal(await get(`http://127.0.0.1:${port}${PREFIX}/services`), 401)
})

t.test('the getting-started form admin@host works with the default blank password', async (t) => {
  const { port } = await listen(t)
  const body = await new Promise<string>((resolve, reject) => {
    httpRequest(`http://admin@127.0.0.1:${port}${PREFIX}/services/`, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk }).on('end', () => resolve(`${res.statusCode} ${text}`))
    }).on('error', reject).end()
  })
  t.equal(body, '200 []')
})

t.test('a request without credentials is answered 401 and its connection closed, without waiting for its body', async (t) => {
  const { app, port } = await listen(t, { auth: { username: 'admin', password: 's3cret' } })
  for (const headers of ['', `Authorization: Basic ${Buffer.from('admin:wrong').toString('base64')}\r\n`]) {
    // Headers that announce a body, and no body: the client would hold the connection for ever.
    const connection = await rawConnection(t, port, `POST ${PREFIX}/instances/x:h:1 HTTP/1.1\r\nHost: x\r\n${headers}` +
      'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n')
    const { status, headers: head } = parseHead(await endedWithin(connection, 5000))
    t.equal(status, 401, headers === '' ? 'no credentials' : 'wrong credentials')
    t.equal(head['connection'], 'close')
    t.equal(head['www-authenticate'], CHALLENGE)
  }
  t.same(await app.lunaRegistry.store.list(), [], 'nothing was written')
})

t.test('auth: false leaves protection to the host app', async (t) => {
  const app = await build(t, { auth: false })
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/services` })
  t.equal(res.statusCode, 200)
  t.notOk(res.headers['www-authenticate'])
})

t.test('the auth hook does not leak into the host app', async (t) => {
  const app = Fastify()
  app.get('/public', async () => ({ hello: 'world' }))
  await app.register(lunaRegistry)
  app.get('/after', async () => ({ registered: 'after' }))
  t.teardown(() => app.close())
  t.equal((await app.inject('/public')).statusCode, 200)
  t.equal((await app.inject('/after')).statusCode, 200)
  t.equal((await app.inject(`${PREFIX}/services`)).statusCode, 401)
  t.notOk(app.hasDecorator('basicAuth'), 'no basicAuth decorator on the host')
})
