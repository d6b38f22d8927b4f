import t from 'tap'
import { AUTH, PREFIX, build, info } from './helpers.js'

const ID = 'orders:10.0.0.1:8080'
const URL_ = `${PREFIX}/instances/${ID}`

// Each case: a body, and what the 400 message must say (the field and the rule).
const BAD_BODIES: Array<[string, unknown, RegExp]> = [
  ['missing name', info('orders', { name: undefined }), /body\/name is required/],
  ['missing version', info('orders', { version: undefined }), /body\/version is required/],
  ['missing status', info('orders', { status: undefined }), /body\/status is required/],
  ['missing url', info('orders', { url: undefined }), /body\/url is required/],
  ['name of another service', info('billing'), /body\/name must equal the service name "orders" from the path, got "billing"/],
  ['name in another case', info('Orders'), /body\/name must equal the service name "orders"/],
  ['empty name', info('orders', { name: '' }), /body\/name must not be empty/],
  ['instanceId of another instance', info('orders', { instanceId: 'orders:10.0.0.2:8080' }), /body\/instanceId must equal the instance id from the path/],
  ['status in lower case', info('orders', { status: 'ok' }), /body\/status must be one of "OK", "DOWN"/],
  ['status UP', info('orders', { status: 'UP' }), /body\/status must be one of "OK", "DOWN"/],
  ['version as a number', info('orders', { version: 1 }), /body\/version must be string/],
  ['empty version', info('orders', { version: '' }), /body\/version must not be empty/],
  ['version too long', info('orders', { version: 'v'.repeat(65) }), /body\/version must NOT have more than 64 characters/],
  ['description too long', info('orders', { description: 'd'.repeat(1025) }), /body\/description must NOT have more than 1024 characters/],
  ['description not a string', info('orders', { description: 5 }), /body\/description must be string/],
  ['relative url', info('orders', { url: '/health' }), /body\/url must be an absolute http: or https: URL/],
  ['ftp url', info('orders', { url: 'ftp://host/' }), /body\/url must be an absolute http: or https: URL/],
  ['javascript url', info('orders', { url: 'javascript:alert(1)' }), /body\/url must be an absolute http: or https: URL/],
  ['url without a host', info('orders', { url: 'http://' }), /body\/url must be an absolute http: or https: URL/],
  ['url too long', info('orders', { url: `http://h/${'p'.repeat(2048)}` }), /body\/url must NOT have more than 2048 characters/],
  ['weight too big', info('orders', { balancerOptions: { weight: 1001 } }), /body\/balancerOptions\/weight must be <= 1000/],
  ['negative weight', info('orders', { balancerOptions: { weight: -1 } }), /body\/balancerOptions\/weight must be >= 0/],
  ['fractional weight', info('orders', { balancerOptions: { weight: 1.5 } }), /body\/balancerOptions\/weight must be integer/],
  ['weight as a string', info('orders', { balancerOptions: { weight: '5' } }), /body\/balancerOptions\/weight must be integer/],
  ['balancerOptions not an object', info('orders', { balancerOptions: [] }), /body\/balancerOptions must be object/],
  ['metadata value not a string', info('orders', { metadata: { a: 1 } }), /body\/metadata\/a must be string/],
  ['metadata value too long', info('orders', { metadata: { a: 'x'.repeat(513) } }), /body\/metadata\/a must NOT have more than 512 characters/],
  ['metadata with 65 keys', info('orders', { metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }), /body\/metadata must NOT have more than 64 properties/],
  ['metadata not an object', info('orders', { metadata: 'a=b' }), /body\/metadata must be object/],
  ['an array body', [info()], /body must be object/],
  ['a null body', null, /body must be object/],
  ['a string body', 'orders', /body must be object/]
]

for (const method of ['POST', 'PUT'] as const) {
  t.test(`${method}: every rule broken gives a 400 naming the field, and stores nothing`, async (t) => {
    const app = await build(t)
    if (method === 'PUT') {
      t.equal((await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: info('orders', { version: 'kept' }) })).statusCode, 201)
    }
    for (const [label, body, message] of BAD_BODIES) {
      const res = await app.inject({
        method,
        url: URL_,
        headers: { ...AUTH, 'content-type': 'application/json' },
        payload: JSON.stringify(body)
      })
      t.equal(res.statusCode, 400, `${label}: 400`)
      const error = res.json()
      t.match(error, { statusCode: 400, error: 'Bad Request', code: /^FST_(ERR_VALIDATION|LUNA_INSTANCE_ID_MISMATCH)$/ }, `${label}: Fastify's error shape`)
      t.match(error.message, message, `${label}: ${error.message}`)
    }
    const stored = await app.lunaRegistry.store.list()
    t.same(stored.map((record) => record.version), method === 'PUT' ? ['kept'] : [], 'nothing was written')
  })
}

t.test('malformed ids: 400 naming the part, on every method', async (t) => {
  const app = await build(t)
  const cases: Array<[string, RegExp]> = [
    ['orders', /params\/id "orders" is not a valid instance id: it must have the form serviceName:domain:port/],
    ['orders:host:99999', /port "99999" must be an integer from 1 to 65535/],
    ['orders:bad_host:80', /domain "bad_host" is not a valid hostname/],
    ['-orders:host:80', /serviceName "-orders"/],
    ['', /it must have the form/]
  ]
  for (const [id, message] of cases) {
    for (const method of ['POST', 'PUT', 'GET', 'DELETE'] as const) {
      const name = id.split(':')[0] ?? ''
      const res = await app.inject({ method, url: `${PREFIX}/instances/${id}`, headers: AUTH, ...(method === 'POST' || method === 'PUT' ? { payload: info(name || 'x') } : {}) })
      t.equal(res.statusCode, 400, `${method} ${id}: 400`)
      t.equal(res.json().code, 'FST_LUNA_INVALID_INSTANCE_ID', `${method} ${id}: code`)
      t.match(res.json().message, message, `${method} ${id}: message`)
    }
  }
  t.same(await app.lunaRegistry.store.list(), [])
})

