import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { hashPassword, LunaUsers, type LunaUser } from '../src/index.js'
import { grant, refusal } from '../src/access.js'
import { BROWSER } from './panel-html.js'
import { EventStream } from './sse-client.js'
import { basic, build, info, listen, PREFIX, recordEvents } from './helpers.js'

const PASSWORD = 'a long and correct password'
const HASH = await hashPassword(PASSWORD)
const USERS: LunaUser[] = [
  { username: 'dashboards', passwordHash: HASH, role: 'read' },
  { username: 'orders-svc', passwordHash: HASH, role: 'register', services: ['orders', 'pay*-v*'] },
  { username: 'ops', passwordHash: HASH, role: 'admin' }
]
const AS = {
  read: basic('dashboards', PASSWORD),
  register: basic('orders-svc', PASSWORD),
  admin: basic('ops', PASSWORD)
}
type Role = keyof typeof AS
const ROLES = Object.keys(AS) as Role[]

/** A registry with the three users and one instance each of orders, billing and payments-v2. */
async function registry (t: Test): Promise<FastifyInstance> {
  const app = await build(t, { auth: { users: USERS } })
  for (const id of ['orders:h:1', 'billing:h:1', 'payments-v2:h:1']) {
    const res = await app.inject({ method: 'POST', url: `${PREFIX}/instances/${id}`, headers: AS.admin, payload: info(id.split(':')[0]) })
    if (res.statusCode !== 201) throw new Error(`${id}: ${res.statusCode} ${res.body}`)
  }
  return app
}

interface Row {
  label: string
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE'
  url: string
  body?: Record<string, unknown>
  headers?: Record<string, string>
  /** The status for read, register and admin. */
  expect: [number, number, number]
}

const ROWS: Row[] = [
  { label: 'the service list', method: 'GET', url: '/services', expect: [200, 200, 200] },
  { label: 'the service list at /services/', method: 'GET', url: '/services/', expect: [200, 200, 200] },
  { label: 'the service list at /services/json', method: 'GET', url: '/services/json', expect: [200, 200, 200] },
  { label: 'a service', method: 'GET', url: '/services/billing', expect: [200, 200, 200] },
  { label: 'a pick', method: 'GET', url: '/services/billing/pick', expect: [200, 200, 200] },
  { label: 'the instance list', method: 'GET', url: '/instances?service=billing', expect: [200, 200, 200] },
  { label: 'an instance', method: 'GET', url: '/instances/billing:h:1', expect: [200, 200, 200] },
  { label: 'the head of the service list', method: 'HEAD', url: '/services', expect: [200, 200, 200] },
  { label: 'the panel overview', method: 'GET', url: '/services/', headers: { accept: BROWSER.accept }, expect: [200, 200, 200] },
  { label: 'the panel page of a service', method: 'GET', url: '/services/billing', headers: { accept: BROWSER.accept }, expect: [200, 200, 200] },
  { label: 'a panel asset', method: 'GET', url: '/assets/luna.css', expect: [200, 200, 200] },
  { label: 'registering its own service', method: 'POST', url: '/instances/orders:h:2', body: info('orders'), expect: [403, 201, 201] },
  { label: 'a heartbeat of its own service', method: 'PUT', url: '/instances/orders:h:1', body: info('orders'), expect: [403, 200, 200] },
  { label: 'deregistering its own service', method: 'DELETE', url: '/instances/orders:h:1', expect: [403, 204, 204] },
  { label: 'registering a service its pattern matches', method: 'POST', url: '/instances/payments-v3:h:1', body: info('payments-v3'), expect: [403, 201, 201] },
  { label: 'a heartbeat of a service its pattern matches', method: 'PUT', url: '/instances/payments-v2:h:1', body: info('payments-v2'), expect: [403, 200, 200] },
  { label: 'registering another service', method: 'POST', url: '/instances/billing:h:2', body: info('billing'), expect: [403, 403, 201] },
  { label: 'a heartbeat of another service', method: 'PUT', url: '/instances/billing:h:1', body: info('billing'), expect: [403, 403, 200] },
  { label: 'deregistering another service', method: 'DELETE', url: '/instances/billing:h:1', expect: [403, 403, 204] },
  { label: 'a name that only starts like its own', method: 'POST', url: '/instances/orders-eu:h:1', body: info('orders-eu'), expect: [403, 403, 201] },
  { label: 'a change on no route', method: 'POST', url: '/nowhere', body: {}, expect: [404, 404, 404] }
]

