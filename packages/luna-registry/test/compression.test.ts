import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import Fastify from 'fastify'
import t from 'tap'
import lunaRegistry from '../src/index.js'
import { AUTH, PREFIX, build, fill, info, listen, manualClock } from './helpers.js'
import { EventStream } from './sse-client.js'

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
const DECODE: Record<string, (data: Buffer) => Buffer> = { gzip: gunzipSync, br: brotliDecompressSync }

t.test('large answers are compressed with gzip or br when asked, and decode to the same bytes', async (t) => {
  // A clock that stands still: the panel's pages show how long ago things happened.
  const app = await build(t, { now: manualClock().now })
  await fill(app.lunaRegistry, 300, 7, 2000)
  const reads: Array<[string, string | undefined]> = [
    [`${PREFIX}/instances`, undefined],
    [`${PREFIX}/services`, undefined],
    [`${PREFIX}/services?limit=2`, undefined],
    [`${PREFIX}/services/svc-1`, undefined],
    [`${PREFIX}/services/`, BROWSER],
    [`${PREFIX}/services/svc-1`, BROWSER]
  ]
  for (const [url, accept] of reads) {
    const headers = { ...AUTH, ...(accept === undefined ? {} : { accept }) }
    const plain = await app.inject({ method: 'GET', url, headers })
    t.equal(plain.statusCode, 200, url)
    t.equal(plain.headers['content-encoding'], undefined, `${url}: none unasked`)
    for (const [encoding, decode] of Object.entries(DECODE)) {
      const res = await app.inject({ method: 'GET', url, headers: { ...headers, 'accept-encoding': `${encoding}, identity;q=0.5` } })
      t.equal(res.statusCode, 200)
      t.equal(res.headers['content-encoding'], encoding, `${url}: ${encoding}`)
      t.match(res.headers.vary, /accept-encoding/i, 'caches keep the encodings apart')
      t.equal(res.headers.link, plain.headers.link, 'the same Link')
      t.ok(res.rawPayload.length < plain.rawPayload.length / 3, `${url}: ${plain.rawPayload.length} → ${res.rawPayload.length} bytes`)
      t.ok(decode(res.rawPayload).equals(plain.rawPayload), `${url}: decoded, the same bytes`)
    }
  }
  const both = await app.inject({ method: 'GET', url: `${PREFIX}/instances`, headers: { ...AUTH, 'accept-encoding': 'gzip, deflate, br' } })
  t.equal(both.headers['content-encoding'], 'br', 'br when the client takes either')
  const preferred = await app.inject({ method: 'GET', url: `${PREFIX}/instances`, headers: { ...AUTH, 'accept-encoding': 'gzip, br;q=0.5' } })
  t.equal(preferred.headers['content-encoding'], 'gzip', 'gzip when the client prefers it')
  // RFC 1952 2.3.1: XFL 4 marks the fastest compression, the least CPU per byte served.
  t.equal(preferred.rawPayload[8], 4, 'gzip at its fastest level')
  // RFC 7932 9.1: the window size leads the stream; a smaller one is what a stalled stream holds.
  const header = both.rawPayload[0]!
  t.equal((header & 1) === 1 ? 17 + ((header >> 1) & 7) : 16, 18, 'brotli with a 256 KiB window')
  const identity = await app.inject({ method: 'GET', url: `${PREFIX}/instances`, headers: { ...AUTH, 'accept-encoding': 'identity' } })
  t.equal(identity.headers['content-encoding'], undefined)
})

t.test('heartbeats and other small answers go out uncompressed, whatever the client accepts', async (t) => {
  const app = await build(t)
  const accepting = { ...AUTH, 'accept-encoding': 'gzip, br' }
  const url = `${PREFIX}/instances/orders:h:1`
  const registered = await app.inject({ method: 'POST', url, headers: accepting, payload: info('orders', { description: 'd'.repeat(1024) }) })
  t.equal(registered.statusCode, 201)
  t.equal(registered.headers['content-encoding'], undefined, 'a registration')
  for (let i = 0; i < 2; i++) {
    const heartbeat = await app.inject({ method: 'PUT', url, headers: accepting, payload: info('orders', { description: 'd'.repeat(1024) }) })
    t.equal(heartbeat.statusCode, 200)
    t.equal(heartbeat.headers['content-encoding'], undefined, 'a heartbeat, even with a view over the threshold')
    t.equal(heartbeat.headers.vary, undefined)
    t.equal(heartbeat.headers['content-length'], String(heartbeat.rawPayload.length))
  }
  const one = await app.inject({ method: 'GET', url, headers: accepting })
  t.equal(one.headers['content-encoding'], undefined, 'one instance')
  for (const path of ['/instances?service=orders', '/services', '/services/orders', '/services/orders/pick']) {
    await app.lunaRegistry.register('orders:h:1', info('orders') as never)
    const small = await app.inject({ method: 'GET', url: `${PREFIX}${path}`, headers: accepting })
    t.equal(small.statusCode, 200, path)
    t.ok(small.rawPayload.length < 1024, `${path}: ${small.rawPayload.length} bytes`)
    t.equal(small.headers['content-encoding'], undefined, `${path}: under the threshold`)
    t.equal(small.headers['content-length'], String(small.rawPayload.length))
  }
})

t.test('the event stream is never compressed: each event arrives as it happens', async (t) => {
  const { app, base } = await listen(t)
  await fill(app.lunaRegistry, 100, 3, 2000)
  const stream = await EventStream.open(`${base}/events`, { ...AUTH, 'accept-encoding': 'gzip, br' })
  t.teardown(() => stream.close())
  t.equal(stream.response.headers['content-encoding'], undefined)
  t.match((await stream.next('snapshot')).data, [{ name: 'svc-0' }, { name: 'svc-1' }, { name: 'svc-2' }])
  await app.lunaRegistry.register('orders:h:1', info('orders') as never)
  t.match(await stream.next(), { event: 'registered', data: { instanceId: 'orders:h:1' } })
})

t.test('the host app is untouched: its own routes are not compressed by the registry', async (t) => {
  const app = Fastify()
  app.get('/big', async () => ({ text: 'x'.repeat(100_000) }))
  await app.register(lunaRegistry)
  await app.ready()
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'GET', url: '/big', headers: { 'accept-encoding': 'gzip, br' } })
  t.equal(res.headers['content-encoding'], undefined)
  t.equal(res.json().text.length, 100_000)
  t.notOk(app.hasReplyDecorator('compress'), 'no reply decorator leaks into the app')
})
