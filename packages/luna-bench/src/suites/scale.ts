import { runChild } from '../child.js'
import { request } from '../http.js'
import { AUTHORIZATION, instances, PREFIX } from '../payload.js'
import { residentBytes, startLuna, stopAll, type ServerProcess } from '../processes.js'
import { heartbeatAll, registerAll } from '../registration.js'
import type { Figure, Table } from '../report.js'
import type { ScaleProbeReport } from '../scale-probe.js'
import { distribution, type Distribution } from '../stats.js'
import type { Suite } from '../suite.js'

const LIST_INSTANCES = 10_000
const LIST_SERVICES = 1_000
const PROBE_INSTANCES = 100_000
const PROBE_SERVICES = 1_000
/** Requests timed per page, after two untimed ones. */
const SAMPLES = 11

/** What Chrome sends for a page. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8'

interface PageTiming {
  path: string
  bytes: number
  ms: Distribution
}

async function timePage (baseUrl: string, path: string, accept: string, contentType: string): Promise<PageTiming> {
  const times: number[] = []
  let bytes = 0
  for (let i = 0; i < SAMPLES + 2; i++) {
    const response = await request(`${baseUrl}${path}`, { headers: { authorization: AUTHORIZATION, accept } })
    if (response.status !== 200 || !(response.headers['content-type'] ?? '').startsWith(contentType)) {
      throw new Error(`GET ${path} answered ${response.status} ${response.headers['content-type'] ?? ''}`)
    }
    bytes = response.bytes
    if (i >= 2) times.push(response.ms)
  }
  return { path, bytes, ms: distribution(times) }
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

interface Resident {
  /** Bytes per instance right after every instance registered and sent one heartbeat. */
  loaded: number
  /** Bytes per instance once V8 has given back the heap it grew for the traffic (the lowest seen). */
  settled: number
  /** Seconds after the traffic when `settled` was read. */
  settledAfter: number
}

/** How long the settled figure waits for V8 to give memory back, and how often it looks. */
const SETTLE_SECONDS = 300
const SETTLE_EVERY_SECONDS = 2

/**
 * luna-server as an operator runs it: `count` instances register over real HTTP and send one
 * heartbeat each, then its resident memory is read from /proc every 2 s for five minutes. While
 * requests flow V8 keeps the heap it grew for them; once they stop, its memory reducer gives it
 * back in steps, each started by a watchdog 100 s after the last collection when the process is
 * not idle enough for V8 to start one sooner: the first 90–150 s after the traffic, the second
 * up to 100 s later. The heartbeat timeout is long enough that every instance stays OK meanwhile.
 */
async function residentPerInstance (count: number, services: number, log: (line: string) => void): Promise<Resident> {
  const luna = await startLuna({ name: 'luna-server', args: ['--heartbeat-timeout', '10m'] })
  try {
    const pid = luna.child.pid!
    await sleep(2000)
    const baseline = residentBytes(pid)
    const fleet = instances(count, services)
    log(`  registering ${count} instances in luna-server over HTTP, one heartbeat each`)
    await registerAll(luna.url, fleet)
    await heartbeatAll(luna.url, fleet)
    const loaded = (residentBytes(pid) - baseline) / count
    log(`  ${(loaded / 1024).toFixed(2)} KB per instance; reading it for ${SETTLE_SECONDS} s while the server is quiet`)
    let settled = loaded
    let settledAfter = 0
    for (let seconds = SETTLE_EVERY_SECONDS; seconds <= SETTLE_SECONDS; seconds += SETTLE_EVERY_SECONDS) {
      await sleep(SETTLE_EVERY_SECONDS * 1000)
      const now = (residentBytes(pid) - baseline) / count
      if (now < settled) {
        settled = now
        settledAfter = seconds
      }
    }
    return { loaded, settled, settledAfter }
  } finally {
    await luna.stop()
  }
}

function row (name: string, d: Distribution): string[] {
  return [name, String(d.count), d.p50.toFixed(3), d.p99.toFixed(3), d.max.toFixed(3)]
}

/**
 * 10 000 instances in 1 000 services over HTTP: the services JSON and the panel overview.
 * 100 000 instances in a process of its own: memory per instance and the sweeper's tick.
 */
