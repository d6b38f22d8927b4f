import t from 'tap'
import { chromiumAvailable, infoFor, launchChromium, listen, openLive } from './panel-chromium.js'
import { manualClock } from './helpers.js'

const CREDENTIALS = { username: 'ops', password: 'full-moon' }

if (chromiumAvailable(t)) {
  t.test('the protection banner turns on and off live, and its button ends protection', async (t) => {
    const clock = manualClock()
    const registry = await listen({ auth: CREDENTIALS, now: clock.now, heartbeatTimeout: 30_000 })
    t.teardown(() => registry.app.close())
    await registry.app.lunaRegistry.stop()
    for (let i = 0; i < 6; i++) await registry.send('POST', `orders:h${i}:80`, infoFor(`orders:h${i}:80`))
    const browser = await launchChromium()
    t.teardown(() => browser.close())
    const context = await browser.newContext({ httpCredentials: CREDENTIALS })
    const page = await context.newPage()
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(error.message))
    page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()) })
    await openLive(page, `${registry.base}/services/`)
    t.equal(await page.locator('#protection').isHidden(), true, 'no banner while it is off')

    clock.advance(30_000)
    await registry.app.lunaRegistry.sweep()
    await page.locator('#protection').waitFor({ state: 'visible' })
    t.match(await page.locator('#protection').textContent(), /Mass-expiry protection is on since 2026-01-01 00:00:30 UTC: 6 of 6 instances \(100%\) missed their heartbeat/)

    await page.locator('#protection-end').click()
    await page.locator('#protection').waitFor({ state: 'hidden' })
    t.same(registry.app.lunaRegistry.protection, { active: false }, 'ended on the server')

    // A page loaded while it is on shows it at once, before any script runs.
    clock.advance(1)
    for (let i = 6; i < 12; i++) await registry.send('POST', `orders:h${i}:80`, infoFor(`orders:h${i}:80`))
    clock.advance(30_000)
    await registry.app.lunaRegistry.sweep()
    const noScript = await browser.newContext({ httpCredentials: CREDENTIALS, javaScriptEnabled: false })
    const still = await noScript.newPage()
    await still.goto(`${registry.base}/services/orders`)
    t.equal(await still.locator('#protection').isVisible(), true)
    await noScript.close()
    t.same(problems, [])
  })

  t.test('an operator puts an instance in maintenance from its service page, with a reason, and lifts it', async (t) => {
    const registry = await listen({ auth: CREDENTIALS })
    t.teardown(() => registry.app.close())
    await registry.send('POST', 'orders:h1:80', infoFor('orders:h1:80'))
    const browser = await launchChromium()
    t.teardown(() => browser.close())
    const context = await browser.newContext({ httpCredentials: CREDENTIALS })
    const page = await context.newPage()
    const prompts: string[] = []
    page.on('dialog', (dialog) => {
      prompts.push(dialog.message())
      dialog.accept('disk swap').catch(() => {})
    })
    await openLive(page, `${registry.base}/services/orders`)
    const row = page.locator('#instances tr[data-instance="orders:h1:80"]')
    await row.locator('button[data-maintenance]').click()
    await row.locator('.why.maintenance').waitFor()
    t.match(prompts, [/Why is orders:h1:80 going into maintenance\?/])
    t.equal(await row.locator('.badge').textContent(), 'DOWN')
    t.equal(await row.locator('.why.maintenance').getAttribute('title'), 'In maintenance: disk swap')
    t.match(await registry.app.lunaRegistry.getInstance('orders:h1:80'), { status: 'DOWN', maintenance: { reason: 'disk swap' } })
    t.match(await row.locator('button[data-maintenance]').textContent(), /^Resume/, 'the button now lifts it')

    await row.locator('button[data-maintenance]').click()
    await row.locator('.why.maintenance').waitFor({ state: 'detached' })
    t.equal(await row.locator('.badge').textContent(), 'OK')
    t.equal(prompts.length, 1, 'lifting asks for no reason')
    t.equal((await registry.app.lunaRegistry.getInstance('orders:h1:80'))?.status, 'OK')
  })
}
