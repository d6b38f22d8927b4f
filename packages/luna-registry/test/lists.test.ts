import { connect } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { until } from '../../../test-support/until.js'
import { MemoryStore, type InstanceRecord } from '../src/index.js'
import { AUTH, PREFIX, build, fill, info, listen, manualClock, responses, wrapStore } from './helpers.js'

/** The largest page a client may ask for. */
const MAX_PAGE_LIMIT = 1000
/** A list this long is streamed, not sent with its length: lists are made 16 KiB at a time. */
const STREAMED_ABOVE = 32 * 1024
/** What a client that does not read may make the server hold for it, at most. */
const HELD_AT_MOST = 64 * 1024

/** Every instance and service list the routes answer, by URL, with what it must equal. */
function lists (app: FastifyInstance): Array<[string, () => Promise<unknown>]> {
  const registry = app.lunaRegistry
  return [
    [`${PREFIX}/instances`, async () => await registry.listInstances()],
    [`${PREFIX}/instances?service=svc-3`, async () => await registry.listInstances({ service: 'svc-3' })],
    [`${PREFIX}/instances?status=DOWN`, async () => await registry.listInstances({ status: 'DOWN' })],
    [`${PREFIX}/services`, async () => await registry.listServices()],
    [`${PREFIX}/services/`, async () => await registry.listServices()],
    [`${PREFIX}/services?status=UP`, async () => await registry.listServices({ status: 'UP' })]
  ]
}

t.test('a list many pieces long is written, byte for byte, as JSON.stringify writes its views', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  // Views of every shape: remembered bodies (registered over HTTP) and bodies registered in
  // process, with and without a description, DOWN with a downSince, and text that JSON escapes.
  for (let i = 0; i < 40; i++) {
    const body = info(`svc-${i % 7}`, {
      ...(i % 2 === 0 ? { description: `"quoted" \\ line\nbreak \u2028 ☾ 🌙 ${i}` } : {}),
      ...(i % 5 === 0 ? { status: 'DOWN' } : {}),
      metadata: { zone: `eu-${i % 3}`, note: '</script>' },
      balancerOptions: { weight: i % 4, nested: { list: [1, 'two', null] } }
    })
    const res = await app.inject({ method: 'POST', url: `${PREFIX}/instances/svc-${i % 7}:host-${i}:80`, headers: AUTH, payload: body })
    t.equal(res.statusCode, 201)
  }
  await fill(app.lunaRegistry, 200, 9, 2000)
  clock.advance(10_000)
  await app.lunaRegistry.heartbeat('svc-3:h-3:8000', info('svc-3', { description: 'x'.repeat(1000) }) as never)
  clock.advance(25_000)

  for (const [url, expected] of lists(app)) {
    const res = await app.inject({ method: 'GET', url, headers: AUTH })
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8', url)
    const json = JSON.stringify(await expected())
    t.ok(json.length > STREAMED_ABOVE, `${url}: ${json.length} characters, several pieces`)
    t.equal(res.headers['content-length'], undefined, `${url}: streamed, so no length`)
    t.equal(res.body, json, `${url}: the same characters`)
  }
})