t.test('a path with a segment after the id is no route: 404 on every method', async (t) => {
  const app = await build(t)
  for (const method of ['POST', 'PUT', 'GET', 'DELETE'] as const) {
    const res = await app.inject({ method, url: `${PREFIX}/instances/orders:host:80/extra`, headers: AUTH, ...(method === 'POST' || method === 'PUT' ? { payload: info('orders') } : {}) })
    t.equal(res.statusCode, 404, `${method}: 404`)
    t.match(res.json(), { code: 'FST_LUNA_ROUTE_NOT_FOUND', message: `Route ${method}:${PREFIX}/instances/orders:host:80/extra not found` }, `${method}: the route is named`)
  }
  t.same(await app.lunaRegistry.store.list(), [])
})

t.test('bodies that are not JSON: 400, 415 and 413, never 5xx', async (t) => {
  const app = await build(t)
  const send = async (headers: Record<string, string>, payload: string): Promise<{ statusCode: number, code: string, message: string }> => {
    const res = await app.inject({ method: 'POST', url: URL_, headers: { ...AUTH, ...headers }, payload })
    return { statusCode: res.statusCode, ...res.json() }
  }
  t.match(await send({ 'content-type': 'application/json' }, '{"name": "orders",'), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' })
  t.match(await send({ 'content-type': 'application/json' }, ''), { statusCode: 400, code: 'FST_ERR_CTP_EMPTY_JSON_BODY' })
  t.match(await send({ 'content-type': 'application/json' }, '{"__proto__": {"x": 1}, "name": "orders"}'), { statusCode: 400 })
  t.match(await send({ 'content-type': 'text/plain' }, JSON.stringify(info())), {
    statusCode: 415,
    code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
    message: 'Content-Type "text/plain" is not supported: send application/json'
  })
  t.match(await send({ 'content-type': 'application/x-www-form-urlencoded' }, 'name=orders'), { statusCode: 415 })
  const big = JSON.stringify(info('orders', { description: 'd'.repeat(70 * 1024) }))
  t.match(await send({ 'content-type': 'application/json' }, big), {
    statusCode: 413,
    code: 'FST_ERR_CTP_BODY_TOO_LARGE',
    message: 'body is larger than the limit of 65536 bytes'
  })
  const justUnder = JSON.stringify(info('orders', { metadata: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v'.repeat(512)])), description: 'd'.repeat(1024) }))
  t.ok(justUnder.length < 64 * 1024 && justUnder.length > 32 * 1024)
  t.match(await send({ 'content-type': 'application/json' }, justUnder), { statusCode: 201 }, 'a large but legal body is accepted')
  const noBody = await app.inject({ method: 'POST', url: `${PREFIX}/instances/billing:h:1`, headers: AUTH })
  t.equal(noBody.statusCode, 400)
  t.match(noBody.json().message, /body must be object/)
  t.same((await app.lunaRegistry.store.list()).map((r) => r.instanceId), [ID])
})

t.test('unknown routes under the prefix: a JSON 404 behind the same auth', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/nothing-here`, headers: AUTH })
  t.equal(res.statusCode, 404)
  t.match(res.json(), { code: 'FST_LUNA_ROUTE_NOT_FOUND', message: `Route GET:${PREFIX}/nothing-here not found` })
  t.equal((await app.inject({ method: 'GET', url: `${PREFIX}/nothing-here` })).statusCode, 401)
})

t.test('a store that fails gives a bare 500 that leaks nothing', async (t) => {
  const app = await build(t, {
    store: {
      register: async () => { throw new Error('disk on fire at /var/secret') },
      heartbeat: async () => undefined,
      remove: async () => false,
      get: async () => undefined,
      list: async () => [],
      claimTimedOut: async () => [],
      evictTimedOut: async () => [],
      close: async () => {}
    }
  })
  const res = await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: info() })
  t.equal(res.statusCode, 500)
  t.same(res.json(), { statusCode: 500, code: 'FST_LUNA_INTERNAL_ERROR', error: 'Internal Server Error', message: 'Internal Server Error' })
})

t.test('an absurdly long id: 400 naming params/id', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/instances/${'a'.repeat(600)}:h:1`, headers: AUTH })
  t.equal(res.statusCode, 400)
  t.match(res.json().message, /^params\/id must NOT have more than 512 characters/)
})

t.test('deeply nested balancerOptions: 400, nothing stored, every list still answers', async (t) => {
  const app = await build(t)
  const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`
  const payload = JSON.stringify(info('orders', { balancerOptions: { weight: 1, x: 'DEEP' } })).replace('"DEEP"', deep)
  const res = await app.inject({ method: 'POST', url: URL_, headers: { ...AUTH, 'content-type': 'application/json' }, payload })
  t.equal(res.statusCode, 400)
  t.match(res.json().message, /^body\/balancerOptions must NOT nest objects or arrays more than 8 levels deep/)
  t.same(await app.lunaRegistry.store.list(), [])
  const fine = await app.inject({ method: 'POST', url: URL_, headers: AUTH, payload: info('orders', { balancerOptions: { weight: 1, x: [[[[[[['ok']]]]]]] } }) })
  t.equal(fine.statusCode, 201, 'eight levels are fine')
  for (const url of [`${PREFIX}/instances`, `${PREFIX}/services`, `${PREFIX}/services/orders`]) {
    t.equal((await app.inject({ method: 'GET', url, headers: AUTH })).statusCode, 200, url)
  }
})