t.test('every role against every route', async (t) => {
  for (const [column, role] of ROLES.entries()) {
    // A registry of its own for each role, so one role's changes do not decide another's answers.
    const app = await registry(t)
    for (const row of ROWS) {
      const res = await app.inject({
        method: row.method,
        url: `${PREFIX}${row.url}`,
        headers: { ...AS[role], ...row.headers },
        ...(row.body === undefined ? {} : { payload: row.body })
      })
      t.equal(res.statusCode, row.expect[column], `${role}: ${row.label}`)
      if (res.statusCode === 403) {
        t.equal(res.json().code, 'FST_LUNA_FORBIDDEN', `${role}: ${row.label}: the code`)
        t.match(res.json().message, new RegExp(`role ${role}.*service "${row.url.split('/')[2]!.split(':')[0]}"`), `${role}: ${row.label}: the message names the role and the service`)
        t.equal(res.headers['connection'], 'close', `${role}: ${row.label}: the connection is closed`)
      }
    }
  }
})

t.test('the event stream is open to every role', async (t) => {
  const { base } = await listen(t, { auth: { users: USERS } })
  for (const role of ROLES) {
    const stream = await EventStream.open(`${base}/events`, AS[role])
    t.equal(stream.response.statusCode, 200, role)
    t.equal((await stream.next('snapshot')).event, 'snapshot', `${role}: the snapshot`)
    stream.response.destroy()
  }
})

t.test('a refused change changes nothing and announces nothing', async (t) => {
  const app = await registry(t)
  const before = await app.lunaRegistry.store.list()
  const events = recordEvents(app.lunaRegistry)
  const attempts: Array<[Role, 'POST' | 'PUT' | 'DELETE', string]> = [
    ['read', 'POST', 'orders:h:9'],
    ['read', 'PUT', 'orders:h:1'],
    ['read', 'DELETE', 'orders:h:1'],
    ['register', 'POST', 'billing:h:9'],
    ['register', 'PUT', 'billing:h:1'],
    ['register', 'DELETE', 'billing:h:1']
  ]
  for (const [role, method, id] of attempts) {
    const service = id.split(':')[0]!
    const res = await app.inject({ method, url: `${PREFIX}/instances/${id}`, headers: AS[role], ...(method === 'DELETE' ? {} : { payload: info(service, { version: '9.9.9' }) }) })
    t.equal(res.statusCode, 403, `${role} ${method} ${id}`)
  }
  t.same(await app.lunaRegistry.store.list(), before, 'the store is as it was')
  t.same(events, [], 'no event was emitted')
})

t.test('a refused change is answered before its body arrives', async (t) => {
  const { port, app } = await listen(t, { auth: { users: USERS } })
  const { endedWithin, parseHead, rawConnection } = await import('../../../test-support/raw-http.js')
  // Headers that announce a body, and no body.
  const connection = await rawConnection(t, port, `POST ${PREFIX}/instances/billing:h:9 HTTP/1.1\r\nHost: x\r\nAuthorization: ${AS.register.authorization}\r\n` +
    'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n')
  const { status, headers } = parseHead(await endedWithin(connection, 5000))
  t.equal(status, 403)
  t.equal(headers['connection'], 'close')
  t.same(await app.lunaRegistry.store.list(), [])
})

t.test('the panel offers deregistering and maintenance only where the user may change the service, and ending protection to admins', async (t) => {
  const app = await registry(t)
  const page = async (role: Role, service: string): Promise<string> =>
    (await app.inject({ url: `${PREFIX}/services/${service}`, headers: { accept: BROWSER.accept, ...AS[role] } })).body
  const cases: Array<[Role, string, boolean]> = [
    ['read', 'orders', false],
    ['read', 'billing', false],
    ['register', 'orders', true],
    ['register', 'payments-v2', true],
    ['register', 'billing', false],
    ['admin', 'orders', true],
    ['admin', 'billing', true]
  ]
  for (const [role, service, offered] of cases) {
    const html = await page(role, service)
    t.equal(html.includes('data-deregister'), offered, `${role} on ${service}: ${offered ? 'a' : 'no'} deregister button`)
    t.equal(html.includes('data-read-only'), !offered, `${role} on ${service}: the table says whether it is read-only`)
    t.equal(html.includes('data-maintenance'), offered, `${role} on ${service}: ${offered ? 'a' : 'no'} maintenance button`)
    t.equal(html.includes('id="protection-end"'), role === 'admin', `${role}: ${role === 'admin' ? 'a' : 'no'} button to end protection`)
  }
})