t.test('a registry grouped over several turns lists every instance once, under its own service', async (t) => {
  const app = await build(t)
  // More records than are grouped in one turn of the event loop, so grouping is resumed.
  await fill(app.lunaRegistry, 9000, 7)
  const instances = await app.lunaRegistry.listInstances()
  const expected = [...new Set(instances.map((view) => view.name))].sort().map((name) => ({
    name,
    instances: instances.filter((view) => view.name === name).map((view) => view.instanceId)
  }))
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/services`, headers: AUTH })
  t.equal(res.statusCode, 200)
  const listed = (res.json() as Array<{ name: string, instances: Array<{ instanceId: string }> }>)
    .map((service) => ({ name: service.name, instances: service.instances.map((view) => view.instanceId) }))
  t.same(listed, expected)
  t.equal(listed.reduce((sum, service) => sum + service.instances.length, 0), 9000)
})

t.test('a list that fits in one piece is sent whole, with its length', async (t) => {
  const app = await build(t)
  await fill(app.lunaRegistry, 3, 2)
  for (const [url, expected] of lists(app)) {
    const res = await app.inject({ method: 'GET', url, headers: AUTH })
    const json = JSON.stringify(await expected())
    t.equal(res.body, json, url)
    t.equal(res.headers['content-length'], String(Buffer.byteLength(json)), url)
  }
  const empty = await build(t)
  t.equal((await empty.inject({ method: 'GET', url: `${PREFIX}/instances`, headers: AUTH })).body, '[]')
  t.equal((await empty.inject({ method: 'GET', url: `${PREFIX}/services`, headers: AUTH })).body, '[]')
})

t.test('HEAD of a long list answers its headers without making the list', async (t) => {
  // A view shows its record's metadata: reads of it count the views made.
  let made = 0
  const inner = new MemoryStore()
  const counted = (record: InstanceRecord): InstanceRecord => new Proxy(record, {
    get (target, key) {
      if (key === 'metadata') made++
      return Reflect.get(target, key) as unknown
    }
  })
  const store = wrapStore({ list: async (filter) => (await inner.list(filter)).map(counted) }, inner)
  const app = await build(t, { store })
  await fill(app.lunaRegistry, 100, 3, 2000)
  for (const method of ['GET', 'HEAD'] as const) {
    for (const url of [`${PREFIX}/instances`, `${PREFIX}/services`]) {
      made = 0
      const res = await app.inject({ method, url, headers: AUTH })
      t.equal(res.statusCode, 200, `${method} ${url}`)
      t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
      if (method === 'GET') {
        t.ok(made >= 100, `GET ${url}: ${made} reads for 100 views`)
      } else {
        t.equal(res.body, '')
        t.ok(made < 100, `HEAD ${url}: ${made} of 100 views made`)
      }
    }
  }
})

t.test('a client that does not read a long list makes the server hold a piece of it, not all of it', async (t) => {
  const { app, port } = await listen(t)
  const seen = responses(app)
  // Far more than the kernel's socket buffers take from a client that does not read.
  await fill(app.lunaRegistry, 1200, 40, 20_000)
  const expected = Buffer.from(JSON.stringify(await app.lunaRegistry.listServices()))
  t.ok(expected.length > 20e6, `${expected.length} bytes`)

  const socket = connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  socket.pause()
  socket.write(`GET ${PREFIX}/services HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${AUTH.authorization}\r\nAccept-Encoding: identity\r\n\r\n`)
  const response = await until('the request arrived', () => seen[0], 5000)
  // The socket's buffer fills once the kernel's is full: the server stops there.
  await until('the server waits for the client', () => response.writableNeedDrain || undefined, 10_000)
  const made = (): number => (response.socket?.bytesWritten ?? 0) + response.writableLength
  const stalledAt = made()
  // Meanwhile the server answers other requests: a list made ahead of its reader would grow in
  // the turns they take.
  for (let i = 0; i < 5; i++) {
    t.equal((await fetch(`http://127.0.0.1:${port}${PREFIX}/services?limit=1`, { headers: AUTH })).status, 200)
  }
  t.equal(made(), stalledAt, 'and makes nothing more meanwhile')
  t.ok(response.writableLength <= HELD_AT_MOST, `${response.writableLength} bytes held for the socket`)
  t.ok(stalledAt < expected.length / 2, `${stalledAt} of ${expected.length} bytes made`)

  // Once the client reads, the rest follows, and the whole is the list.
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.resume()
  await until('the list is sent once read', () => response.writableFinished || undefined, 30_000)
  await until('the last chunk', () => Buffer.concat(chunks).includes('\r\n0\r\n\r\n') || undefined, 5000)
  const raw = Buffer.concat(chunks)
  const headerEnd = raw.indexOf('\r\n\r\n')
  t.match(raw.subarray(0, headerEnd).toString(), /transfer-encoding: chunked/i)
  t.ok(unchunk(raw.subarray(headerEnd + 4)).equals(expected), 'the same bytes as JSON.stringify writes')
})

/** The body of a chunked HTTP/1.1 response. */
function unchunk (raw: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at)
    const size = parseInt(raw.subarray(at, lineEnd).toString(), 16)
    if (size === 0) return Buffer.concat(parts)
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
}

interface Paged { ids: string[], links: Array<string | undefined> }

async function walk (app: FastifyInstance, first: string, key: 'instanceId' | 'name'): Promise<Paged> {
  const ids: string[] = []
  const links: Array<string | undefined> = []
  let url: string | undefined = first
  while (url !== undefined) {
    const res = await app.inject({ method: 'GET', url, headers: AUTH })
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
    ids.push(...(res.json() as Array<Record<string, string>>).map((item) => item[key]!))
    const link = res.headers.link as string | undefined
    links.push(link)
    url = link === undefined ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)![1]
    if (links.length > 100) throw new Error('no last page')
  }
  return { ids, links }
}

t.test('?limit= pages a list; the Link header carries the next page, and the last page has none', async (t) => {
  const app = await build(t)
  await fill(app.lunaRegistry, 23, 5)
  const all = (await app.lunaRegistry.listInstances()).map((view) => view.instanceId)

  const first = await app.inject({ method: 'GET', url: `${PREFIX}/instances?limit=10`, headers: AUTH })
  t.same(first.json().map((view: { instanceId: string }) => view.instanceId), all.slice(0, 10))
  t.equal(first.headers.link, `<${PREFIX}/instances?limit=10&after=${encodeURIComponent(all[9]!)}>; rel="next"`)

  const paged = await walk(app, `${PREFIX}/instances?limit=10`, 'instanceId')
  t.same(paged.ids, all, 'the pages together are the list, in its order')
  t.equal(paged.links.length, 3)
  t.equal(paged.links.at(-1), undefined, 'the last page has no Link')

  const exact = await walk(app, `${PREFIX}/instances?limit=23`, 'instanceId')
  t.same(exact.links, [undefined], 'a page that ends the list exactly has no Link either')

  const services = (await app.lunaRegistry.listServices()).map((service) => service.name)
  const servicePages = await walk(app, `${PREFIX}/services?limit=2`, 'name')
  t.same(servicePages.ids, services)
  t.equal(servicePages.links.length, 3)
  const slashed = await app.inject({ method: 'GET', url: `${PREFIX}/services/?limit=2`, headers: AUTH })
  t.equal(slashed.headers.link, `<${PREFIX}/services/?limit=2&after=${services[1]!}>; rel="next"`)
})

