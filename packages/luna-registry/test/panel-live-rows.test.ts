import t from 'tap'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { until } from '../../../test-support/until.js'
import { chromiumAvailable, infoFor, launchChromium, listen, openLive, record, type PageLog, type Registry } from './panel-chromium.js'

const CREDENTIALS = { username: 'ops', password: 'half-moon' }
const XSS = '<script>alert("xss")</script><img src=x onerror=alert(2)>'

// The rows the script builds as events come: from text only, and only the rows an event is about.
if (chromiumAvailable(t)) {
  let browser: Browser
  let registry: Registry
  let context: BrowserContext
  let page: Page
  let log: PageLog

  const row = (name: string): string => `#services tr[data-service="${name}"]`
  const text = async (selector: string): Promise<string> => (await page.locator(selector).textContent() ?? '').trim()
  const evaluate = async <T>(expression: string): Promise<T> => await page.evaluate(expression) as T

  t.before(async () => {
    registry = await listen({ auth: CREDENTIALS })
    t.equal(await registry.send('POST', 'orders:10.0.0.7:8080', infoFor('orders:10.0.0.7:8080')), 201)
    browser = await launchChromium()
    context = await browser.newContext({ httpCredentials: CREDENTIALS, viewport: { width: 1280, height: 720 }, reducedMotion: 'reduce' })
    page = await context.newPage()
    log = await record(page)
  })

  t.teardown(async () => {
    await browser?.close()
    await registry?.app.close()
  })

  t.test('a <script> in any field shows as text, live and rendered by the server; nothing runs', async (t) => {
    const id = 'notes:10.0.6.1:80'
    const body = infoFor(id, { version: '<script>alert(1)</script>', description: XSS, url: 'http://10.0.6.1/"><script>alert(4)</script>', metadata: { '<b>key</b>': '<img src=x onerror=alert(3)>' } })
    await openLive(page, `${registry.base}/services/`)
    t.equal(await registry.send('POST', id, body), 201)
    await page.locator(row('notes')).waitFor({ timeout: 1000 })
    // An injected script or handler needs an element to run from: with none in the page, nothing runs.
    const check = async (where: string): Promise<void> => {
      t.equal(await evaluate<number>('document.scripts.length'), 1, `${where}: the page's own script only`)
      t.equal(await evaluate<number>('document.querySelectorAll("img, b").length'), 0, `${where}: no injected element`)
      t.same(log.dialogs, [], `${where}: no dialog opened`)
    }
    t.equal(await text(`${row('notes')} td.description`), XSS, 'live: the description is text')
    t.equal(await text(`${row('notes')} .version`), '<script>alert(1)</script>', 'live: the version is text')
    await check('overview, live')
    await page.reload()
    t.equal(await text(`${row('notes')} td.description`), XSS, 'server-rendered: the description is text')
    await check('overview, server-rendered')
    await openLive(page, `${registry.base}/services/notes`)
    t.equal(await text('#service-description'), XSS)
    t.equal(await text(`tr[data-instance="${id}"] td.metadata`), '<b>key</b>=<img src=x onerror=alert(3)>')
    t.equal(await page.locator(`tr[data-instance="${id}"] a`).getAttribute('href'), 'http://10.0.6.1/"><script>alert(4)</script>')
    await check('service page')
    // The same instance, changed while the page is open: built by the script this time.
    t.equal(await registry.send('PUT', id, infoFor(id, { ...body, version: '<img src=x onerror=alert(5)>' })), 200)
    await until('the new version shows', async () => (await text(`tr[data-instance="${id}"] td:nth-child(3)`)) === '<img src=x onerror=alert(5)>' ? true : undefined, 1000)
    await check('service page, live')
  })

  t.test('1 000 services: an event changes its own row and leaves the others alone', async (t) => {
    const big = await listen({ auth: CREDENTIALS })
    t.teardown(() => big.app.close())
    for (let s = 0; s < 1000; s++) {
      const name = `service-${String(s).padStart(4, '0')}`
      await big.app.lunaRegistry.register(`${name}:host-0:8080`, { name, version: '1.0.0', status: s % 100 === 0 ? 'DOWN' : 'OK', url: 'http://host-0:8080/' })
    }
    const other = await context.newPage()
    const otherLog = await record(other)
    t.teardown(() => other.close())
    await openLive(other, `${big.base}/services/`, 10_000)
    t.equal(await other.locator('#services tbody tr').count(), 1000)
    // Mark every cell as it is now: a row built again has cells without the mark.
    const marked = await other.evaluate('[...document.querySelectorAll("#services tbody th")].forEach((th) => { th.lunaMark = true }) || document.querySelectorAll("#services tbody th").length') as number
    t.equal(marked, 1000, 'the rows the server rendered were kept when the snapshot came')
    const started = Date.now()
    t.equal(await big.send('POST', 'service-0501:host-9:8080', { name: 'service-0501', version: '2.0.0', status: 'OK', url: 'http://host-9:8080/' }), 201)
    await other.locator('#services tr[data-service="service-0501"] td.num:text-is("2 / 2")').waitFor({ timeout: 1000 })
    t.comment(`among 1 000 services, the change showed ${Date.now() - started} ms after the registration`)
    const rebuilt = await other.evaluate('[...document.querySelectorAll("#services tbody th")].filter((th) => !th.lunaMark).map((th) => th.textContent)') as string[]
    t.same(rebuilt, ['service-0501'], 'only the row of the service that changed was built again')
    t.equal(await other.locator('#total-instances').textContent(), '991 / 1001')
    t.same(otherLog.problems, [])
    t.same(otherLog.violations, [])
  })

  t.test('no console error, no CSP violation, no dialog', async (t) => {
    t.same(log.problems, [])
    t.same(log.violations, [])
    t.same(log.dialogs, [])
  })
}
