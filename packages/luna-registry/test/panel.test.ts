import { performance } from 'node:perf_hooks'
import t from 'tap'
import { ago, exact, overviewRows, shorten, since, versionsOf } from '../src/panel.js'
import { AUTH, PREFIX, build, info, manualClock } from './helpers.js'
import { BROWSER } from './panel-html.js'

t.test('a browser gets the panel at /services/ and /services', async (t) => {
  const app = await build(t)
  for (const url of [`${PREFIX}/services/`, `${PREFIX}/services`]) {
    const res = await app.inject({ method: 'GET', url, headers: BROWSER })
    t.equal(res.statusCode, 200, url)
    t.match(res.headers['content-type'], /^text\/html; charset=utf-8/)
    t.match(res.body, /<title>Services · Luna<\/title>/)
    t.match(res.body, /No services yet/)
  }
})

t.test('the overview shows each service: status in colour, online/total, versions; DOWN first; no instances', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h1:8080`, headers: AUTH, payload: info('orders', { description: 'Takes orders', version: '4.2.0', url: 'http://h1:8080/' }) })
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h2:8080`, headers: AUTH, payload: info('orders', { status: 'DOWN', version: '4.10.0' }) })
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/billing:h3:9000`, headers: AUTH, payload: info('billing', { status: 'DOWN' }) })
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/audit:h4:9000`, headers: AUTH, payload: info('audit') })
  clock.advance(12_000)
  const html = (await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: BROWSER })).body
  t.match(html, new RegExp('<tr data-service="orders"><th scope="row"><a href="/registry/v1/services/orders">orders</a></th>' +
    '<td><span class="badge up">UP</span></td><td class="num">1 / 2</td>' +
    '<td class="versions"><span class="version">4\\.2\\.0 <span class="count">×1</span></span><span class="version">4\\.10\\.0 <span class="count">×1</span></span></td>' +
    '<td class="description">Takes orders</td></tr>'), 'an UP service, its versions in version order with their counts')
  t.match(html, new RegExp('<tr data-service="billing" class="down"><th scope="row"><a href="/registry/v1/services/billing">billing</a></th>' +
    '<td><span class="badge down">DOWN</span> <time class="for" datetime="2026-01-01T00:00:00.000Z" title="Down since 2026-01-01 00:00:00 UTC">for 12 s</time></td>' +
    '<td class="num">0 / 1</td><td class="versions"><span class="version">1\\.0\\.0</span></td><td class="description"></td></tr>'), 'a DOWN service, marked, and for how long')
  t.match(html, /<strong id="total-up">2<\/strong>/)
  t.match(html, /<div class="total alert" id="total-down-card"><span class="what">Services down<\/span><strong id="total-down">1<\/strong>/)
  t.match(html, /<strong id="total-instances">2 \/ 4<\/strong>/)
  const order = ['billing', 'audit', 'orders'].map((name) => html.indexOf(`data-service="${name}"`))
  t.ok(order[0]! > 0 && order[0]! < order[1]! && order[1]! < order[2]!, 'DOWN services first, then by name')
  t.notMatch(html, /orders:h1:8080|billing:h3:9000|h1:8080/, 'no instance on the overview')
  t.match(html, /<input id="filter" type="search"/, 'a filter box')
  t.match(html, /<label for="filter">Filter services<\/label>/, 'labelled')
  t.match(html, /<caption>All services, DOWN first/, 'the table says what it holds')
})