export const scale: Suite = {
  name: 'scale',
  summary: '10 000 instances: services JSON and panel; 100 000: memory per instance and sweeper tick',
  inFullRun: true,
  async run ({ log }) {
    let luna: ServerProcess | undefined
    let json: PageTiming
    let panel: PageTiming
    try {
      luna = await startLuna({ name: 'luna-server' })
      log(`  registering ${LIST_INSTANCES} instances in ${LIST_SERVICES} services`)
      await registerAll(luna.url, instances(LIST_INSTANCES, LIST_SERVICES))
      json = await timePage(luna.url, `${PREFIX}/services`, 'application/json', 'application/json')
      panel = await timePage(luna.url, `${PREFIX}/services/`, BROWSER_ACCEPT, 'text/html')
      log(`  services JSON ${json.ms.p50.toFixed(1)} ms, panel ${panel.ms.p50.toFixed(1)} ms`)
    } finally {
      await stopAll([luna])
    }

    log(`  registering ${PROBE_INSTANCES} instances in a process of its own`)
    const probe = await runChild<ScaleProbeReport>('./scale-probe.js', [String(PROBE_INSTANCES), String(PROBE_SERVICES)], ['--expose-gc'], 180_000)
    const heapPerInstance = (probe.heapAfter - probe.heapBefore) / probe.instances
    const resident = await residentPerInstance(PROBE_INSTANCES, PROBE_SERVICES, log)
    const timeoutsOk = probe.timeouts === probe.instances

    const figures: Figure[] = [
      { name: `services JSON, ${LIST_INSTANCES / 1000}k instances (median)`, value: json.ms.p50, unit: 'ms', target: { op: '<', value: 50 } },
      { name: 'services JSON size', value: json.bytes, unit: 'bytes' },
      { name: `panel overview, ${LIST_INSTANCES / 1000}k instances (median)`, value: panel.ms.p50, unit: 'ms', target: { op: '<', value: 100 } },
      { name: 'panel overview size', value: panel.bytes, unit: 'bytes', target: { op: '<', value: 1024 * 1024 } },
      {
        name: `resident memory, ${PROBE_INSTANCES / 1000}k instances`,
        value: resident.settled,
        unit: 'bytes/instance',
        target: { op: '<', value: 1536 },
        note: `luna-server over HTTP, read ${resident.settledAfter} s after the traffic; ${(resident.loaded / 1024).toFixed(2)} KB per instance right after it, while V8 still holds the heap it grew for the requests`
      },
      { name: `resident memory right after registering, ${PROBE_INSTANCES / 1000}k instances`, value: resident.loaded, unit: 'bytes/instance' },
      { name: `heap used after a full GC, ${PROBE_INSTANCES / 1000}k instances`, value: heapPerInstance, unit: 'bytes/instance' },
      { name: 'sweeper tick, none expiring (p99)', value: probe.idleTick.p99, unit: 'ms', target: { op: '<', value: 5 } },
      {
        name: 'sweeper tick, 1% expiring (p99)',
        value: probe.expiringTick.p99,
        unit: 'ms',
        target: { op: '<', value: 5 },
        valid: timeoutsOk,
        note: `${probe.expiringTick.count} ticks of ${probe.instances / 100} timeouts each; median ${probe.expiringTick.p50.toFixed(2)} ms, max ${probe.expiringTick.max.toFixed(2)} ms` +
          (timeoutsOk ? '' : `; saw ${probe.timeouts} timeouts, expected ${probe.instances}`)
      },
      {
        name: 'sweeper tick CPU, 1% expiring (p99)',
        value: probe.expiringTickCpu.p99,
        unit: 'ms',
        target: { op: '<', value: 5 },
        valid: timeoutsOk,
        note: `CPU time of the same ticks, which other processes on the machine do not stretch; median ${probe.expiringTickCpu.p50.toFixed(2)} ms`
      },
      {
        name: 'sweeper tick, longest event-loop block, 1% expiring (p99)',
        value: probe.expiringTickBlock.p99,
        unit: 'ms',
        valid: timeoutsOk,
        note: `what a request arriving during a tick waits at most; median ${probe.expiringTickBlock.p50.toFixed(2)} ms`
      }
    ]
    const tables: Table[] = [{
      title: 'timings in ms',
      header: ['measure', 'samples', 'p50', 'p99', 'max'],
      rows: [
        row(`GET ${json.path} (${json.bytes} bytes)`, json.ms),
        row(`GET ${panel.path}, browser (${panel.bytes} bytes)`, panel.ms),
        row(`sweep(), ${PROBE_INSTANCES} instances, none expiring`, probe.idleTick),
        row(`sweep(), ${PROBE_INSTANCES} instances, 1% expiring`, probe.expiringTick),
        row('  its CPU time', probe.expiringTickCpu),
        row('  its longest event-loop block', probe.expiringTickBlock)
      ]
    }]
    return { figures, tables, data: { json, panel, probe, resident } }
  }
}
