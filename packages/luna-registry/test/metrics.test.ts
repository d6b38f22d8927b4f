import t from 'tap'
import Fastify from 'fastify'
import lunaRegistry, { StoreUnavailableError } from '../src/index.js'
import { AUTH, PREFIX, basic, build, info, listen, manualClock, send, stalledSubscriber, wrapStore } from './helpers.js'
import { until } from '../../../test-support/until.js'

/** The samples of a Prometheus text exposition: `name{labels}` → value. */
function samples (text: string): Map<string, number> {
  const found = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    found.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return found
}

async function scrape (app: Awaited<ReturnType<typeof build>>): Promise<Map<string, number>> {
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/metrics`, headers: AUTH })
  if (res.statusCode !== 200) throw new Error(`GET /metrics: ${res.statusCode} ${res.body}`)
  return samples(res.body)
}

t.test('GET /metrics answers Prometheus text behind the registry\'s auth', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/metrics`, headers: AUTH })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.match(res.body, /^# HELP luna_instances /m)
  t.match(res.body, /^process_resident_memory_bytes \d+/m, 'the process\'s own metrics')
  t.match(res.body, /^nodejs_eventloop_lag_seconds /m, 'event-loop lag')
  t.equal((await app.inject({ method: 'GET', url: `${PREFIX}/metrics` })).statusCode, 401, 'no credentials, no metrics')
})

t.test('the counters follow the operations: register 3, one times out, it is evicted, one leaves', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now, heartbeatTimeout: 30_000, evictAfter: 60_000 })
  await app.lunaRegistry.stop()
  for (const id of ['orders:h:1', 'orders:h:2', 'billing:h:1']) t.equal((await send(app, 'POST', id, info(id.split(':')[0]))).statusCode, 201)
  let now = await scrape(app)
  t.equal(now.get('luna_registrations_total'), 3)
  t.equal(now.get('luna_instances{status="OK"}'), 3)
  t.equal(now.get('luna_instances{status="DOWN"}'), 0)
  t.equal(now.get('luna_services{status="UP"}'), 2)
  t.equal(now.get('luna_services{status="DOWN"}'), 0)
  t.equal(now.get('luna_timeouts_total'), 0)

  // billing stops heartbeating; the orders instances go on.
  clock.advance(20_000)
  t.equal((await send(app, 'PUT', 'orders:h:1', info('orders'))).statusCode, 200)
  t.equal((await send(app, 'PUT', 'orders:h:2', info('orders'))).statusCode, 200)
  t.equal((await send(app, 'PUT', 'nobody:h:1', info('nobody'))).statusCode, 404)
  clock.advance(10_000)
  await app.lunaRegistry.sweep()
  now = await scrape(app)
  t.equal(now.get('luna_heartbeats_total'), 2, 'accepted heartbeats only')
  t.equal(now.get('luna_timeouts_total'), 1)
  t.equal(now.get('luna_instances{status="OK"}'), 2)
  t.equal(now.get('luna_instances{status="DOWN"}'), 1)
  t.equal(now.get('luna_services{status="DOWN"}'), 1)

  clock.advance(60_000)
  await send(app, 'PUT', 'orders:h:1', info('orders'))
  await send(app, 'PUT', 'orders:h:2', info('orders'))
  await app.lunaRegistry.sweep()
  t.equal((await send(app, 'DELETE', 'orders:h:2')).statusCode, 204)
  now = await scrape(app)
  t.equal(now.get('luna_evictions_total'), 1)
  t.equal(now.get('luna_deregistrations_total'), 1)
  t.equal(now.get('luna_heartbeats_total'), 4, 'counted between scrapes, never twice')
  t.equal(now.get('luna_timeouts_total'), 1, 'the evicted instance timed out once')
  t.equal(now.get('luna_instances{status="OK"}'), 1)
  t.equal(now.get('luna_instances{status="DOWN"}'), 0)
  t.equal(now.get('luna_services{status="UP"}'), 1)
})

t.test('request durations are labelled by the route as declared, never the raw URL', async (t) => {
  const app = await build(t)
  await send(app, 'POST', 'orders:h:1', info('orders'))
  await send(app, 'PUT', 'orders:h:1', info('orders'))
  await send(app, 'GET', 'orders:h:1')
  await app.inject({ method: 'GET', url: `${PREFIX}/no/such/route`, headers: AUTH })
  const now = await scrape(app)
  t.equal(now.get(`luna_http_request_duration_seconds_count{method="POST",route="${PREFIX}/instances/*",status_code="201"}`), 1)
  t.equal(now.get(`luna_http_request_duration_seconds_count{method="PUT",route="${PREFIX}/instances/*",status_code="200"}`), 1)
  t.equal(now.get(`luna_http_request_duration_seconds_count{method="GET",route="${PREFIX}/instances/*",status_code="200"}`), 1)
  t.equal(now.get('luna_http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"}'), 1)
  t.notOk([...now.keys()].some((key) => key.includes('orders:h:1') || key.includes('no/such')), 'no URL in a label')
  t.ok(now.get(`luna_http_request_duration_seconds_bucket{le="+Inf",method="PUT",route="${PREFIX}/instances/*",status_code="200"}`) === 1)
})

