import { randomUUID } from 'node:crypto'
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { request, sleep } from '../http.js'
import { AUTHORIZATION, instance, PREFIX, instancePath, type BenchInstance } from '../payload.js'
import { residentBytes, startLuna, stopAll, type ServerProcess } from '../processes.js'
import { HEARTBEAT_HEADERS } from '../registration.js'
import type { Figure, Table } from '../report.js'
import { subscribe } from '../sse.js'
import { distribution, type Distribution } from '../stats.js'
import type { Suite } from '../suite.js'

const REDIS_URL = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379'
const INSTANCES = 10_000
const SERVICES = 1_000
const HEARTBEAT_EVERY_MS = 10_000
const SUBSCRIBERS = 200
const PANEL_EVERY_MS = 5_000
/** How often the heartbeats of the fleet are sent: a slice of it each time, spread over the period. */
const SLICE_MS = 100
const PROBE = fileURLToPath(new URL('../loop-delay-probe.js', import.meta.url))

interface LoopSample {
  /** Milliseconds since the soak began. */
  at: number
  p99: number
  max: number
  rss: number
}

interface SoakRun {
  store: string
  minutes: number
  /** Heartbeats sent, and those answered 200 by the end (the others were still waiting). */
  sent: number
  heartbeats: number
  /** How late the load generator sent its slices: whether it, too, kept up. Milliseconds. */
  lateness: Distribution
  panelFetches: number
  failed: number
  firstFailure: string | undefined
  /** `status` events with reason `timeout`: every instance kept heartbeating, so each one is false. */
  falseDown: number
  rssStart: number
  rssEnd: number
  /** Resident memory's least-squares slope after the first minute, bytes per minute. */
  rssSlope: number
  loop: LoopSample[]
  /** Event streams open at the end, of `SUBSCRIBERS`. */
  streamsOpen: number
  /** Stream openings refused with a 503 and retried. */
  refusals: number
}

/** Least-squares slope of `y` over `x`. */
function slope (points: ReadonlyArray<{ x: number, y: number }>): number {
  if (points.length < 2) return Number.NaN
  const mx = points.reduce((sum, p) => sum + p.x, 0) / points.length
  const my = points.reduce((sum, p) => sum + p.y, 0) / points.length
  let num = 0
  let den = 0
  for (const p of points) {
    num += (p.x - mx) * (p.y - my)
    den += (p.x - mx) ** 2
  }
  return den === 0 ? Number.NaN : num / den
}

/** The lines the loop-delay probe writes to the server's standard error, as they come. */
function followProbe (server: ServerProcess, onSample: (sample: Omit<LoopSample, 'at'>) => void): void {
  let rest = ''
  server.child.stderr?.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) if (line.startsWith('loop-delay ')) onSample(JSON.parse(line.slice(11)) as Omit<LoopSample, 'at'>)
  })
}

/** Every tenth instance reports a counter in its metadata: its body changes with every heartbeat. */
function heartbeatBody (fleet: readonly BenchInstance[], index: number, beat: number): string {
  if (index % 10 !== 0) return fleet[index]!.body
  return instance(index, SERVICES, { seq: String(beat) }).body
}

/**
 * An event stream held open and read as a subscriber reads it, its events not parsed: the
 * server's work is the same, and the bench keeps up with 200 snapshots of the whole fleet.
 */
async function holdOnce (url: string, agent: http.Agent): Promise<http.ClientRequest> {
  return await new Promise((resolve, reject) => {
    const req = http.get(`${url}${PREFIX}/events`, { agent, headers: { authorization: AUTHORIZATION, accept: 'text/event-stream' } }, (res) => {
      res.resume()
      if (res.statusCode === 200) resolve(req)
      else reject(new Error(`GET ${PREFIX}/events answered ${res.statusCode ?? 0}`))
    })
    req.on('error', reject)
  })
}

/** Refusals to open a stream (a 503 while the store is slow to read the snapshot), retried as a client does. */
let refusals = 0

async function retried<T> (open: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open()
    } catch (error) {
      if (attempt >= 10 || !String(error).includes('503')) throw error
      refusals++
      await sleep(1000)
    }
  }
}

