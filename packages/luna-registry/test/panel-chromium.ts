import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { chromium, type Browser, type ConsoleMessage, type Page, type Request } from 'playwright-core'
import lunaRegistry, { type LunaRegistryOptions } from '../src/index.js'
import { PREFIX } from './helpers.js'

/** Debian's Chromium; `LUNA_CHROMIUM` points elsewhere. */
export const CHROMIUM = process.env['LUNA_CHROMIUM'] ?? '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync'
]

interface Tap {
  fail: (message: string) => unknown
  skip: (name: string, fn: () => void) => unknown
}

/**
 * Whether the browser tests can run. Without Chromium they fail on CI (which must have it) and
 * are skipped, saying why, anywhere else.
 */
export function chromiumAvailable (t: Tap): boolean {
  if (existsSync(CHROMIUM)) return true
  const reason = `Chromium not found at ${CHROMIUM} (install Debian's chromium package, or set LUNA_CHROMIUM)`
  if (process.env['CI'] === 'true') t.fail(`${reason}: CI must run the browser tests`)
  else t.skip(reason, () => {})
  return false
}

export async function launchChromium (): Promise<Browser> {
  return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}

export interface Registry {
  app: FastifyInstance
  /** `http://127.0.0.1:port` */
  origin: string
  /** The origin and the prefix. */
  base: string
  authorization: string
  /** Sends `body` as JSON to `{base}/instances/{id}`; resolves the status. */
  send: (method: 'POST' | 'PUT' | 'DELETE', id: string, body?: Record<string, unknown>) => Promise<number>
}

/** The registry on a real socket on 127.0.0.1, as a browser meets it. */
export async function listen (options: LunaRegistryOptions & { auth: { username: string, password: string } }): Promise<Registry> {
  const app = Fastify()
  await app.register(lunaRegistry, options)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const base = `${origin}${PREFIX}`
  const authorization = `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`
  const send: Registry['send'] = async (method, id, body) => {
    const res = await fetch(`${base}/instances/${id}`, {
      method,
      headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    await res.arrayBuffer()
    return res.status
  }
  return { app, origin, base, authorization, send }
}

/** A valid instance info body for `id`, its name, host and port taken from the id. */
export function infoFor (id: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  const [name = '', host = '', port = ''] = id.split(':')
  return { name, version: '1.0.0', status: 'OK', url: `http://${host}:${port}/`, ...fields }
}

/** Opens `url` in `page` and waits until the page follows the registry's event stream. */
export async function openLive (page: Page, url: string, timeout = 5000): Promise<void> {
  await page.goto(url)
  await page.locator('#connection[data-state="live"]').waitFor({ timeout })
}

/** Everything a page does that a test wants to assert on afterwards. */
export interface PageLog {
  requests: Request[]
  /** Console errors and anything the console says about the Content-Security-Policy. */
  problems: string[]
  /** `securitypolicyviolation` events, as every page saw them. */
  violations: string[]
  dialogs: string[]
  navigations: number
}

// Runs in each page before its own scripts; the binding it calls is the test's, across navigations.
const REPORT_VIOLATIONS = `document.addEventListener('securitypolicyviolation', (event) => {
  window.lunaTestViolation(event.violatedDirective + ' ' + event.blockedURI + ' ' + event.sourceFile + ':' + event.lineNumber)
})`

export async function record (page: Page): Promise<PageLog> {
  const log: PageLog = { requests: [], problems: [], violations: [], dialogs: [], navigations: 0 }
  await page.exposeFunction('lunaTestViolation', (violation: string) => { log.violations.push(violation) })
  await page.addInitScript(REPORT_VIOLATIONS)
  page.on('request', (request) => {
    log.requests.push(request)
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) log.navigations++
  })
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error' || /content.security.policy|trusted.type/i.test(message.text())) {
      log.problems.push(`console ${message.type()}: ${message.text()}`)
    }
  })
  page.on('pageerror', (error) => log.problems.push(`uncaught: ${error.message}`))
  page.on('dialog', (dialog) => {
    log.dialogs.push(`${dialog.type()}: ${dialog.message()}`)
    dialog.dismiss().catch(() => {})
  })
  return log
}