t.test('service patterns: * anywhere, exact otherwise', async (t) => {
  const cases: Array<[string[], string, boolean]> = [
    [['orders'], 'orders', true],
    [['orders'], 'orders2', false],
    [['orders'], 'Orders', false],
    [['orders-*'], 'orders-eu', true],
    [['orders-*'], 'orders-', true],
    [['orders-*'], 'orders', false],
    [['*-orders'], 'eu-orders', true],
    [['pay*-v*'], 'payments-v2', true],
    [['pay*-v*'], 'payments', false],
    [['a.b'], 'axb', false],
    [['a.b'], 'a.b', true],
    [['*'], 'anything', true],
    [['x', 'y*'], 'yes', true],
    [['x', 'y*'], 'z', false]
  ]
  for (const [services, service, expected] of cases) {
    t.equal(grant('u', { role: 'register', services }).mayChange(service), expected, `${services.join(',')} ${expected ? 'matches' : 'does not match'} ${service}`)
  }
})

t.test('the rule covers routes by method and path alone, those added later included', async (t) => {
  const register = grant('svc', { role: 'register', services: ['orders'] })
  const read = grant('dash', { role: 'read' })
  const admin = grant('ops', { role: 'admin' })
  const maintenance = { method: 'POST', route: `${PREFIX}/instances/:id/maintenance`, params: { id: 'orders:h:1' } }
  t.equal(refusal(register, PREFIX, maintenance), undefined, 'register may put an instance of its service in maintenance')
  t.match(refusal(register, PREFIX, { ...maintenance, params: { id: 'billing:h:1' } }), /may not change instances of service "billing"/)
  t.match(refusal(read, PREFIX, maintenance), /role read.*service "orders"/)
  const protection = { method: 'DELETE', route: `${PREFIX}/protection`, params: {} }
  t.match(refusal(register, PREFIX, protection), /^DELETE \/registry\/v1\/protection needs role admin; user "svc" has role register$/)
  t.match(refusal(read, PREFIX, protection), /needs role admin/)
  t.equal(refusal(admin, PREFIX, protection), undefined)
  t.equal(refusal(read, PREFIX, { method: 'GET', route: `${PREFIX}/metrics`, params: {} }), undefined, 'every GET is a read')
  t.match(refusal(register, PREFIX, { method: 'POST', route: `${PREFIX}/instances/batch`, params: {} }), /needs role admin/, 'a fixed path under /instances acts on no one instance')
  t.match(refusal(register, '', { method: 'PUT', route: '/instances/*', params: { '*': 'billing:h:1/extra' } }), /service "billing"/, 'at the root, the first segment of a wildcard')
})