async function hold (url: string, agent: http.Agent): Promise<http.ClientRequest> {
  return await retried(async () => await holdOnce(url, agent))
}

async function soak (store: string, args: string[], minutes: number, log: (line: string) => void): Promise<SoakRun> {
  let server: ServerProcess | undefined
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
  const streamAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity })
  const streams: http.ClientRequest[] = []
  try {
    server = await startLuna({ name: `luna-server (${store})`, nodeArgs: ['--import', PROBE], args })
    const running = server
    const loop: LoopSample[] = []
    let began = Number.NaN
    followProbe(running, (sample) => { if (!Number.isNaN(began)) loop.push({ at: Date.now() - began, ...sample }) })

    const fleet = Array.from({ length: INSTANCES }, (_, index) => instance(index, SERVICES))
    // One stream is read for its timeouts, open before anything registers; the others are only
    // held and read, opened once every instance has registered.
    let falseDown = 0
    refusals = 0
    streams.push(await retried(async () => await subscribe(running.url, (event) => {
      if (event.type === 'status' && (JSON.parse(event.data) as { reason?: string }).reason === 'timeout') falseDown++
    })))
    let streamsOpen = 1
    const openStreams = async (): Promise<void> => {
      for (let i = 1; i < SUBSCRIBERS; i++) {
        const stream = await hold(running.url, streamAgent)
        streamsOpen++
        stream.on('close', () => { streamsOpen-- })
        streams.push(stream)
      }
    }
    let opening: Promise<void> | undefined
    log(`  ${store}: ${fleet.length} instances in ${SERVICES} services register at the pace they then heartbeat at; ` +
      `${SUBSCRIBERS} event streams; ${minutes} min`)

    let heartbeats = 0
    let sent = 0
    const late: number[] = []
    let panelFetches = 0
    let failed = 0
    let firstFailure: string | undefined
    const fail = (what: string): void => {
      failed++
      firstFailure ??= what
    }
    const send = (path: string, options: Parameters<typeof request>[1], ok: (status: number) => boolean, count: () => void): void => {
      request(`${running.url}${path}`, { ...options, agent }).then((res) => {
        if (ok(res.status)) count()
        else fail(`${options?.method ?? 'GET'} ${path} answered ${res.status}`)
      }, (error: unknown) => { fail(`${options?.method ?? 'GET'} ${path}: ${String(error)}`) })
    }

    began = Date.now()
    const end = began + minutes * 60_000
    const rss: Array<{ x: number, y: number }> = []
    const perSlice = INSTANCES * SLICE_MS / HEARTBEAT_EVERY_MS
    let slice = 0
    let nextPanel = began
    let nextRss = began
    while (Date.now() < end) {
      const now = Date.now()
      late.push(now - (began + slice * SLICE_MS))
      const from = (slice * perSlice) % INSTANCES
      const beat = Math.floor(slice * perSlice / INSTANCES)
      for (let index = from; index < from + perSlice; index++) {
        if (beat > 0) sent++
        // The first round registers: every instance's first heartbeat then comes one period later.
        if (beat === 0) send(instancePath(fleet[index]!.id), { method: 'POST', headers: HEARTBEAT_HEADERS, body: fleet[index]!.body }, (status) => status === 201, () => {})
        else send(instancePath(fleet[index]!.id), { method: 'PUT', headers: HEARTBEAT_HEADERS, body: heartbeatBody(fleet, index, beat) }, (status) => status === 200, () => { heartbeats++ })
      }
      if (now >= nextPanel) {
        send(`${PREFIX}/services/`, { headers: { authorization: AUTHORIZATION, accept: 'text/html' } }, (status) => status === 200, () => { panelFetches++ })
        nextPanel += PANEL_EVERY_MS
      }
      if (now >= nextRss) {
        rss.push({ x: (now - began) / 60_000, y: residentBytes(running.child.pid!) })
        nextRss += 5_000
      }
      slice++
      if (opening === undefined && slice * perSlice >= INSTANCES) opening = openStreams()
      // On schedule, whatever a slice took to send.
      await sleep(Math.max(0, began + slice * SLICE_MS - Date.now()))
    }
    // Answers still under way.
    await sleep(2_000)
    await opening
    const afterFirstMinute = rss.filter((point) => point.x >= 1)
    return {
      store,
      minutes,
      sent,
      heartbeats,
      lateness: distribution(late),
      panelFetches,
      failed,
      firstFailure,
      falseDown,
      rssStart: rss[0]?.y ?? Number.NaN,
      rssEnd: rss.at(-1)?.y ?? Number.NaN,
      rssSlope: slope(afterFirstMinute),
      loop,
      streamsOpen,
      refusals
    }
  } finally {
    for (const stream of streams) stream.destroy()
    agent.destroy()
    streamAgent.destroy()
    await stopAll([server])
  }
}