t.test('?status= narrows the overview table; the totals stay those of the whole registry', async (t) => {
  const app = await build(t)
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h1:8080`, headers: AUTH, payload: info('orders') })
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/billing:h3:9000`, headers: AUTH, payload: info('billing', { status: 'DOWN' }) })
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/audit:h4:9000`, headers: AUTH, payload: info('audit') })
  const html = (await app.inject({ method: 'GET', url: `${PREFIX}/services/?status=DOWN`, headers: BROWSER })).body
  t.same(html.match(/data-service="[^"]+"/g), ['data-service="billing"'])
  t.match(html, /<span class="shown" id="shown">1 of 3 shown<\/span>/)
  t.match(html, /<strong id="total-up">2<\/strong>/)
  t.match(html, /<strong id="total-instances">2 \/ 3<\/strong>/)
  await app.inject({ method: 'DELETE', url: `${PREFIX}/instances/billing:h3:9000`, headers: AUTH })
  const empty = (await app.inject({ method: 'GET', url: `${PREFIX}/services?status=DOWN`, headers: BROWSER })).body
  t.match(empty, /<p class="no-match" id="no-match">No service matches the filter\.<\/p>/, 'says when no service has that status')
  t.match(empty, /<p class="empty" id="empty" hidden>/, 'not "no services yet": there are some')
})

t.test('the overview reads the same figures as the service views', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now, heartbeatTimeout: 10_000 })
  await app.lunaRegistry.stop()
  const post = async (id: string, body: Record<string, unknown>): Promise<void> => {
    const res = await app.inject({ method: 'POST', url: `${PREFIX}/instances/${id}`, headers: AUTH, payload: info(id.split(':')[0], body) })
    t.ok(res.statusCode < 300, `${id} registered`)
  }
  await post('a:h1:1', { description: 'first' })
  await post('a:h2:1', { description: 'second', version: '1.10.0' })
  clock.advance(1000)
  await post('a:h3:1', { version: '1.9.0' }) // newest, but without a description
  await post('b:h2:1', { description: 'tie, larger id' })
  await post('b:h1:1', { description: 'tie, smaller id' })
  await post('c:h1:1', { status: 'DOWN', description: 'down' })
  clock.advance(6000)
  await post('d:h1:1', {})
  clock.advance(5000) // a, b and c time out, d does not
  await post('a:h4:1', { description: '' })
  clock.advance(2000)
  for (const filter of [{}, { status: 'UP' as const }, { status: 'DOWN' as const }]) {
    const rows = await overviewRows(app.lunaRegistry, filter)
    const views = await app.lunaRegistry.listServices(filter)
    t.same(rows.map((row) => row.name).sort(), views.map((view) => view.name), `the same services for ${JSON.stringify(filter)}`)
    for (const view of views) {
      const row = rows.find((candidate) => candidate.name === view.name)!
      const downSince = view.instances.map((instance) => instance.downSince).filter((since) => since !== undefined).sort().at(-1)
      t.same(row, {
        name: view.name,
        description: view.description,
        status: view.status,
        online: view.instancesOnline,
        total: view.instancesTotal,
        versions: versionsOf(view.instances),
        ...(view.status === 'DOWN' ? { downSince } : {})
      }, `${view.name}: the same as its view`)
    }
  }
})

t.test('the service page lists its instances: status, reported status, version, url, weight, metadata, heartbeat, down since', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h1:8080`, headers: AUTH, payload: info('orders', { version: '4.2.0', url: 'http://h1:8080/', metadata: { zone: 'eu-1' }, balancerOptions: { weight: 3 } }) })
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h2:8080`, headers: AUTH, payload: info('orders', { status: 'DOWN' }) })
  clock.advance(12_000)
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h3:8080`, headers: AUTH, payload: info('orders') })
  clock.advance(20_000)
  await app.inject({ method: 'PUT', url: `${PREFIX}/instances/orders:h1:8080`, headers: AUTH, payload: info('orders', { version: '4.2.0', url: 'http://h1:8080/', metadata: { zone: 'eu-1' }, balancerOptions: { weight: 3 } }) })
  clock.advance(17_000) // h3's deadline passed 7 s ago; h1 heartbeated 17 s ago
  const html = (await app.inject({ method: 'GET', url: `${PREFIX}/services/orders`, headers: BROWSER })).body
  t.match(html, new RegExp('<tr data-instance="orders:h1:8080"><th scope="row" class="mono">orders:h1:8080</th>' +
    '<td><span class="badge up">OK</span></td><td class="mono">4\\.2\\.0</td>' +
    '<td><a class="mono" href="http://h1:8080/" rel="noreferrer noopener">http://h1:8080/</a></td>' +
    '<td class="num">3</td><td class="metadata"><span class="pair"><span class="key">zone=</span>eu-1</span></td>' +
    '<td><time data-ago datetime="2026-01-01T00:00:32.000Z" title="2026-01-01 00:00:32 UTC">17 s ago</time></td>' +
    '<td><span class="none">—</span></td>'), 'an OK instance')
  t.match(html, new RegExp('<tr data-instance="orders:h2:8080" class="down"><th scope="row" class="mono">orders:h2:8080</th>' +
    '<td><span class="badge down">DOWN</span> <span class="why" title="The instance itself reports DOWN">reported</span></td>' +
    '.*<td><time data-ago datetime="2026-01-01T00:00:00.000Z" title="2026-01-01 00:00:00 UTC">49 s ago</time></td>' +
    '<td><time data-ago datetime="2026-01-01T00:00:00.000Z" title="2026-01-01 00:00:00 UTC">49 s ago</time></td>'), 'reported DOWN, down since it said so')
  t.match(html, new RegExp('<tr data-instance="orders:h3:8080" class="down"><th scope="row" class="mono">orders:h3:8080</th>' +
    '<td><span class="badge down">DOWN</span> <span class="why" title="It reports OK, but its last heartbeat is 30 s old or more">no heartbeat</span></td>' +
    '.*<td><time data-ago datetime="2026-01-01T00:00:12.000Z" title="2026-01-01 00:00:12 UTC">37 s ago</time></td>' +
    '<td><time data-ago datetime="2026-01-01T00:00:42.000Z" title="2026-01-01 00:00:42 UTC">7 s ago</time></td><td class="needs-js">'), 'reports OK, timed out: down since the deadline')
  t.match(html, /<tr data-instance="orders:h2:8080"[^\n]*<td class="metadata"><span class="none">—<\/span><\/td>/, 'no metadata: a dash, as for no down-since')
  const order = ['orders:h2:8080', 'orders:h3:8080', 'orders:h1:8080'].map((id) => html.indexOf(`data-instance="${id}"`))
  t.ok(order[0]! > 0 && order[0]! < order[1]! && order[1]! < order[2]!, 'DOWN instances first, then by id')
  t.match(html, /<button type="button" class="danger small" data-deregister>Deregister<span class="visually-hidden"> orders:h1:8080<\/span><\/button>/, 'a deregister button naming its instance')
  t.match(html, /<dialog id="confirm"/, 'a confirmation dialog')
  t.match(html, /<caption>Instances of orders, DOWN first<\/caption>/)
  t.match(html, /<th scope="col">Last heartbeat<\/th><th scope="col">Down since<\/th>/)
  t.match(html, /<strong id="total-instances">1 \/ 3<\/strong>/)
})