t.test('refused credentials are counted', async (t) => {
  const app = await build(t)
  await app.inject({ method: 'GET', url: `${PREFIX}/services` })
  await app.inject({ method: 'GET', url: `${PREFIX}/services`, headers: basic('admin', 'wrong') })
  t.equal((await scrape(app)).get('luna_auth_failures_total'), 2)
})

t.test('a store that fails is counted, and a scrape still answers without the registry\'s figures', async (t) => {
  const failing = async (): Promise<never> => { throw new StoreUnavailableError('connection refused') }
  const app = await build(t, { store: wrapStore({ list: failing, heartbeat: failing }) })
  t.equal((await send(app, 'PUT', 'orders:h:1', info('orders'))).statusCode, 503)
  const now = await scrape(app)
  t.equal(now.get('luna_store_errors_total'), 2, 'the heartbeat, then the scrape\'s look at the store')
  t.notOk(now.has('luna_instances{status="OK"}'), 'no figures it could not read')
  t.ok(now.has('process_resident_memory_bytes'))
})

t.test('event-stream subscribers are counted while they follow, and drops by reason', async (t) => {
  const { app, base } = await listen(t, { events: { maxBuffer: 64 * 1024 } })
  stalledSubscriber(t, base)
  await until('subscribed', () => app.lunaRegistry.listenerCount('event') === 1 || undefined, 3000)
  t.equal((await scrape(app)).get('luna_event_subscribers'), 1)
  // It reads nothing while changes pour in: dropped for not keeping up.
  const description = 'x'.repeat(1000)
  for (let writes = 0; app.lunaRegistry.listenerCount('event') > 0 && writes < 20_000; writes++) {
    await app.lunaRegistry.register(`orders:h${writes % 50}:1`, info('orders', { description: `${writes}${description}` }) as never)
    if (writes % 100 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  const now = await scrape(app)
  t.equal(now.get('luna_event_subscribers_dropped_total{reason="slow"}'), 1)
  t.equal(now.get('luna_event_subscribers'), 0)
  t.notOk(now.has('luna_event_subscribers_dropped_total{reason="snapshot_timeout"}'))
})

t.test('two registries in one process keep their metrics apart', async (t) => {
  const a = await build(t)
  const b = await build(t)
  await send(a, 'POST', 'orders:h:1', info('orders'))
  t.equal((await scrape(a)).get('luna_registrations_total'), 1)
  t.equal((await scrape(b)).get('luna_registrations_total'), 0)
  t.equal(a.lunaMetrics!.getSingleMetric('luna_instances') === b.lunaMetrics!.getSingleMetric('luna_instances'), false)
})

t.test('metrics: false counts nothing and serves no /metrics', async (t) => {
  const app = await build(t, { metrics: false })
  t.equal((await app.inject({ method: 'GET', url: `${PREFIX}/metrics`, headers: AUTH })).statusCode, 404)
  t.notOk(app.hasDecorator('lunaMetrics'))
  t.equal(app.lunaRegistry.listenerCount('status'), 0, 'no listener: heartbeats build no events')
})

t.test('a closed registry stops counting its events', async (t) => {
  const app = Fastify()
  await app.register(lunaRegistry)
  await app.ready()
  const registry = app.lunaRegistry
  t.ok(registry.listenerCount('registered') > 0)
  await app.close()
  t.equal(registry.listenerCount('registered'), 0)
})

t.test('the duration histogram\'s buckets are cumulative, end at +Inf with the count, and reset with the Registry', async (t) => {
  const app = await build(t)
  for (let i = 0; i < 5; i++) await send(app, 'GET', 'orders:h:1')
  const route = `method="GET",route="${PREFIX}/instances/*",status_code="404"`
  const now = await scrape(app)
  const buckets = [...now.entries()].filter(([key]) => key.startsWith('luna_http_request_duration_seconds_bucket{') && key.endsWith(`,${route}}`))
  t.equal(buckets.length, 15, 'fourteen bounds and +Inf')
  t.same(buckets.map(([, value]) => value), buckets.map(([, value]) => value).sort((a, b) => a - b), 'never decreasing')
  t.equal(now.get(`luna_http_request_duration_seconds_bucket{le="+Inf",${route}}`), 5)
  t.equal(now.get(`luna_http_request_duration_seconds_count{${route}}`), 5)
  t.ok(now.get(`luna_http_request_duration_seconds_sum{${route}}`)! > 0)
  app.lunaMetrics!.resetMetrics()
  t.notOk((await scrape(app)).has(`luna_http_request_duration_seconds_count{${route}}`), 'reset')
})

t.test('luna_protection_active says whether mass-expiry protection is on', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now, heartbeatTimeout: 30_000 })
  await app.lunaRegistry.stop()
  for (let i = 0; i < 6; i++) await send(app, 'POST', `orders:h${i}:80`, info('orders'))
  await app.lunaRegistry.sweep()
  t.equal((await scrape(app)).get('luna_protection_active'), 0)
  // All six miss their deadline together: more than half, and at least five.
  clock.advance(30_000)
  await app.lunaRegistry.sweep()
  t.equal(app.lunaRegistry.protection.active, true)
  t.equal((await scrape(app)).get('luna_protection_active'), 1)
  await app.lunaRegistry.endProtection()
  t.equal((await scrape(app)).get('luna_protection_active'), 0)
})
