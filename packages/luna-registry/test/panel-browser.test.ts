import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { until } from '../../../test-support/until.js'
import { chromiumAvailable, infoFor, launchChromium, listen, openLive, record, type PageLog, type Registry } from './panel-chromium.js'
import { PREFIX } from './helpers.js'

const CREDENTIALS = { username: 'ops', password: 'full-moon' }

/** Instance info bodies, kept so a heartbeat sends exactly what was registered (no `updated` events). */
const bodies = new Map<string, Record<string, unknown>>()
function instance (id: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  const body = infoFor(id, fields)
  bodies.set(id, body)
  return body
}

if (chromiumAvailable(t)) {
  let browser: Browser
  let registry: Registry
  let context: BrowserContext
  let page: Page
  let log: PageLog
  /** The instances kept alive by heartbeats; the others miss their deadline. */
  const alive = new Set<string>()
  let pump: NodeJS.Timeout | undefined

  const overview = (): string => `${registry.base}/services/`
  const row = (name: string): string => `#services tr[data-service="${name}"]`
  const text = async (selector: string): Promise<string> => (await page.locator(selector).textContent() ?? '').trim()
  const evaluate = async <T>(expression: string): Promise<T> => await page.evaluate(expression) as T

  t.before(async () => {
    registry = await listen({ auth: CREDENTIALS, heartbeatTimeout: 1000, sweepInterval: 50 })
    // Alive instances heartbeat every 250 ms; the sweeper turns the others DOWN a second after their last.
    pump = setInterval(() => {
      for (const id of alive) registry.send('PUT', id, bodies.get(id)).catch(() => {})
    }, 250)
    const seed: Array<[string, Record<string, unknown>]> = [
      ['orders:10.0.0.7:8080', { version: '1.4.2', description: 'Takes orders and reserves stock', metadata: { zone: 'eu-1' }, balancerOptions: { weight: 2 } }],
      ['orders:10.0.0.8:8080', { version: '1.4.2', description: 'Takes orders and reserves stock', metadata: { zone: 'eu-2' } }],
      ['orders:10.0.0.9:8080', { version: '1.5.0-rc.1', metadata: { zone: 'eu-1', canary: 'true' }, balancerOptions: { weight: 0 } }],
      ['catalog:10.0.2.4:7000', { version: '12.0.3', description: 'Products, search and prices' }],
      ['gateway:10.0.3.1:443', { version: '2.8.1', description: 'Edge routing and TLS' }],
      ['gateway:10.0.3.2:443', { version: '2.8.1', description: 'Edge routing and TLS' }]
    ]
    for (const [id, fields] of seed) {
      if (await registry.send('POST', id, instance(id, fields)) !== 201) throw new Error(`could not register ${id}`)
      alive.add(id)
    }
    browser = await launchChromium()
    context = await browser.newContext({ httpCredentials: CREDENTIALS, viewport: { width: 1280, height: 720 }, colorScheme: 'light', reducedMotion: 'reduce' })
    page = await context.newPage()
    log = await record(page)
  })

  t.teardown(async () => {
    clearInterval(pump)
    await browser?.close()
    await registry?.app.close()
  })

  t.test('without credentials the browser is asked for them; with them it sees the services, live', async (t) => {
    const anonymous = await browser.newContext()
    const denied = await anonymous.request.get(overview(), { headers: { accept: 'text/html' } })
    t.equal(denied.status(), 401)
    t.equal(denied.headers()['www-authenticate'], 'Basic realm="Luna"', 'the browser would ask for a login')
    await anonymous.close()

    const response = await page.goto(overview())
    t.equal(response?.status(), 200)
    t.equal(await page.title(), 'Services · Luna')
    const html = await response!.text()
    const scripts = html.match(/<script\b[^>]*>[\s\S]*?<\/script>/g) ?? []
    t.same(scripts.length, 1, 'one script element')
    t.match(scripts[0], new RegExp(`^<script type="module" src="${PREFIX}/assets/luna\\.js\\?v=[0-9a-f]+"></script>$`), 'a file of its own, nothing inline')
    t.notMatch(html, /\sstyle=|<style/i, 'no inline style')

    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 5000 })
    t.equal(await text('#connection-label'), 'Live', 'the connection indicator says live')
    t.equal(await page.locator('#connection').getAttribute('aria-live'), 'polite', 'and says it to screen readers')
    t.same(await page.locator('#services tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service'))), ['catalog', 'gateway', 'orders'])
    t.equal(await text(`${row('orders')} td.num`), '3 / 3')
    t.equal(await text('#total-instances'), '6 / 6')
    t.notOk(await page.locator('text=orders:10.0.0.7:8080').count(), 'no instance on the overview')
  })

  t.test('a registration appears without a reload, within a second', async (t) => {
    const navigations = log.navigations
    const started = Date.now()
    t.equal(await registry.send('POST', 'search:10.0.5.1:9200', instance('search:10.0.5.1:9200', { version: '8.11.0', description: 'Full-text search' })), 201)
    alive.add('search:10.0.5.1:9200')
    await page.locator(row('search')).waitFor({ timeout: 1000 })
    t.comment(`a new service showed up ${Date.now() - started} ms after its registration`)
    t.equal(await text(`${row('search')} .badge`), 'UP')
    t.equal(await text(`${row('search')} td.num`), '1 / 1')
    t.equal(await text(`${row('search')} .version`), '8.11.0')
    t.equal(await text('#total-up'), '4')
    t.equal(await text('#total-instances'), '7 / 7')
    t.same(await page.locator('#services tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service'))),
      ['catalog', 'gateway', 'orders', 'search'], 'in its place')
    t.equal(log.navigations, navigations, 'no reload')
  })

  t.test('an instance that misses its heartbeat turns DOWN without a reload; DOWN goes first', async (t) => {
    const navigations = log.navigations
    t.equal(await registry.send('POST', 'billing:10.0.1.2:9000', instance('billing:10.0.1.2:9000', { version: '3.2.0', description: 'Invoices and payment capture' })), 201)
    await page.locator(`${row('billing')}:not(.down)`).waitFor({ timeout: 1000 })
    t.pass('billing shows UP first')
    // No heartbeat: the deadline is a second away, and the sweeper looks every 50 ms.
    const started = Date.now()
    await page.locator(`${row('billing')}.down`).waitFor({ timeout: 2500 })
    t.comment(`DOWN shown ${Date.now() - started} ms after the registration (heartbeatTimeout 1 s)`)
    t.equal(await text(`${row('billing')} .badge`), 'DOWN')
    t.equal(await text(`${row('billing')} td.num`), '0 / 1')
    t.equal(await page.locator('#services tbody tr').first().getAttribute('data-service'), 'billing', 'DOWN services first')
    t.equal(await text('#total-down'), '1')
    t.match(await page.locator('#total-down-card').getAttribute('class'), /\balert\b/, 'the DOWN total is flagged')
    t.equal(log.navigations, navigations, 'no reload')

    // "for 1 s", "for 2 s": how long it has been down counts up on its own.
    const before = await text(`${row('billing')} time.for`)
    await until('the time down ticks', async () => (await text(`${row('billing')} time.for`)) !== before ? true : undefined, 2500)
    t.pass(`it ticks: "${before}" became "${await text(`${row('billing')} time.for`)}"`)

    // Into a folder of the test's own: the test run never rewrites a tracked file (the docs'
    // picture is taken by `pnpm screenshot`, with the default settings).
    const folder = await mkdtemp(join(tmpdir(), 'luna-panel-'))
    t.teardown(async () => { await rm(folder, { recursive: true, force: true }) })
    const screenshot = join(folder, 'overview.png')
    await page.screenshot({ path: screenshot })
    t.ok((await stat(screenshot)).size > 0, `screenshot of the overview saved to ${screenshot}`)
  })

  t.test('the filter narrows the overview as you type', async (t) => {
    await page.locator('label[for="filter"]').waitFor()
    await page.fill('#filter', 'gate')
    t.same(await page.locator('#services tbody tr:visible').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service'))), ['gateway'])
    t.equal(await text('#shown'), '1 of 5 shown')
    await page.fill('#filter', 'down')
    t.same(await page.locator('#services tbody tr:visible').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service'))), ['billing'], 'the status is searchable')
    await page.fill('#filter', 'nothing like this')
    t.ok(await page.locator('#no-match').isVisible(), 'says when nothing matches')
    await page.fill('#filter', '')
    t.equal(await page.locator('#services tbody tr:visible').count(), 5)

    await openLive(page, `${overview()}?status=DOWN`)
    t.same(await page.locator('#services tbody tr:visible').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service'))), ['billing'], '?status=DOWN stays so once live')
    t.equal(await text('#shown'), '1 of 5 shown')
    await openLive(page, overview())
  })

  t.test('after a dropped connection the page reconnects and catches up from the new snapshot', async (t) => {
    // The stream drops, and the way back stays closed until the test opens it.
    let refused = 0
    await page.route('**/events*', async (route) => {
      refused++
      await route.abort()
    })
    registry.app.server.closeAllConnections()
    await page.locator('#connection[data-state="reconnecting"]').waitFor({ timeout: 2000 })
    t.equal(await text('#connection-label'), 'Reconnecting…')
    t.match(await page.locator('html').getAttribute('class'), /\bstale\b/, 'the figures are shown as possibly stale')
    // Registered while the page has no stream: only the next snapshot can tell it.
    t.equal(await registry.send('POST', 'ledger:10.0.7.1:8000', instance('ledger:10.0.7.1:8000', { version: '0.3.0' })), 201)
    alive.add('ledger:10.0.7.1:8000')
    const tries = refused
    await until('the page tries its stream again', () => refused > tries ? true : undefined, 8000)
    t.equal(await page.locator(row('ledger')).count(), 0, 'not shown while disconnected, though it has tried since')
    await page.unroute('**/events*')
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 8000 })
    await page.locator(row('ledger')).waitFor({ timeout: 1000 })
    t.pass('live again, with what happened meanwhile')
    t.notMatch(await page.locator('html').getAttribute('class'), /\bstale\b/)
    // The browser reports the streams it lost or could not open on its console: those were asked for.
    log.problems = log.problems.filter((problem) => !/net::ERR_(INCOMPLETE_CHUNKED_ENCODING|FAILED)/.test(problem))
    t.equal(await text('#total-instances'), '8 / 9')
  })

  t.test('an idle page stops animating: the Live dot pulses a few times, on the compositor, then rests', async (t) => {
    const moving = await browser.newContext({ httpCredentials: CREDENTIALS, viewport: { width: 1280, height: 720 }, reducedMotion: 'no-preference' })
    t.teardown(() => moving.close())
    const fresh = await moving.newPage()
    await openLive(fresh, overview())
    const animations = await fresh.evaluate(`document.getAnimations().map((animation) => ({
      iterations: animation.effect.getTiming().iterations,
      properties: [...new Set(animation.effect.getKeyframes().flatMap((frame) => Object.keys(frame)))]
        .filter((key) => !['offset', 'computedOffset', 'easing', 'composite'].includes(key)).sort()
    }))`) as Array<{ iterations: number | null, properties: string[] }>
    t.ok(animations.length > 0, 'the dot pulses as the stream goes live')
    for (const animation of animations) {
      t.ok(Number.isFinite(animation.iterations), `a finite animation (${String(animation.iterations)} iterations)`)
      t.same(animation.properties, ['opacity', 'transform'], 'of what the compositor draws alone')
    }
  })

  t.test('a fresh snapshot on the open stream drops what the registry no longer has, with no reconnection', async (t) => {
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 5000 })
    const streams = log.requests.filter((request) => request.resourceType() === 'eventsource').length
    await evaluate('(() => { window.lunaStates = []; new MutationObserver(() => window.lunaStates.push(document.getElementById("connection").dataset.state)).observe(document.getElementById("connection"), { attributes: true }) })()')
    // Gone without an event, as in a Redis that lost its data; the registry then resyncs its streams.
    alive.delete('ledger:10.0.7.1:8000')
    t.equal(await registry.app.lunaRegistry.store.remove('ledger:10.0.7.1:8000'), true)
    registry.app.lunaRegistry.emit('resync')
    await page.locator(row('ledger')).waitFor({ state: 'detached', timeout: 1000 })
    t.pass('the row leaves without a reload')
    t.equal(await text('#total-instances'), '7 / 8')
    t.same((await evaluate<string[]>('window.lunaStates')).filter((state) => state !== 'live'), [], 'the page stayed live throughout')
    t.equal(log.requests.filter((request) => request.resourceType() === 'eventsource').length, streams, 'on the same stream')
  })

  t.test('a service page: its instances, a last heartbeat that ticks, and changes as they happen', async (t) => {
    await openLive(page, `${registry.base}/services/billing`)
    const beat = 'tr[data-instance="billing:10.0.1.2:9000"] td:nth-child(7) time'
    const first = await text(beat)
    t.match(first, /^\d+ s ago$/)
    await until('the last heartbeat ticks', async () => (await text(beat)) !== first ? true : undefined, 2500)
    t.pass(`"${first}" became "${await text(beat)}" without a reload`)
    t.equal(await text('tr[data-instance="billing:10.0.1.2:9000"] .why'), 'no heartbeat', 'it says why it is DOWN')

    // Back from the dead: a heartbeat brings it up, live.
    t.equal(await registry.send('PUT', 'billing:10.0.1.2:9000', bodies.get('billing:10.0.1.2:9000')), 200)
    alive.add('billing:10.0.1.2:9000')
    await page.locator('tr[data-instance="billing:10.0.1.2:9000"]:not(.down)').waitFor({ timeout: 1000 })
    await until('the service shows UP', async () => (await text('#service-status')) === 'UP' ? true : undefined, 1000)
    t.pass('the service is UP again')
    t.equal(await text('tr[data-instance="billing:10.0.1.2:9000"] td:nth-child(8)'), '—', 'no longer down')
  })

  t.test('deregister an instance from its page, after a confirmation; errors show inline', async (t) => {
    const target = 'orders:10.0.0.9:8080'
    const targetRow = `tr[data-instance="${target}"]`
    await openLive(page, `${registry.base}/services/orders`)
    t.equal(await page.locator('#instances tbody tr').count(), 3)
    t.equal(await text(`${targetRow} td:nth-child(3)`), '1.5.0-rc.1')
    t.equal(await page.locator(`${targetRow} a`).getAttribute('href'), 'http://10.0.0.9:8080/')
    t.equal(await text(`${targetRow} td.num`), '0', 'its weight')
    t.equal(await text(`${targetRow} td.metadata`), 'zone=eu-1canary=true')

    // Cancel: nothing happens.
    await page.click(`${targetRow} button[data-deregister]`)
    t.ok(await page.locator('dialog#confirm[open]').isVisible(), 'a confirmation')
    t.equal(await text('#confirm-id'), target, 'naming the instance')
    await page.click('#confirm-cancel')
    t.notOk(await page.locator('dialog#confirm[open]').count(), 'closed')
    t.equal(await page.locator(targetRow).count(), 1, 'still there')

    // A failing request: the reason shows beside the table, and the instance stays.
    await page.route('**/instances/**', async (route) => {
      if (route.request().method() !== 'DELETE') return await route.continue()
      await route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ statusCode: 500, code: 'FST_LUNA_INTERNAL_ERROR', error: 'Internal Server Error', message: 'The registry could not complete the request' }) })
    })
    await page.click(`${targetRow} button[data-deregister]`)
    await page.click('#confirm-ok')
    await page.locator('#notice.error').waitFor({ timeout: 2000 })
    t.equal(await text('#notice-text'), `Could not deregister ${target}: The registry could not complete the request (HTTP 500).`)
    t.equal(await page.locator('#notice').getAttribute('role'), 'alert')
    t.equal(await page.locator(targetRow).count(), 1, 'the instance stays')
    t.equal(await page.evaluate(`document.querySelector('${targetRow}').nextElementSibling.contains(document.getElementById('notice'))`), true, 'the notice shows under the row the user acted on')
    await page.unroute('**/instances/**')
    // The browser reports the failed load on its console: that one was asked for.
    log.problems = log.problems.filter((problem) => !problem.includes('the server responded with a status of 500'))

    alive.delete(target)
    const deletes = log.requests.length
    await page.click(`${targetRow} button[data-deregister]`)
    await page.click('#confirm-ok')
    await page.locator(targetRow).waitFor({ state: 'detached', timeout: 2000 })
    t.pass('the row leaves')
    t.match(await text('#notice-text'), `${target} was deregistered.`)
    t.equal(await page.locator('#instances tbody tr.notice-row #notice').isVisible(), true, 'where the row was')
    const sent = log.requests.slice(deletes).find((request) => request.method() === 'DELETE')
    t.equal(sent?.url(), `${registry.base}/instances/${encodeURIComponent(target)}`)
    t.equal(sent?.headers()['x-luna-panel'], '1', 'with the header no form or other site can send without asking')
    const gone = await fetch(`${registry.base}/instances/${target}`, { headers: { authorization: registry.authorization } })
    t.equal(gone.status, 404, 'gone from the API')
    t.equal(await text('#total-instances'), '2 / 2')
    t.equal(await page.locator('#service-versions .version').count(), 1, 'its version went with it')
  })

  t.test('a page of another origin cannot deregister or register, even with the operator logged in', async (t) => {
    const target = 'orders:10.0.0.7:8080'
    // Another origin on the same machine (localhost, not 127.0.0.1), in the operator's browser.
    const attacker = await context.newPage()
    t.teardown(() => attacker.close())
    const evil = `${registry.origin.replace('127.0.0.1', 'localhost')}/attack`
    await attacker.route(evil, async (route) => await route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>elsewhere</title>' }))
    await attacker.goto(evil)
    const attempt = async (init: string): Promise<string> => await attacker.evaluate(`fetch(${JSON.stringify(`${registry.base}/instances/`)} + ${init})
      .then((res) => 'answered ' + res.status + ' ' + res.type, (error) => 'refused: ' + error.message)`) as string
    t.match(await attempt(`${JSON.stringify(target)}, { method: 'DELETE', credentials: 'include', headers: { 'x-luna-panel': '1' } }`), /^refused/, "the panel's own request, sent from elsewhere: refused")
    t.match(await attempt(`${JSON.stringify(target)}, { method: 'DELETE', credentials: 'include' }`), /^refused/, 'a DELETE needs a preflight, which fails')
    const body = JSON.stringify(JSON.stringify({ name: 'evil', version: '1', status: 'OK', url: 'http://10.6.6.6/' }))
    // A simple request needs no preflight: whatever becomes of it, it cannot be JSON, so it changes nothing.
    t.comment(`a plain-text POST from elsewhere: ${await attempt(`'evil:10.6.6.6:80', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: ${body} }`)}`)
    const check = async (id: string): Promise<number> => (await fetch(`${registry.base}/instances/${id}`, { headers: { authorization: registry.authorization } })).status
    t.equal(await check(target), 200, 'the instance is still registered')
    t.equal(await check('evil:10.6.6.6:80'), 404, 'and nothing was registered: the registry takes JSON only')
  })

  t.test('self-contained: every request stays on the registry origin; no console error, no CSP violation', async (t) => {
    const origin = registry.origin
    const elsewhere = log.requests.map((request) => request.url()).filter((url) => new URL(url).origin !== origin)
    t.same(elsewhere, [], `all ${log.requests.length} requests went to ${origin}`)
    const kinds = new Set(log.requests.map((request) => request.resourceType()))
    t.ok(kinds.has('eventsource'), 'the event stream')
    t.ok(kinds.has('script') && kinds.has('stylesheet'), 'the script and the stylesheet, as files')
    t.equal(await evaluate<number>('document.querySelectorAll("[style]").length'), 0, 'no inline style, even after live updates')
    t.same(log.violations, [], 'no CSP violation reported to any page')
    t.same(log.problems, [], 'no console error or CSP report on any page')
    t.same(log.dialogs, [], 'no dialog')
  })
}