t.test('the service page orders instances naturally: numbers in ids by their value, DOWN first', async (t) => {
  const app = await build(t)
  const hosts = ['10.0.0.110', '10.0.0.9', '10.0.0.109', '10.0.0.10', '10.0.0.2']
  for (const host of hosts) {
    await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:${host}:8080`, headers: AUTH, payload: info('orders', { url: `http://${host}:8080/` }) })
  }
  await app.inject({ method: 'PUT', url: `${PREFIX}/instances/orders:10.0.0.109:8080`, headers: AUTH, payload: info('orders', { status: 'DOWN', url: 'http://10.0.0.109:8080/' }) })
  const html = (await app.inject({ method: 'GET', url: `${PREFIX}/services/orders`, headers: BROWSER })).body
  const shown = [...html.matchAll(/<tr data-instance="orders:([\d.]+):8080"/g)].map((match) => match[1])
  t.same(shown, ['10.0.0.109', '10.0.0.2', '10.0.0.9', '10.0.0.10', '10.0.0.110'])
})

t.test('the service page shows one service', async (t) => {
  const app = await build(t)
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h1:8080`, headers: AUTH, payload: info('orders', { description: 'Takes orders' }) })
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/services/orders`, headers: BROWSER })
  t.equal(res.statusCode, 200)
  t.match(res.body, /<title>orders · Luna<\/title>/)
  t.match(res.body, /<p class="description" id="service-description">Takes orders<\/p>/)
  t.match(res.body, /orders:h1:8080/)
  t.match(res.body, /<body data-page="service" data-prefix="\/registry\/v1" data-now="\d+" data-timeout="30000" data-service="orders">/)
  const missing = await app.inject({ method: 'GET', url: `${PREFIX}/services/nobody`, headers: BROWSER })
  t.equal(missing.statusCode, 404)
  t.match(missing.headers['content-type'], /^text\/html/, 'a browser gets the page, empty, to watch for the service')
  t.match(missing.body, /No instance of <strong>nobody<\/strong> is registered/)
  const api = await app.inject({ method: 'GET', url: `${PREFIX}/services/nobody`, headers: AUTH })
  t.equal(api.statusCode, 404)
  t.equal(api.json().code, 'FST_LUNA_SERVICE_NOT_FOUND', 'the API answers as before')
})

t.test('panel: false answers JSON to browsers too and serves no assets', async (t) => {
  const app = await build(t, { panel: false })
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: BROWSER })
  t.match(res.headers['content-type'], /application\/json/)
  t.equal((await app.inject({ method: 'GET', url: `${PREFIX}/assets/luna.css`, headers: AUTH })).statusCode, 404)
})

