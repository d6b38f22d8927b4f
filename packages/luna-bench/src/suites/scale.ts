import { runChild } from '../child.js'
import { request } from '../http.js'
import { AUTHORIZATION, instances, PREFIX } from '../payload.js'
import { startLuna, stopAll, type ServerProcess } from '../processes.js'
import { registerAll } from '../registration.js'
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
    const rssPerInstance = (probe.rssAfter - probe.rssBefore) / probe.instances
    const heapPerInstance = (probe.heapAfter - probe.heapBefore) / probe.instances
    const timeoutsOk = probe.timeouts === probe.instances

    const figures: Figure[] = [
      { name: `services JSON, ${LIST_INSTANCES / 1000}k instances (median)`, value: json.ms.p50, unit: 'ms', target: { op: '<', value: 50 } },
      { name: 'services JSON size', value: json.bytes, unit: 'bytes' },
      { name: `panel overview, ${LIST_INSTANCES / 1000}k instances (median)`, value: panel.ms.p50, unit: 'ms', target: { op: '<', value: 100 } },
      { name: 'panel overview size', value: panel.bytes, unit: 'bytes', target: { op: '<', value: 1024 * 1024 } },
      { name: `resident memory, ${PROBE_INSTANCES / 1000}k instances`, value: rssPerInstance, unit: 'bytes/instance', target: { op: '<', value: 1536 } },
      { name: `heap used, ${PROBE_INSTANCES / 1000}k instances`, value: heapPerInstance, unit: 'bytes/instance' },
      { name: 'sweeper tick, none expiring (p99)', value: probe.idleTick.p99, unit: 'ms', target: { op: '<', value: 5 } },
      {
        name: 'sweeper tick, 1% expiring (p99)',
        value: probe.expiringTick.p99,
        unit: 'ms',
        target: { op: '<', value: 5 },
        valid: timeoutsOk,
        note: `${probe.expiringTick.count} ticks of ${probe.instances / 100} timeouts each; median ${probe.expiringTick.p50.toFixed(2)} ms, max ${probe.expiringTick.max.toFixed(2)} ms` +
          (timeoutsOk ? '' : `; saw ${probe.timeouts} timeouts, expected ${probe.instances}`)
      }
    ]
    const tables: Table[] = [{
      title: 'timings in ms',
      header: ['measure', 'samples', 'p50', 'p99', 'max'],
      rows: [
        row(`GET ${json.path} (${json.bytes} bytes)`, json.ms),
        row(`GET ${panel.path}, browser (${panel.bytes} bytes)`, panel.ms),
        row(`sweep(), ${PROBE_INSTANCES} instances, none expiring`, probe.idleTick),
        row(`sweep(), ${PROBE_INSTANCES} instances, 1% expiring`, probe.expiringTick)
      ]
    }]
    return { figures, tables, data: { json, panel, probe } }
  }
}
