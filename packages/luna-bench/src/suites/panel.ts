import { existsSync } from 'node:fs'
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core'
import { inParallel, request, sleep } from '../http.js'
import { AUTHORIZATION, PREFIX, instances, instancePath } from '../payload.js'
import { startLuna, stopAll, type ServerProcess } from '../processes.js'
import type { Figure } from '../report.js'
import type { Suite } from '../suite.js'

const CHROMIUM = process.env['LUNA_CHROMIUM'] ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-sync']
const INSTANCES = 10_000
const SERVICES = 1_000
/** Seconds an open page is watched while nothing changes. */
const IDLE_SECONDS = 5
/** Instances that flip DOWN and back during the churn, in rounds of one heartbeat each. */
const FLIPPING = 500
const ROUNDS = 5
const ROUND_MS = 500

/**
 * In the page from its first moment: when the connection indicator went live, and the tasks of
 * 50 ms or more (the browser reports no shorter ones as long tasks).
 */
const WATCH = `(() => {
  window.lunaLongTasks = []
  new PerformanceObserver((list) => { for (const entry of list.getEntries()) window.lunaLongTasks.push(entry.duration) })
    .observe({ type: 'longtask', buffered: true })
  new MutationObserver(() => {
    const indicator = document.getElementById('connection')
    if (indicator !== null && indicator.dataset.state === 'live' && window.lunaLiveAt === undefined) window.lunaLiveAt = performance.now()
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] })
})()`

async function taskSeconds (cdp: CDPSession): Promise<number> {
  const { metrics } = await cdp.send('Performance.getMetrics')
  return metrics.find((metric: { name: string }) => metric.name === 'TaskDuration')?.value ?? Number.NaN
}

/** The share of `seconds` the page's main thread spent in tasks. */
async function busyShare (cdp: CDPSession, seconds: number): Promise<number> {
  const before = await taskSeconds(cdp)
  await sleep(seconds * 1000)
  return (await taskSeconds(cdp) - before) / seconds
}

async function live (page: Page, url: string): Promise<number> {
  await page.goto(url)
  await page.locator('#connection[data-state="live"]').waitFor({ timeout: 30_000 })
  return await page.evaluate('window.lunaLiveAt') as number
}

/**
 * A luna-server with 10 000 instances in 1 000 services, and Chromium on its panel: how soon the
 * overview is live, what an idle open page costs, the longest task while 500 instances flip, and
 * how long a filter keystroke takes. The baseline is the instance stream the overview followed
 * before it had summaries: the time from opening it in the same page to its snapshot parsed.
 */
