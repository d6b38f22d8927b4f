import t from 'tap'
import { chromiumAvailable, infoFor, launchChromium, listen, record } from './panel-chromium.js'
import { PREFIX } from './helpers.js'
import { DOCS_CSP } from '../src/docs.js'

t.test('/docs renders the API reference in Chromium from the registry\'s own files, without a CSP violation', async (t) => {
  if (!chromiumAvailable(t)) return
  const registry = await listen({ auth: { username: 'ops', password: 'docs-secret' } })
  t.teardown(() => registry.app.close())
  await registry.send('POST', 'orders:h:1', infoFor('orders:h:1'))
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const context = await browser.newContext({ httpCredentials: { username: 'ops', password: 'docs-secret' } })
  const page = await context.newPage()
  const log = await record(page)

  const response = await page.goto(`${registry.base}/docs`)
  t.equal(response?.status(), 200)
  t.equal(response?.headers()['content-security-policy'], DOCS_CSP)
  t.match(DOCS_CSP, /default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'/, 'the panel\'s rules, no CDN, nothing inline')
  // Swagger UI lists an operation per route once it has read the document.
  await page.locator('.opblock').first().waitFor({ timeout: 15_000 })
  const summaries = await page.locator('.opblock-summary-path').allTextContents()
  t.ok(summaries.some((path) => path.includes(`${PREFIX}/instances/{id}`)), 'the instance routes')
  t.ok(summaries.some((path) => path.includes(`${PREFIX}/sd/prometheus`)), 'service discovery')
  t.match(await page.locator('.info .title').textContent(), /Luna/)

  const elsewhere = log.requests.map((request) => request.url()).filter((url) => new URL(url).origin !== registry.origin)
  t.same(elsewhere, [], `all ${log.requests.length} requests went to the registry, none to a CDN`)
  t.ok(log.requests.some((request) => request.url().endsWith(`${PREFIX}/openapi.json`)), 'the document it shows is the registry\'s')
  t.same(log.violations, [], 'no CSP violation')
  t.same(log.problems, [], 'no console error')
})
