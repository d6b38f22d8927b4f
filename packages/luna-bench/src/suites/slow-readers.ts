import http from 'node:http'
import { connect, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { request, sleep } from '../http.js'
import { cpuTime } from '../load.js'
import { AUTHORIZATION, instances, PREFIX } from '../payload.js'
import { residentBytes, startLuna, stopAll, type ServerProcess } from '../processes.js'
import { registerAll } from '../registration.js'
import type { Figure, Table } from '../report.js'
import { distribution, type Distribution } from '../stats.js'
import type { Suite } from '../suite.js'

const INSTANCES = 50_000
const SERVICES = 1_000
/** Milliseconds between two /healthz probes, each sent once the last has answered. */
const PROBE_EVERY_MS = 20
/** How long the clients are held while resident memory and /healthz are watched. */
const HOLD_SECONDS = 30
/** How long /healthz is probed before the clients come. */
const BASELINE_SECONDS = 15
/** The server's default `events.snapshotTimeout`, and how long after it the drops are counted. */
const SNAPSHOT_TIMEOUT_SECONDS = 30
const DROP_GRACE_SECONDS = 10
const MB = 1024 * 1024
/** What luna-server logs when it drops a subscriber that did not read its snapshot in time. */
const DROP_LINE = 'did not read its snapshot in time'

/** One keep-alive connection for the probes, apart from the clients'. */
const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 })

/** Probes `GET /healthz` one after another until stopped; each answer's time, in ms. */
function probeHealth (url: string): { stop: () => Promise<{ latency: Distribution, failed: number }> } {
  const times: number[] = []
  let failed = 0
  const state = { running: true }
  const loop = (async () => {
    while (state.running) {
      const started = performance.now()
      try {
        const response = await request(`${url}/healthz`, { agent: probeAgent })
        if (response.status !== 200) failed++
      } catch {
        failed++
      }
      times.push(performance.now() - started)
      await sleep(PROBE_EVERY_MS)
    }
  })()
  return {
    stop: async () => {
      state.running = false
      await loop
      return { latency: distribution(times), failed }
    }
  }
}