t.test('relative times and exact times', async (t) => {
  t.equal(ago(0), 'just now')
  t.equal(ago(999), 'just now')
  t.equal(ago(-5000), 'just now', 'a clock a little ahead is not shown as the future')
  t.equal(ago(12_000), '12 s ago')
  t.equal(ago(59_999), '59 s ago')
  t.equal(ago(60_000), '1 min ago')
  t.equal(ago(3_599_999), '59 min ago')
  t.equal(ago(3_600_000), '1 h ago')
  t.equal(ago(47 * 3_600_000), '47 h ago')
  t.equal(ago(48 * 3_600_000), '2 d ago')
  t.equal(exact('2026-11-26T12:20:34.123Z'), '2026-11-26 12:20:34 UTC')
  t.equal(since(-1), '0 s')
  t.equal(since(90_000), '1 min')
  t.equal(since(30_000), '30 s')
})

t.test('long descriptions are cut on the overview, whole on the service page', async (t) => {
  t.equal(shorten('short'), 'short')
  t.equal(shorten('x'.repeat(160)), 'x'.repeat(160))
  t.equal(shorten('x'.repeat(161)), `${'x'.repeat(159)}…`)
  t.equal(Array.from(shorten('🌙'.repeat(200))).length, 160, 'counted in characters, never splitting one')
  const app = await build(t)
  const description = `${'word '.repeat(200)}end`
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h1:8080`, headers: AUTH, payload: info('orders', { description }) })
  const overview = (await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: BROWSER })).body
  t.notMatch(overview, /end</)
  t.match(overview, /word…<\/td>/)
  const page = (await app.inject({ method: 'GET', url: `${PREFIX}/services/orders`, headers: BROWSER })).body
  t.match(page, /word end<\/p>/)
})

t.test('10 000 instances in 1 000 services: the overview renders its first page, well under 1 MB', async (t) => {
  const app = await build(t)
  await app.lunaRegistry.stop()
  const registering = performance.now()
  for (let s = 0; s < 1000; s++) {
    const name = `service-${String(s).padStart(4, '0')}`
    for (let i = 0; i < 10; i++) {
      await app.lunaRegistry.register(`${name}:host-${i}.eu-west-1.internal:8080`, {
        name,
        version: `2.${s % 7}.${i % 3}`,
        status: s % 50 === 0 ? 'DOWN' : 'OK',
        url: `http://host-${i}.eu-west-1.internal:8080/`,
        description: `Handles the ${name} requests of the shop, with a description of ordinary length`,
        metadata: { zone: `eu-west-1${'abc'[i % 3]!}`, commit: 'a1b2c3d4' },
        balancerOptions: { weight: 1 + (i % 3) }
      })
    }
  }
  t.comment(`registered 10 000 instances in ${Math.round(performance.now() - registering)} ms`)
  t.equal((await app.lunaRegistry.listInstances()).length, 10_000)

  await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: BROWSER }) // compiled and warm
  const times: number[] = []
  let html = ''
  for (let run = 0; run < 5; run++) {
    const started = performance.now()
    const res = await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: BROWSER })
    times.push(performance.now() - started)
    t.equal(res.statusCode, 200)
    html = res.body
  }
  const bytes = Buffer.byteLength(html)
  times.sort((a, b) => a - b)
  t.comment(`overview: ${(bytes / 1024).toFixed(0)} KiB of HTML, served in ${times[0]!.toFixed(1)} ms (best) / ${times[2]!.toFixed(1)} ms (median of 5), reading the registry included`)
  t.ok(bytes < 1_000_000, `the overview is under 1 MB (${bytes} bytes)`)
  t.equal(html.match(/<tr data-service=/g)?.length, 100, 'the first page of services; the script pages through the others')
  t.match(html, /<nav class="pager" id="pager" aria-label="Pages of services">.*<span id="page-at">1–100 of 1000<\/span>/, 'and says how many there are')
  t.notMatch(html, /host-\d\.eu-west-1\.internal/, 'no instance on the overview')
  t.match(html, /<strong id="total-instances">9800 \/ 10000<\/strong>/)
  t.match(html, /<strong id="total-down">20<\/strong>/)
  t.ok(html.indexOf('data-service="service-0950"') < html.indexOf('data-service="service-0001"'), 'the DOWN ones first')
})
