import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import t from 'tap'
import { exitWithin, runNode } from '../../../test-support/node-process.js'
import { until } from '../../../test-support/until.js'
import { startShop } from '../src/app.js'

const exampleDir = fileURLToPath(new URL('..', import.meta.url))
// A fresh node process can take seconds to start on a busy machine.
const STARTUP = 20_000
const CHROMIUM = process.env['LUNA_CHROMIUM'] ?? '/usr/bin/chromium'

t.test('run for real: the front end\'s origin may call the orders service through the gateway, and no other', async (t) => {
  const proc = runNode(t, 'dist/index.js', exampleDir, { PORT: '0', FRONT_END_PORT: '0' })
  const address = (what: RegExp): Promise<string> => until(`the example prints ${String(what)}`, () => what.exec(proc.output())?.[1], STARTUP)
  const luna = await address(/luna-server \(registry and gateway\) at (http:\/\/\S+)/)
  const frontEnd = await address(/front end at (http:\/\/[^\s:]+:\d+)/)

  const page = await fetch(`${frontEnd}/`)
  t.equal(page.status, 200)
  t.match(await page.text(), `<meta name="luna-gateway" content="${luna}/gateway/services">`, 'the page is told where the gateway is')

  const preflight = await fetch(`${luna}/gateway/services/orders/orders`, {
    method: 'OPTIONS',
    headers: { origin: frontEnd, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
  })
  t.equal(preflight.status, 204)
  t.equal(preflight.headers.get('access-control-allow-origin'), frontEnd)
  t.match(preflight.headers.get('access-control-allow-headers'), /content-type/)

  const placed = await fetch(`${luna}/gateway/services/orders/orders`, {
    method: 'POST',
    headers: { origin: frontEnd, 'content-type': 'application/json' },
    body: JSON.stringify({ item: 'eyepiece' })
  })
  t.equal(placed.status, 201)
  t.equal(placed.headers.get('access-control-allow-origin'), frontEnd)
  t.same(await placed.json(), { id: 3, item: 'eyepiece' })

  const elsewhere = await fetch(`${luna}/gateway/services/orders/orders`, { headers: { origin: 'https://evil.example' } })
  t.equal(elsewhere.headers.get('access-control-allow-origin'), null, 'another origin gets no CORS headers')

  proc.child.kill('SIGTERM')
  t.same(await exitWithin(proc, 10_000), [0, null], 'exits 0 on SIGTERM')
})

t.test('in Chromium: the page lists the orders and places one, through the gateway only', async (t) => {
  if (!existsSync(CHROMIUM)) {
    const reason = `Chromium not found at ${CHROMIUM} (install Debian's chromium package, or set LUNA_CHROMIUM)`
    if (process.env['CI'] === 'true') t.fail(`${reason}: CI must run the browser tests`)
    else t.skip(reason, () => {})
    return
  }
  const shop = await startShop({ port: 0, frontEndPort: 0 })
  t.teardown(() => shop.close())
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const origins = new Set<string>()
  page.on('request', (request) => { origins.add(new URL(request.url()).origin) })
  const problems: string[] = []
  page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()) })

  await page.goto(`${shop.frontEnd}/`)
  await page.waitForSelector('body[data-ready="true"]')
  t.same(await page.locator('#orders li').allTextContents(), ['#1 telescope', '#2 star chart'])

  await page.fill('input[name="item"]', 'eyepiece')
  await page.click('button')
  await page.waitForSelector('#orders li:nth-child(3)')
  t.equal(await page.textContent('#status'), 'Ordered')
  t.same(await page.locator('#orders li').allTextContents(), ['#1 telescope', '#2 star chart', '#3 eyepiece'])

  t.same([...origins].sort(), [shop.frontEnd, shop.luna].sort(), 'the page talked to its own origin and to the gateway, never to the service')
  t.ok(origins.has(shop.luna))
  t.same(problems, [], 'no CORS or other errors in the console')
  t.same(await (await fetch(`${shop.orders}/orders`)).json(), [{ id: 1, item: 'telescope' }, { id: 2, item: 'star chart' }, { id: 3, item: 'eyepiece' }], 'the order reached the service')
})