t.test('a users list forgets what it verified when it is replaced', async (t) => {
  let verified = 0
  class Counting extends LunaUsers {
    override async verify (username: string, password: string): ReturnType<LunaUsers['verify']> {
      verified++
      return await super.verify(username, password)
    }
  }
  const users = new Counting(USERS)
  const app = await build(t, { auth: { users } })
  const heartbeat = async (headers: Record<string, string>): Promise<number> =>
    (await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h:1`, headers, payload: info('orders') })).statusCode
  t.equal(await heartbeat(AS.register), 201)
  for (let i = 0; i < 5; i++) t.equal(await heartbeat(AS.register), 200)
  t.equal(verified, 1, 'the password was verified once for six requests with the same header')
  const together = await Promise.all([0, 1, 2, 3].map(async () => await heartbeat(AS.read)))
  t.same(together, [403, 403, 403, 403])
  t.equal(verified, 2, 'requests that arrive together with a new header wait for one verification')
  t.equal(await heartbeat(basic('orders-svc', 'wrong')), 401)
  t.equal(await heartbeat(basic('orders-svc', 'wrong')), 401)
  t.equal(verified, 4, 'every failure is verified again')
  users.replace([USERS[0]!])
  t.equal(await heartbeat(AS.register), 401, 'a user taken off the list is refused at once')
  t.equal(await heartbeat(AS.read), 403, 'a user kept keeps their role')
  t.equal(users.size, 1)
  t.throws(() => { users.replace([{ ...USERS[2]!, role: 'root' as 'admin' }]) }, { code: 'FST_LUNA_INVALID_USERS', message: /^users\[0\]\.role must be one of read, register, admin, got "root"$/ })
  t.equal(await heartbeat(AS.read), 403, 'a list that breaks a rule leaves the one in place')
})

t.test('a function of the host app decides roles', async (t) => {
  const asked: string[] = []
  const app = await build(t, {
    auth: async (username, password, request) => {
      asked.push(`${username} ${request.method}`)
      if (password !== 'pw') return undefined
      if (username === 'dash') return 'read'
      if (username === 'svc') return { role: 'register', services: ['orders'] }
      if (username === 'bad') return 'root' as 'read'
      if (username === 'pattern') return { role: 'register', services: ['a b'] }
      return 'admin'
    }
  })
  const post = async (username: string, service: string, password = 'pw'): Promise<number> =>
    (await app.inject({ method: 'POST', url: `${PREFIX}/instances/${service}:h:1`, headers: basic(username, password), payload: info(service) })).statusCode
  t.equal(await post('svc', 'orders'), 201)
  t.equal(await post('svc', 'billing'), 403)
  t.equal(await post('dash', 'orders'), 403)
  t.equal(await post('root', 'billing'), 201)
  t.equal(await post('svc', 'orders', 'wrong'), 401)
  t.equal(await post('bad', 'orders'), 500, 'a role that does not exist is a fault of the function')
  t.equal(await post('pattern', 'orders'), 500, 'so is a pattern that is not one')
  t.equal(await post('svc', 'orders'), 200)
  t.equal(asked.filter((entry) => entry === 'svc POST').length, 4, 'asked for every request: its answer may change')
})

t.test('a users list in the options is checked, naming the field', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [[{ username: 'a', passwordHash: 'plain', role: 'read' }], /"auth\.users\[0\]\.passwordHash" must be a hash in the form scrypt\$N\$r\$p\$salt\$hash/],
    [[{ username: 'a', passwordHash: HASH, role: 'read' }, { username: 'a', passwordHash: HASH, role: 'read' }], /"auth\.users\[1\]\.username" repeats "a", already the username of users\[0\]/],
    [[{ username: 'a', passwordHash: HASH, role: 'register' }], /"auth\.users\[0\]\.services" must be a non-empty array/],
    [[{ username: 'a', passwordHash: HASH, role: 'register', services: ['ok', 'not ok'] }], /"auth\.users\[0\]\.services\[1\]" must be a service name/],
    [[{ username: 'a', passwordHash: HASH, role: 'admin', services: ['x'] }], /"auth\.users\[0\]\.services" is for role register only/],
    [[{ username: 'a', passwordHash: HASH, role: 'read', extra: 1 }], /"auth\.users\[0\]\.extra" is not a field of a user/],
    [[{ username: 'a:b', passwordHash: HASH, role: 'read' }], /"auth\.users\[0\]\.username" must be a non-empty string without ":"/],
    [[{ username: 'a', passwordHash: 5, role: 'read' }], /"auth\.users\[0\]\.passwordHash" must be a string, got 5/],
    [['a'], /"auth\.users\[0\]" must be an object, got "a"/],
    [[{ username: 'a', passwordHash: HASH.replace('$16384$', '$1000$'), role: 'read' }], /scrypt cost N of 1000: it must be a power of 2/],
    [[{ username: 'a', passwordHash: HASH.replace('$8$', '$0$'), role: 'read' }], /block size r of 0/],
    [[{ username: 'a', passwordHash: HASH.replace('$1$', '$99$'), role: 'read' }], /parallelism p of 99/],
    [[{ username: 'a', passwordHash: HASH.replace(/\$[\w-]+$/, '$AAAA'), role: 'read' }], /hash of 3 bytes/]
  ]
  for (const [users, message] of cases) {
    const error = await build(t, { auth: { users: users as LunaUser[] } }).then(() => undefined, (err: Error) => err)
    t.match(error, { code: 'FST_LUNA_INVALID_OPTION', message }, JSON.stringify(users))
  }
})

t.test('passwords: salted, verified whatever their characters, refused one character off', async (t) => {
  const first = await hashPassword('pä:ss word')
  t.not(first, await hashPassword('pä:ss word'), 'two hashes of a password differ by their salt')
  t.match(first, /^scrypt\$16384\$8\$1\$[\w-]{22}\$[\w-]{43}$/)
  const users = new LunaUsers([{ username: 'u', passwordHash: first, role: 'read' }])
  t.match(await users.verify('u', 'pä:ss word'), { username: 'u', role: 'read' })
  t.equal(await users.verify('u', 'pä:ss wore'), undefined)
  t.equal(await users.verify('u', ''), undefined)
  t.equal(await users.verify('v', 'pä:ss word'), undefined, 'an unknown user')
})