export const panel: Suite = {
  name: 'panel',
  summary: 'the panel in Chromium at 10 000 instances in 1 000 services: time to Live, idle and churn main thread, filter',
  inFullRun: false,
  async run ({ log }) {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (set LUNA_CHROMIUM)`)
    let luna: ServerProcess | undefined
    let browser: Browser | undefined
    try {
      luna = await startLuna({ args: ['--heartbeat-timeout', '10m', '--evict-after', '0'] })
      const base = luna.url
      const all = instances(INSTANCES, SERVICES)
      log(`  registering ${INSTANCES} instances in ${SERVICES} services`)
      await inParallel(all, 16, async (probe) => {
        const response = await request(`${base}${instancePath(probe.id)}`, { method: 'POST', headers: { authorization: AUTHORIZATION }, body: probe.body })
        if (response.status !== 201) throw new Error(`POST ${instancePath(probe.id)} answered ${response.status}`)
      })

      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
      const context = await browser.newContext({ httpCredentials: { username: 'admin', password: '' }, viewport: { width: 1280, height: 800 } })
      await context.addInitScript(WATCH)
      const page = await context.newPage()
      const cdp = await context.newCDPSession(page)
      await cdp.send('Performance.enable')
      const overview = `${base}${PREFIX}/services/`

      log('  time to Live, five navigations')
      const lives: number[] = []
      for (let run = 0; run < 5; run++) lives.push(await live(page, overview))
      lives.sort((a, b) => a - b)
      const toLive = lives[2]!
      const instanceStream = await page.evaluate(`new Promise((resolve) => {
        const started = performance.now()
        const source = new EventSource('${PREFIX}/events')
        source.addEventListener('snapshot', (message) => {
          JSON.parse(message.data)
          source.close()
          resolve(performance.now() - started)
        })
      })`) as number
      const [summaryBytes = 0, instanceBytes = 0] = await Promise.all(['?view=summary', ''].map(async (query) => {
        const response = await fetch(`${base}${PREFIX}/events${query}`, { headers: { authorization: AUTHORIZATION } })
        const reader = response.body!.getReader()
        let text = ''
        const decoder = new TextDecoder()
        while (!text.includes('\n\n', text.indexOf('event: snapshot'))) {
          const { value, done } = await reader.read()
          if (done) break
          text += decoder.decode(value)
        }
        await reader.cancel()
        return Buffer.byteLength(text)
      }))

      log(`  an idle overview, ${IDLE_SECONDS} s`)
      await live(page, overview)
      await sleep(2000)
      const idleOverview = await busyShare(cdp, IDLE_SECONDS)

      log(`  churn: ${FLIPPING} instances flip, ${ROUNDS} rounds ${ROUND_MS} ms apart`)
      await page.evaluate('window.lunaLongTasks = []')
      const flipping = all.filter((_, index) => index % (INSTANCES / FLIPPING) === 0)
      const churnStarted = await taskSeconds(cdp)
      const churnClock = performance.now()
      for (let round = 0; round < ROUNDS; round++) {
        const status = round % 2 === 0 ? 'DOWN' : 'OK'
        const started = performance.now()
        await inParallel(flipping, 16, async (probe) => {
          const body = JSON.stringify({ ...JSON.parse(probe.body) as object, status })
          await request(`${base}${instancePath(probe.id)}`, { method: 'PUT', headers: { authorization: AUTHORIZATION }, body })
        })
        const left = ROUND_MS - (performance.now() - started)
        if (left > 0) await sleep(left)
      }
      const sent = performance.now()
      const expected = JSON.parse((await request(`${base}${PREFIX}/summary`, { headers: { authorization: AUTHORIZATION } })).body) as { instances: number, instancesOnline: number }
      await page.locator('#total-instances').filter({ hasText: `${expected.instancesOnline} / ${expected.instances}` }).waitFor({ timeout: 10_000 })
      const caughtUp = performance.now() - sent
      const churnSeconds = (performance.now() - churnClock) / 1000
      const churnBusy = (await taskSeconds(cdp) - churnStarted) / churnSeconds
      const longTasks = await page.evaluate('window.lunaLongTasks') as number[]

      log('  the filter: keystrokes, then clearing it')
      const typing = await page.evaluate(`(() => {
        const filter = document.getElementById('filter')
        const times = []
        const type = (value) => {
          const started = performance.now()
          filter.value = value
          filter.dispatchEvent(new Event('input'))
          void document.body.offsetHeight
          times.push(performance.now() - started)
        }
        for (const value of ['s', 'sv', 'svc', 'svc-', 'svc-0', 'svc-07', 'svc-077']) type(value)
        const keystroke = Math.max(...times)
        times.length = 0
        type('')
        return { keystroke, clear: times[0] }
      })()`) as { keystroke: number, clear: number }

      log('  an idle service page')
      await live(page, `${base}${PREFIX}/services/${all[0]!.service}`)
      await sleep(2000)
      const idleService = await busyShare(cdp, IDLE_SECONDS)

      const figures: Figure[] = [
        { name: 'overview: time to Live (median of 5)', value: toLive, unit: 'ms', target: { op: '<', value: 500 } },
        { name: 'baseline: instance stream to its snapshot', value: instanceStream, unit: 'ms', note: `Live in ${(toLive / instanceStream).toFixed(2)}× the time the instance snapshot alone takes` },
        { name: 'overview snapshot (summaries)', value: summaryBytes, unit: 'bytes', note: `${(summaryBytes / instanceBytes).toFixed(3)}× the instance snapshot (${instanceBytes} bytes)` },
        { name: 'idle overview: main thread busy', value: idleOverview, unit: 'ratio', target: { op: '<', value: 0.02 } },
        { name: 'idle service page: main thread busy', value: idleService, unit: 'ratio', target: { op: '<', value: 0.02 } },
        { name: 'churn: longest task (0: none of 50 ms)', value: longTasks.length === 0 ? 0 : Math.max(...longTasks), unit: 'ms', target: { op: '<', value: 50 } },
        { name: 'churn: tasks of 50 ms or more', value: longTasks.length, unit: 'count' },
        { name: 'churn: main thread busy', value: churnBusy, unit: 'ratio' },
        { name: 'churn: page matches the API after the last change', value: caughtUp, unit: 'ms', target: { op: '<', value: 500 } },
        { name: 'filter: slowest keystroke', value: typing.keystroke, unit: 'ms', target: { op: '<', value: 100 } },
        { name: 'filter: clearing it', value: typing.clear, unit: 'ms', target: { op: '<', value: 100 } }
      ]
      return { figures, data: { lives, longTasks } }
    } finally {
      await browser?.close()
      await stopAll([luna])
    }
  }
}