/** A client that sends one request and never reads a byte of the answer. */
function stalledClient (url: string, path: string, headers: Record<string, string>): Socket {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  socket.pause()
  socket.on('error', () => {})
  const lines = Object.entries({ host: `${hostname}:${port}`, authorization: AUTHORIZATION, ...headers }).map(([name, value]) => `${name}: ${value}\r\n`)
  socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`)
  return socket
}

interface Scenario {
  name: string
  path: string
  headers: Record<string, string>
  /** Count the subscribers dropped for not reading their snapshot. */
  snapshot: boolean
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'services list', path: `${PREFIX}/services`, headers: { accept: 'application/json' }, snapshot: false },
  { name: 'services list, gzip', path: `${PREFIX}/services`, headers: { accept: 'application/json', 'accept-encoding': 'gzip' }, snapshot: false },
  { name: 'services list, br', path: `${PREFIX}/services`, headers: { accept: 'application/json', 'accept-encoding': 'br' }, snapshot: false },
  { name: 'event snapshot', path: `${PREFIX}/events`, headers: { accept: 'text/event-stream' }, snapshot: true }
]

interface Outcome {
  scenario: string
  clients: number
  listBytes: number
  /** Time to the last byte of the list for one client that reads, before the others come. */
  listMs: number
  rssBefore: number
  rssPeak: number
  rssHeld: number
  /** Resident memory once the dropped subscribers are gone (snapshot scenario). */
  rssAfterDrops: number
  cpuSeconds: number
  health: Distribution
  healthFailed: number
  /** /healthz before the clients came. */
  quiet: Distribution
  dropped: number
}

async function settledResident (pid: number): Promise<number> {
  let lowest = Infinity
  for (let i = 0; i < 6; i++) {
    lowest = Math.min(lowest, residentBytes(pid))
    await sleep(500)
  }
  return lowest
}

async function run (scenario: Scenario, clients: number, log: (line: string) => void): Promise<Outcome> {
  let luna: ServerProcess | undefined
  const sockets: Socket[] = []
  try {
    luna = await startLuna({ name: 'luna-server', args: ['--heartbeat-timeout', '10m'] })
    const pid = luna.child.pid!
    const drops = { count: 0, tail: '' }
    luna.child.stdout?.on('data', (chunk: Buffer) => {
      // The end of the last chunk too, in case a line was cut in two.
      const text = drops.tail + chunk.toString('utf8')
      drops.count += text.split(DROP_LINE).length - 1
      drops.tail = text.slice(1 - DROP_LINE.length)
    })
    log(`  ${scenario.name}: registering ${INSTANCES} instances in ${SERVICES} services`)
    await registerAll(luna.url, instances(INSTANCES, SERVICES))
    const list = await request(`${luna.url}${PREFIX}/services`, { headers: { authorization: AUTHORIZATION, accept: 'application/json' } })
    if (list.status !== 200) throw new Error(`GET ${PREFIX}/services answered ${list.status}`)
    const rssBefore = await settledResident(pid)
    // The same probes with no client about: what the machine itself makes them wait.
    const quiet = probeHealth(luna.url)
    await sleep(BASELINE_SECONDS * 1000)
    const baseline = await quiet.stop()
    const cpuBefore = cpuTime(pid)

    const probe = probeHealth(luna.url)
    await sleep(1000)
    log(`  ${scenario.name}: ${clients} clients that never read, held ${HOLD_SECONDS} s`)
    for (let i = 0; i < clients; i++) sockets.push(stalledClient(luna.url, scenario.path, scenario.headers))
    let rssPeak = rssBefore
    const holdEnd = Date.now() + HOLD_SECONDS * 1000
    while (Date.now() < holdEnd) {
      await sleep(250)
      rssPeak = Math.max(rssPeak, residentBytes(pid))
    }
    const rssHeld = residentBytes(pid)
    let rssAfterDrops = Number.NaN
    if (scenario.snapshot) {
      const end = Date.now() + (SNAPSHOT_TIMEOUT_SECONDS + DROP_GRACE_SECONDS - HOLD_SECONDS) * 1000
      while (Date.now() < end && drops.count < clients) {
        await sleep(250)
        rssPeak = Math.max(rssPeak, residentBytes(pid))
      }
      await sleep(1000)
      rssAfterDrops = residentBytes(pid)
    }
    const cpuSeconds = (cpuTime(pid) - cpuBefore) / 1e6
    const { latency, failed } = await probe.stop()
    log(`  ${scenario.name}: +${((rssPeak - rssBefore) / MB).toFixed(1)} MB at most, /healthz max ${latency.max.toFixed(1)} ms`)
    return {
      scenario: scenario.name,
      clients,
      listBytes: list.bytes,
      listMs: list.ms,
      rssBefore,
      rssPeak,
      rssHeld,
      rssAfterDrops,
      cpuSeconds,
      health: latency,
      healthFailed: failed + baseline.failed,
      quiet: baseline.latency,
      dropped: drops.count
    }
  } finally {
    for (const socket of sockets) socket.destroy()
    await stopAll([luna])
  }
}

const mb = (bytes: number): string => Number.isFinite(bytes) ? (bytes / MB).toFixed(1) : ''

/**
 * luna-server with 50 000 instances in 1 000 services; clients that request the services list
 * (plain, then gzip, then br) or the event stream and never read a byte, all at once. The server's resident
 * memory before and while they are held, and the time /healthz takes to answer meanwhile, probed
 * one request after another from a connection of its own. The subscribers of the event stream
 * are counted as they are dropped for not reading their snapshot in time.
 */
export const slowReaders: Suite = {
  name: 'slow-readers',
  summary: '50 000 instances; clients that request the services list or the event stream and never read: memory and /healthz',
  inFullRun: true,
  async run ({ config, log }) {
    const clients = config.slowReaders
    const outcomes: Outcome[] = []
    for (const scenario of SCENARIOS) outcomes.push(await run(scenario, clients, log))
    const [plain] = outcomes
    const figures: Figure[] = outcomes.flatMap((outcome): Figure[] => {
      const growth = outcome.rssPeak - outcome.rssBefore
      const healthOk = outcome.healthFailed === 0
      const dropsOk = outcome.scenario !== 'event snapshot' || outcome.dropped === outcome.clients
      return [
        {
          name: `${outcome.scenario}: resident memory growth, ${outcome.clients} clients`,
          value: growth,
          unit: 'bytes',
          target: { op: '<', value: 200 * MB },
          valid: dropsOk,
          note: `${mb(outcome.rssBefore)} MB before, ${mb(outcome.rssPeak)} MB at most, ${mb(outcome.rssHeld)} MB after ${HOLD_SECONDS} s` +
            (Number.isFinite(outcome.rssAfterDrops) ? `, ${mb(outcome.rssAfterDrops)} MB once ${outcome.dropped} of ${outcome.clients} were dropped` : '') +
            `; ${(growth / outcome.clients / 1024).toFixed(0)} KB per client for a ${mb(outcome.listBytes)} MB list` +
            ` (${(growth / (outcome.clients * outcome.listBytes) * 100).toFixed(2)} % of what holding every client's list would take)`
        },
        {
          name: `${outcome.scenario}: /healthz, slowest answer`,
          value: outcome.health.max,
          unit: 'ms',
          target: { op: '<', value: 100 },
          valid: healthOk,
          note: `${outcome.health.count} probes, p50 ${outcome.health.p50.toFixed(1)} ms, p99 ${outcome.health.p99.toFixed(1)} ms; ` +
            `before the clients came, ${outcome.quiet.count} probes: p50 ${outcome.quiet.p50.toFixed(1)} ms, p99 ${outcome.quiet.p99.toFixed(1)} ms, slowest ${outcome.quiet.max.toFixed(1)} ms` +
            (healthOk ? '' : `; ${outcome.healthFailed} failed`)
        },
        {
          name: `${outcome.scenario}: /healthz p99, with the clients / before`,
          value: outcome.health.p99 / outcome.quiet.p99,
          unit: 'ratio'
        }
      ]
    })
    if (plain !== undefined) figures.push({ name: 'services list, 50k instances, one client that reads', value: plain.listMs, unit: 'ms', note: `${mb(plain.listBytes)} MB` })
    const tables: Table[] = [{
      title: `${clients} clients that never read, ${INSTANCES} instances`,
      header: ['clients of', 'RSS before MB', 'peak MB', 'held MB', 'after drops MB', 'server CPU s', 'healthz before: p50 ms', 'p99 ms', 'max ms', 'with them: p50 ms', 'p99 ms', 'max ms', 'dropped'],
      rows: outcomes.map((outcome) => [
        outcome.scenario,
        mb(outcome.rssBefore),
        mb(outcome.rssPeak),
        mb(outcome.rssHeld),
        mb(outcome.rssAfterDrops),
        outcome.cpuSeconds.toFixed(1),
        outcome.quiet.p50.toFixed(1),
        outcome.quiet.p99.toFixed(1),
        outcome.quiet.max.toFixed(1),
        outcome.health.p50.toFixed(1),
        outcome.health.p99.toFixed(1),
        outcome.health.max.toFixed(1),
        String(outcome.dropped)
      ])
    }]
    return { figures, tables, data: outcomes }
  }
}
