import t from 'tap'
import { ago, exact } from '../src/panel.js'
import { prefersHtml } from '../src/negotiation.js'
import { AUTH, PREFIX, build, info, manualClock } from './helpers.js'

const BROWSER = { ...AUTH, accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8' }
const XSS = '<script>alert("x")</script>'

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

t.test('curl and fetch get JSON from the same URL, and caches are told it varies', async (t) => {
  const app = await build(t)
  const html = await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: BROWSER })
  t.equal(html.headers.vary, 'Accept')
  for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html', 'text/html;q=0.5, application/json']) {
    const res = await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: { ...AUTH, ...(accept === undefined ? {} : { accept }) } })
    t.match(res.headers['content-type'], /application\/json/, `Accept: ${String(accept)}`)
    t.equal(res.headers.vary, 'Accept')
    t.same(res.json(), [])
  }
})

t.test('the overview shows services, status in colour, online/total and each instance', async (t) => {
  const clock = manualClock()
  const app = await build(t, { now: clock.now })
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h1:8080`, headers: AUTH, payload: info('orders', { description: 'Takes orders', version: '4.2.0', url: 'http://h1:8080/' }) })
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h2:8080`, headers: AUTH, payload: info('orders', { status: 'DOWN' }) })
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/billing:h3:9000`, headers: AUTH, payload: info('billing', { status: 'DOWN' }) })
  clock.advance(12_000)
  const html = (await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: BROWSER })).body
  t.match(html, /<td><a href="#service-orders">orders<\/a><\/td>\s*<td>Takes orders<\/td>\s*<td><span class="badge ok">UP<\/span><\/td>\s*<td>1 \/ 2<\/td>/)
  t.match(html, /<tr class="is-down">\s*<td><a href="#service-billing">billing<\/a><\/td>\s*<td><\/td>\s*<td><span class="badge down">DOWN<\/span><\/td>\s*<td>0 \/ 1<\/td>/)
  t.match(html, /<td class="mono">orders:h1:8080<\/td>\s*<td>4\.2\.0<\/td>/)
  t.match(html, /<a class="mono" href="http:\/\/h1:8080\/" rel="noreferrer noopener">http:\/\/h1:8080\/<\/a>/)
  t.match(html, /<time datetime="2026-01-01T00:00:00.000Z" title="2026-01-01 00:00:00 UTC">12 s ago<\/time>/)
  t.match(html, /<strong>1<\/strong> <span class="muted">services up<\/span>/)
  t.match(html, /<strong>1 \/ 3<\/strong> <span class="muted">instances online<\/span>/)
  t.ok(html.indexOf('service-billing') < html.indexOf('service-orders'), 'services sorted by name')
})

t.test('everything an instance sends is escaped', async (t) => {
  const app = await build(t)
  await app.inject({
    method: 'POST',
    url: `${PREFIX}/instances/evil:h:1`,
    headers: AUTH,
    payload: info('evil', { description: XSS, version: '<img src=x onerror=alert(1)>', url: 'http://h/"><script>alert(1)</script>', metadata: { a: XSS } })
  })
  for (const url of [`${PREFIX}/services/`, `${PREFIX}/services/evil`]) {
    const html = (await app.inject({ method: 'GET', url, headers: BROWSER })).body
    t.notMatch(html, /<script/i, `${url}: no script element`)
    t.notMatch(html, /<img/i, `${url}: no injected element`)
    t.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/, `${url}: the version shows as text`)
    t.match(html, /http:\/\/h\/&quot;&gt;&lt;script&gt;/, `${url}: the url cannot break out of its attribute`)
  }
  const overview = (await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: BROWSER })).body
  t.match(overview, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/, 'the description shows as text')
})

t.test('the panel forbids scripts and framing, and is not cached', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: BROWSER })
  const csp = String(res.headers['content-security-policy'])
  t.match(csp, /default-src 'none'/)
  t.match(csp, /style-src 'self'/)
  t.notMatch(csp, /script-src/, 'no script source at all')
  t.match(csp, /frame-ancestors 'none'/)
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['cache-control'], 'no-store')
  t.notMatch(res.body, /<script|style="|https?:\/\/(?!h)/, 'no script, no inline style, no external URL')
})

t.test('the service page shows one service', async (t) => {
  const app = await build(t)
  await app.inject({ method: 'POST', url: `${PREFIX}/instances/orders:h1:8080`, headers: AUTH, payload: info('orders', { description: 'Takes orders' }) })
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/services/orders`, headers: BROWSER })
  t.equal(res.statusCode, 200)
  t.match(res.body, /<title>orders · Luna<\/title>/)
  t.match(res.body, /<p class="description">Takes orders<\/p>/)
  t.match(res.body, /orders:h1:8080/)
  t.equal((await app.inject({ method: 'GET', url: `${PREFIX}/services/nobody`, headers: BROWSER })).statusCode, 404)
})

t.test('the stylesheet is served under the prefix, self-contained', async (t) => {
  const app = await build(t)
  const html = (await app.inject({ method: 'GET', url: `${PREFIX}/services/`, headers: BROWSER })).body
  t.match(html, new RegExp(`<link rel="stylesheet" href="${PREFIX}/assets/luna.css">`))
  const css = await app.inject({ method: 'GET', url: `${PREFIX}/assets/luna.css`, headers: AUTH })
  t.equal(css.statusCode, 200)
  t.match(css.headers['content-type'], /^text\/css/)
  t.match(css.body, /\.badge\.ok/)
  t.match(css.body, /prefers-color-scheme: dark/)
  t.notMatch(css.body, /@import|url\(\s*['"]?https?:/, 'nothing fetched from elsewhere')
  t.match(html, new RegExp(`<link rel="icon" href="${PREFIX}/assets/luna.svg" type="image/svg\\+xml">`))
  const icon = await app.inject({ method: 'GET', url: `${PREFIX}/assets/luna.svg`, headers: AUTH })
  t.equal(icon.statusCode, 200)
  t.equal(icon.headers['content-type'], 'image/svg+xml')
  t.equal((await app.inject({ method: 'GET', url: `${PREFIX}/assets/luna.svg` })).statusCode, 401, 'behind the same auth')
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
})

t.test('content negotiation follows the Accept header', async (t) => {
  t.equal(prefersHtml(undefined), false)
  t.equal(prefersHtml('*/*'), false)
  t.equal(prefersHtml('text/html'), true)
  t.equal(prefersHtml('TEXT/HTML'), true)
  t.equal(prefersHtml('application/json, text/html'), false, 'a tie goes to JSON')
  t.equal(prefersHtml('text/html, application/json;q=0.9'), true)
  t.equal(prefersHtml('text/html;q=0.1, */*'), false)
  t.equal(prefersHtml('text/*, application/json;q=0.5'), true)
  t.equal(prefersHtml('text/html;q=0'), false)
})