const MB = 1024 * 1024

/**
 * A fleet at rest for `BENCH_SOAK_MINUTES`: 10 000 instances in 1 000 services heartbeating every
 * 10 s (a tenth with a body that changes every time), 200 event stream subscribers, the panel
 * overview every 5 s; once with the memory store, once with Redis. Not part of the full run.
 */
export const soakSuite: Suite = {
  name: 'soak',
  summary: `${INSTANCES} instances heartbeating every 10 s, ${SUBSCRIBERS} subscribers, the panel every 5 s, BENCH_SOAK_MINUTES per store`,
  inFullRun: false,
  async run ({ config, log }) {
    const runs: SoakRun[] = []
    const errors: string[] = []
    for (const [store, args] of [['memory', []], ['Redis', ['--store', REDIS_URL, '--store-prefix', `luna-bench:${randomUUID()}:`]]] as const) {
      try {
        runs.push(await soak(store, [...args], config.soakMinutes, log))
      } catch (error) {
        errors.push(`${store}: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
    const figures: Figure[] = []
    const rows: string[][] = []
    for (const run of runs) {
      // The first window began before the soak did, while the streams opened.
      const loopP99 = run.loop.slice(1).map((sample) => sample.p99)
      const worst = Math.max(...loopP99)
      figures.push(
        { name: `${run.store}: heartbeats answered of those sent`, value: run.heartbeats / run.sent, unit: 'ratio', note: `${run.heartbeats} of ${run.sent}; the load generator sent its slices ${run.lateness.p50.toFixed(0)} ms late at the median, ${run.lateness.p99.toFixed(0)} ms at the p99` },
        { name: `${run.store}: failed requests`, value: run.failed, unit: 'count', target: { op: '<', value: 1 }, ...(run.firstFailure === undefined ? {} : { note: run.firstFailure }) },
        { name: `${run.store}: false DOWN (status timeout events)`, value: run.falseDown, unit: 'count', target: { op: '<', value: 1 } },
        { name: `${run.store}: RSS slope after the first minute`, value: run.rssSlope, unit: 'bytes/min', note: `${(run.rssStart / MB).toFixed(0)} MB at start, ${(run.rssEnd / MB).toFixed(0)} MB at the end` },
        { name: `${run.store}: event-loop delay p99, worst 5 s window`, value: worst, unit: 'ms' }
      )
      rows.push([run.store, String(run.minutes), `${run.heartbeats} of ${run.sent}`, String(run.panelFetches), String(run.failed), String(run.falseDown),
        `${(run.rssSlope / MB).toFixed(2)} MB/min`, `${worst.toFixed(1)} ms`, `${run.streamsOpen} of ${SUBSCRIBERS} open at the end, ${run.refusals} refused (503) and retried`])
    }
    const tables: Table[] = [{
      title: 'soak',
      header: ['store', 'minutes', 'heartbeats answered', 'panel fetches', 'failed', 'false DOWN', 'RSS slope', 'loop delay p99', 'subscribers'],
      rows
    }]
    for (const error of errors) figures.push({ name: 'a soak failed', value: Number.NaN, unit: 'count', valid: false, note: error })
    return { figures, tables, data: { runs, errors } }
  }
}
