import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import t from 'tap'
import lunaRegistry from '../src/index.js'
import { chromiumAvailable, infoFor, launchChromium, openLive, record } from './panel-chromium.js'
import { basic, PREFIX } from './helpers.js'

if (chromiumAvailable(t)) {
  t.test('a read user sees instances arrive live, with no action offered', async (t) => {
    const app = Fastify()
    await app.register(lunaRegistry, { auth: async (username, password) => password !== 'pw' ? undefined : username === 'ops' ? 'admin' : 'read' })
    await app.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(() => app.close())
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}${PREFIX}`
    const register = async (id: string): Promise<number> => (await fetch(`${base}/instances/${id}`, {
      method: 'POST',
      headers: { ...basic('ops', 'pw'), 'content-type': 'application/json' },
      body: JSON.stringify(infoFor(id))
    })).status
    t.equal(await register('orders:10.0.0.7:8080'), 201)

    const browser = await launchChromium()
    t.teardown(() => browser.close())
    for (const [username, actions] of [['dash', 0], ['ops', 1]] as const) {
      const context = await browser.newContext({ httpCredentials: { username, password: 'pw' } })
      const page = await context.newPage()
      const log = await record(page)
      await openLive(page, `${base}/services/orders`)
      t.equal(await page.locator('#instances thead th').count(), 8 + actions, `${username}: the table has ${actions === 0 ? 'no' : 'an'} action column`)
      const rows = await page.locator('#instances tbody tr').count()
      t.equal(await page.locator('button[data-deregister]').count(), rows * actions, `${username}: ${actions === 0 ? 'no' : 'a'} button on each of the ${rows} rows drawn by the server`)
      const id = `orders:10.0.0.${username === 'dash' ? 8 : 9}:8080`
      t.equal(await register(id), 201)
      await page.locator(`tr[data-instance="${id}"]`).waitFor({ timeout: 2000 })
      t.equal(await page.locator(`tr[data-instance="${id}"] td`).count(), 7 + actions, `${username}: a row drawn live has as many cells as the head`)
      t.equal(await page.locator(`tr[data-instance="${id}"] button[data-deregister]`).count(), actions, `${username}: and ${actions === 0 ? 'no' : 'its'} button`)
      t.same(log.problems, [], `${username}: no console error`)
      await context.close()
    }
  })
}