t.test('?after= starts after that id or name, whether or not it is registered', async (t) => {
  const app = await build(t)
  await fill(app.lunaRegistry, 12, 4)
  const all = (await app.lunaRegistry.listInstances()).map((view) => view.instanceId)
  const after = await app.inject({ method: 'GET', url: `${PREFIX}/instances?after=${encodeURIComponent(all[4]!)}`, headers: AUTH })
  t.same(after.json().map((view: { instanceId: string }) => view.instanceId), all.slice(5))
  t.equal(after.headers.link, undefined, 'no limit: the rest of the list, and no next page')
  // Deregistered since the last page was read: the next page starts where it would have.
  await app.lunaRegistry.deregister(all[4]!)
  const gone = await app.inject({ method: 'GET', url: `${PREFIX}/instances?limit=2&after=${encodeURIComponent(all[4]!)}`, headers: AUTH })
  t.same(gone.json().map((view: { instanceId: string }) => view.instanceId), all.slice(5, 7))
  const end = await app.inject({ method: 'GET', url: `${PREFIX}/instances?limit=2&after=zzz`, headers: AUTH })
  t.same(end.json(), [])
  t.equal(end.headers.link, undefined)
  const services = await app.inject({ method: 'GET', url: `${PREFIX}/services?after=svc-1&limit=1`, headers: AUTH })
  t.same(services.json().map((service: { name: string }) => service.name), ['svc-2'])
  t.equal(services.headers.link, `<${PREFIX}/services?after=svc-2&limit=1>; rel="next"`, 'the query kept as given, after moved on')
})

t.test('paging keeps the filters: the next page is of the same service and status', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  for (let i = 0; i < 10; i++) {
    await app.lunaRegistry.register(`orders:h${i}:1`, info('orders', i % 2 === 0 ? {} : { status: 'DOWN' }) as never)
    await app.lunaRegistry.register(`billing:h${i}:1`, info('billing') as never)
  }
  await app.lunaRegistry.register('idle:h:1', info('idle', { status: 'DOWN' }) as never)
  const paged = await walk(app, `${PREFIX}/instances?service=orders&status=OK&limit=2`, 'instanceId')
  t.same(paged.ids, ['orders:h0:1', 'orders:h2:1', 'orders:h4:1', 'orders:h6:1', 'orders:h8:1'])
  t.match(paged.links[0], /^<\/registry\/v1\/instances\?service=orders&status=OK&limit=2&after=orders%3Ah2%3A1>; rel="next"$/)
  t.equal(paged.links.length, 3)
  const up = await walk(app, `${PREFIX}/services?status=UP&limit=1`, 'name')
  t.same(up.ids, ['billing', 'orders'])
  t.same(up.links.length, 2, 'no Link after the last UP service, though a DOWN one follows')
})

t.test('bad paging values: 400 naming the field and the rule', async (t) => {
  const app = await build(t)
  const cases: Array<[string, RegExp]> = [
    ['/instances?limit=0', /^querystring\/limit must be >= 1$/],
    [`/instances?limit=${MAX_PAGE_LIMIT + 1}`, /^querystring\/limit must be <= 1000$/],
    ['/instances?limit=ten', /^querystring\/limit must be integer$/],
    ['/instances?limit=1.5', /^querystring\/limit must be integer$/],
    ['/instances?after=', /^querystring\/after must not be empty$/],
    [`/instances?after=${'a'.repeat(513)}`, /^querystring\/after must NOT have more than 512 characters$/],
    ['/services?limit=-1', /^querystring\/limit must be >= 1$/],
    ['/services/?limit=x', /^querystring\/limit must be integer$/],
    ['/services?after=no%20spaces', /^querystring\/after must be a service name/]
  ]
  for (const [url, message] of cases) {
    const res = await app.inject({ method: 'GET', url: `${PREFIX}${url}`, headers: AUTH })
    t.equal(res.statusCode, 400, url)
    t.match(res.json(), { code: 'FST_ERR_VALIDATION', message }, url)
  }
  const most = await app.inject({ method: 'GET', url: `${PREFIX}/instances?limit=${MAX_PAGE_LIMIT}`, headers: AUTH })
  t.equal(most.statusCode, 200, `limit=${MAX_PAGE_LIMIT} is allowed`)
})
