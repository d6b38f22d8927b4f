import t, { type Test } from 'tap'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { chromiumAvailable, infoFor, launchChromium, listen, openLive, record, type PageLog, type Registry } from './panel-chromium.js'

const CREDENTIALS = { username: 'ops', password: 'new-moon' }
/** A valid id as long as the rules let a domain be: four labels of 60 characters. */
const LONG_HOST = ['a', 'b', 'c', 'd'].map((letter) => letter.repeat(60)).join('.')
const LONG_ID = `orders:${LONG_HOST}:8080`
/** The longest service name there may be, with no instance. */
const LONG_NAME = `n${'x'.repeat(127)}`

interface Overflow {
  /** How far the page scrolls sideways. */
  page: number
  /** How far each table's own box scrolls sideways. */
  tables: number[]
}

interface LinkStyle {
  decoration: string
  color: string
  /** The colour of the page's text. */
  text: string
  outline: string
  outlineWidth: string
}

if (chromiumAvailable(t)) {
  let browser: Browser
  let registry: Registry

  t.before(async () => {
    registry = await listen({ auth: CREDENTIALS })
    const seed: Array<[string, Record<string, unknown>]> = [
      ['orders:10.0.0.7:8080', { version: '1.4.2', description: 'Takes orders and reserves stock', metadata: { zone: 'eu-1', commit: 'a1b2c3d4' } }],
      ['orders:10.0.0.8:8080', { version: '1.5.0-rc.1' }],
      ['catalog:10.0.2.4:7000', { version: '12.0.3', description: 'Products, search and prices' }]
    ]
    for (const [id, fields] of seed) {
      if (await registry.send('POST', id, infoFor(id, fields)) !== 201) throw new Error(`could not register ${id}`)
    }
    browser = await launchChromium()
  })

  t.teardown(async () => {
    await browser?.close()
    await registry?.app.close()
  })

  /** A page in a fresh browser context `width` pixels wide, live, its problems recorded. */
  const open = async (t: Test, width: number, path: string): Promise<{ page: Page, log: PageLog }> => {
    const context: BrowserContext = await browser.newContext({ httpCredentials: CREDENTIALS, viewport: { width, height: 800 }, colorScheme: 'light' })
    t.teardown(() => context.close())
    const page = await context.newPage()
    const log = await record(page)
    await openLive(page, `${registry.base}${path}`)
    return { page, log }
  }

  const overflow = async (page: Page): Promise<Overflow> => await page.evaluate(`(() => ({
    page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    tables: [...document.querySelectorAll('.table-wrap:not([hidden])')].map((box) => box.scrollWidth - box.clientWidth)
  }))()`) as Overflow

  t.test('390 px wide: no page scrolls sideways; a table wider than the screen scrolls inside its own box', async (t) => {
    const pages = ['/services/', '/services/orders', `/services/${LONG_NAME}`]
    for (const path of pages) {
      const { page, log } = await open(t, 390, path)
      const seen = await overflow(page)
      t.equal(seen.page, 0, `${path}: the page does not scroll sideways`)
      if (path === '/services/orders') t.ok(seen.tables[0]! > 0, `${path}: the instances table scrolls in its box`)
      // Scrolled to its end, the table's box still holds everything: nothing hangs out of it.
      await page.evaluate('document.querySelectorAll(".table-wrap").forEach((box) => { box.scrollLeft = box.scrollWidth })')
      t.equal((await overflow(page)).page, 0, `${path}: nor once its table is scrolled to the end`)
      // The page of a service with no instances comes with a 404, which the console reports.
      t.same(log.problems.filter((problem) => !problem.includes('status of 404')), [], `${path}: no console error`)
    }
  })

  t.test('a long instance id wraps, and the actions of its row stay on screen, at 1280 px and at 390 px', async (t) => {
    t.equal(await registry.send('POST', LONG_ID, infoFor(LONG_ID)), 201)
    t.teardown(async () => { await registry.send('DELETE', LONG_ID) })
    for (const width of [1280, 390]) {
      const { page } = await open(t, width, '/services/orders')
      t.equal((await overflow(page)).page, 0, `${width} px: the page does not scroll sideways`)
      const cell = page.locator(`tr[data-instance="${LONG_ID}"] th`)
      const box = (await cell.boundingBox())!
      const line = (await page.locator('tr[data-instance="orders:10.0.0.7:8080"] th').boundingBox())!
      t.ok(box.height > 2 * line.height, `${width} px: the id takes several lines (${box.height} px against ${line.height} px)`)
      if (width === 1280) t.same((await overflow(page)).tables, [0], 'the table fits the screen: nothing to scroll to')
      // Narrower than the table, the actions stick to the right edge of its box.
      const button = (await page.locator(`tr[data-instance="${LONG_ID}"] button[data-deregister]`).boundingBox())!
      t.ok(button.x >= 0 && button.x + button.width <= width, `${width} px: its Deregister button is on screen (at ${Math.round(button.x)} px)`)
    }
  })

  t.test('service names on the overview look like links, and show where the focus is', async (t) => {
    const { page } = await open(t, 1280, '/services/')
    const style = async (): Promise<LinkStyle> => await page.evaluate(`(() => {
      const css = getComputedStyle(document.querySelector('#services tr[data-service="orders"] th a'))
      return { decoration: css.textDecorationLine, color: css.color, text: getComputedStyle(document.body).color, outline: css.outlineStyle, outlineWidth: css.outlineWidth }
    })()`) as LinkStyle
    const resting = await style()
    t.match(resting.decoration, /underline/, 'underlined')
    t.not(resting.color, resting.text, 'in the link colour, not the text colour')
    // From the filter box, the keyboard passes the headers that sort, then the first service.
    await page.focus('#filter')
    for (const header of ['Service', 'Status', 'Online']) {
      await page.keyboard.press('Tab')
      t.equal(await page.evaluate('document.activeElement.closest("th")?.dataset.sort === undefined ? "" : document.activeElement.textContent'), header, `the ${header} header sorts`)
    }
    await page.keyboard.press('Tab')
    t.equal(await page.evaluate('document.activeElement.textContent'), 'catalog', 'reached by the keyboard')
    await page.keyboard.press('Tab')
    t.equal(await page.evaluate('document.activeElement.textContent'), 'orders', 'the next one')
    const focused = await style()
    t.not(focused.outline, 'none', 'a focus ring')
    t.ok(parseFloat(focused.outlineWidth) >= 2, `at least 2 px wide (${focused.outlineWidth})`)
  })

  t.test('an empty metadata cell shows a dash, as rendered and as rebuilt live', async (t) => {
    const { page } = await open(t, 1280, '/services/orders')
    const cell = page.locator('tr[data-instance="orders:10.0.0.8:8080"] td.metadata')
    t.equal((await cell.textContent())?.trim(), '—', 'rendered by the server')
    t.equal(await cell.locator('.none').count(), 1, 'shown as nothing there, as an empty down-since is')
    t.equal(await registry.send('PUT', 'orders:10.0.0.8:8080', infoFor('orders:10.0.0.8:8080', { version: '1.5.0' })), 200)
    await page.locator('tr[data-instance="orders:10.0.0.8:8080"] td:nth-child(3):text-is("1.5.0")').waitFor({ timeout: 2000 })
    t.equal((await cell.textContent())?.trim(), '—', 'rebuilt by the script')
    t.equal(await registry.send('PUT', 'orders:10.0.0.8:8080', infoFor('orders:10.0.0.8:8080', { version: '1.5.0', metadata: { zone: 'eu-2' } })), 200)
    await page.locator('tr[data-instance="orders:10.0.0.8:8080"] td.metadata .pair').waitFor({ timeout: 2000 })
    t.equal(await cell.textContent() ?? '', 'zone=eu-2', 'metadata, once there is some, and no dash')
  })
}
