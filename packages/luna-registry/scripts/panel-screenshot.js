// Takes docs/panel-overview.png: the overview of a small registry with the default settings, one
// service DOWN for a missed heartbeat, in Debian's Chromium (LUNA_CHROMIUM points elsewhere).
// Run it with `pnpm screenshot` at the repository root, after a build.
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import { chromium } from 'playwright-core'
import lunaRegistry from '../dist/index.js'

const OUTPUT = fileURLToPath(new URL('../../../docs/panel-overview.png', import.meta.url))
const CHROMIUM = process.env.LUNA_CHROMIUM ?? '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run']

const instances = [
  ['orders:10.0.0.7:8080', { version: '1.4.2', description: 'Takes orders and reserves stock', metadata: { zone: 'eu-1' }, balancerOptions: { weight: 2 } }],
  ['orders:10.0.0.8:8080', { version: '1.4.2', description: 'Takes orders and reserves stock', metadata: { zone: 'eu-2' } }],
  ['orders:10.0.0.9:8080', { version: '1.5.0-rc.1', metadata: { zone: 'eu-1', canary: 'true' }, balancerOptions: { weight: 0 } }],
  ['catalog:10.0.2.4:7000', { version: '12.0.3', description: 'Products, search and prices' }],
  ['gateway:10.0.3.1:443', { version: '2.8.1', description: 'Edge routing and TLS' }],
  ['gateway:10.0.3.2:443', { version: '2.8.1', description: 'Edge routing and TLS' }],
  ['search:10.0.5.1:9200', { version: '8.11.0', description: 'Full-text search' }]
]
const quiet = ['billing:10.0.1.2:9000', { version: '3.2.0', description: 'Invoices and payment capture' }]

function info (id, fields) {
  const [name, host, port] = id.split(':')
  return { name, status: 'OK', url: `http://${host}:${port}/`, ...fields }
}

// The registry's clock runs 40 s behind while billing registers, so with the default 30 s timeout
// its deadline passed 10 s ago when the others register; the sweeper then turns it DOWN.
let offset = -40_000
const app = Fastify()
await app.register(lunaRegistry, { now: () => Date.now() + offset })
await app.ready()
await app.lunaRegistry.register(quiet[0], info(...quiet))
offset = 0
for (const [id, fields] of instances) await app.lunaRegistry.register(id, info(id, fields))
await app.lunaRegistry.sweep()
await app.listen({ port: 0, host: '127.0.0.1' })

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
try {
  const context = await browser.newContext({ httpCredentials: { username: 'admin', password: '' }, viewport: { width: 1280, height: 720 } })
  const page = await context.newPage()
  await page.goto(`http://127.0.0.1:${app.server.address().port}/registry/v1/services/`)
  await page.locator('#connection[data-state="live"]').waitFor({ timeout: 5000 })
  const main = await page.locator('main').boundingBox()
  const height = Math.min(720, Math.ceil((main?.y ?? 0) + (main?.height ?? 720)))
  await page.screenshot({ path: OUTPUT, clip: { x: 0, y: 0, width: 1280, height } })
  console.log(`saved ${OUTPUT}`)
} finally {
  await browser.close()
  await app.close()
}
