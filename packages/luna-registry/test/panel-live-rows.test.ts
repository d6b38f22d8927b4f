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

  t.test('1 000 services: a page of rows; an event changes its own row and leaves the others alone; filter, sort and pages reach them all', async (t) => {
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
    const names = async (): Promise<string[]> => await other.locator('#services tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service') ?? ''))
    const first = await names()
    t.equal(first.length, 100, 'one page of rows in the document')
    t.same(first.slice(0, 11), ['service-0000', 'service-0100', 'service-0200', 'service-0300', 'service-0400', 'service-0500', 'service-0600', 'service-0700', 'service-0800', 'service-0900', 'service-0001'], 'DOWN first, then by name')
    t.equal((await other.locator('#page-at').textContent()), '1–100 of 1000')
    // Mark every cell as it is now: a row built again has cells without the mark.
    const marked = await other.evaluate('[...document.querySelectorAll("#services tbody th")].forEach((th) => { th.lunaMark = true }) || document.querySelectorAll("#services tbody th").length') as number
    t.equal(marked, 100, 'the rows the server rendered were kept when the snapshot came')
    const started = Date.now()
    t.equal(await big.send('POST', 'service-0051:host-9:8080', { name: 'service-0051', version: '2.0.0', status: 'OK', url: 'http://host-9:8080/' }), 201)
    await other.locator('#services tr[data-service="service-0051"] td.num:text-is("2 / 2")').waitFor({ timeout: 1000 })
    t.comment(`among 1 000 services, the change showed ${Date.now() - started} ms after the registration`)
    const rebuilt = await other.evaluate('[...document.querySelectorAll("#services tbody th")].filter((th) => !th.lunaMark).map((th) => th.textContent)') as string[]
    t.same(rebuilt, ['service-0051'], 'only the row of the service that changed was built again')
    t.equal(await other.locator('#total-instances').textContent(), '991 / 1001')

    // A service far from the first page: the filter finds it, and it is live there too.
    t.equal(await big.send('POST', 'service-0777:host-9:8080', { name: 'service-0777', version: '2.0.0', status: 'OK', url: 'http://host-9:8080/' }), 201)
    await other.fill('#filter', 'service-077')
    t.same(await names(), ['service-0770', 'service-0771', 'service-0772', 'service-0773', 'service-0774', 'service-0775', 'service-0776', 'service-0777', 'service-0778', 'service-0779'])
    t.equal(await other.locator('#shown').textContent(), '10 of 1000 shown')
    t.ok(await other.locator('#pager').isHidden(), 'one page: no pager')
    await other.locator('#services tr[data-service="service-0777"] td.num:text-is("2 / 2")').waitFor({ timeout: 1000 })
    await other.fill('#filter', '')
    t.equal((await names()).length, 100, 'clearing the filter brings back one page, not every row')

    // The pages.
    await other.click('#page-next')
    t.equal(await other.locator('#page-at').textContent(), '101–200 of 1000')
    t.equal((await names())[0], 'service-0091', 'the second page goes on where the first ended')
    t.ok(await other.locator('#page-prev').isEnabled())
    await other.click('#page-prev')
    t.equal((await names())[0], 'service-0000')
    t.ok(await other.locator('#page-prev').isDisabled(), 'no page before the first')

    // Sorting, by the column headers.
    await other.click('#services thead th[data-sort="name"] button')
    t.equal(await other.getAttribute('#services thead th[data-sort="name"]', 'aria-sort'), 'ascending')
    t.equal(await other.getAttribute('#services thead th[data-sort="status"]', 'aria-sort'), null)
    t.same((await names()).slice(0, 2), ['service-0000', 'service-0001'], 'by name')
    await other.click('#services thead th[data-sort="name"] button')
    t.equal(await other.getAttribute('#services thead th[data-sort="name"]', 'aria-sort'), 'descending')
    t.same((await names()).slice(0, 2), ['service-0999', 'service-0998'], 'again: the other way round')
    await other.click('#services thead th[data-sort="instances"] button')
    t.same((await names()).slice(0, 2), ['service-0000', 'service-0100'], 'by instances, fewest first (fewest online among equals)')
    await other.click('#services thead th[data-sort="instances"] button')
    t.same((await names()).slice(0, 2), ['service-0777', 'service-0051'], 'most first')
    t.match(await other.locator('#services caption').textContent(), /^All services, by number of instances, reversed/)
    await other.click('#page-next')
    await other.click('#services thead th[data-sort="status"] button')
    t.equal((await names())[0], 'service-0000', 'a new order starts on its first page')

    // A row that leaves the page as another comes into it.
    t.equal(await big.send('DELETE', 'service-0000:host-0:8080'), 204)
    await other.locator('#services tr[data-service="service-0000"]').waitFor({ state: 'detached', timeout: 1000 })
    t.equal((await names()).length, 100, 'the page is full again')
    t.same(otherLog.problems, [])
    t.same(otherLog.violations, [])
  })

  t.test('no console error, no CSP violation, no dialog', async (t) => {
    t.same(log.problems, [])
    t.same(log.violations, [])
    t.same(log.dialogs, [])
  })
}
