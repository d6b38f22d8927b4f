import type { ClientRequest } from 'node:http'
import { request, sleep } from '../http.js'
import { AUTHORIZATION, instance, instancePath } from '../payload.js'
import { startLuna, stopAll, type ServerProcess } from '../processes.js'
import type { Figure } from '../report.js'
import { subscribe } from '../sse.js'
import { distribution } from '../stats.js'
import type { Suite } from '../suite.js'

const HEARTBEAT_TIMEOUT_MS = 1000
/** Milliseconds between two registrations, so the deadlines fall at every phase of the sweeper's tick. */
const STAGGER_MS = 10
/** How long after the last deadline a missing DOWN counts as never announced. */
const GRACE_MS = 5000

/**
 * A luna-server with a 1 s heartbeat timeout; instances register once and never heartbeat. For each,
 * the time its `status` DOWN event arrives minus its deadline (its last heartbeat, as the server
 * stamped it, plus 1 s). Both clocks are this machine's wall clock.
 */
export const detection: Suite = {
  name: 'detection',
  summary: 'DOWN event time minus heartbeat deadline, 1 s heartbeat timeout, no heartbeats',
  inFullRun: true,
  async run ({ config, log }) {
    let luna: ServerProcess | undefined
    let stream: ClientRequest | undefined
    try {
      luna = await startLuna({ name: 'luna-server', args: ['--heartbeat-timeout', `${HEARTBEAT_TIMEOUT_MS}ms`, '--evict-after', '0'] })
      const deadlines = new Map<string, number>()
      const arrivals = new Map<string, number>()
      let snapshot!: () => void
      const gotSnapshot = new Promise<void>((resolve) => { snapshot = resolve })
      stream = await subscribe(luna.url, (event) => {
        if (event.type === 'snapshot') snapshot()
        if (event.type !== 'status') return
        const arrived = Date.now()
        const data = JSON.parse(event.data) as { instanceId: string, status: string, reason: string }
        if (data.status === 'DOWN' && data.reason === 'timeout' && !arrivals.has(data.instanceId)) arrivals.set(data.instanceId, arrived)
      })
      await gotSnapshot

      const count = config.detectionInstances
      log(`  registering ${count} instances, ${STAGGER_MS} ms apart, never heartbeating`)
      const start = Date.now()
      for (let index = 0; index < count; index++) {
        const wait = start + index * STAGGER_MS - Date.now()
        if (wait > 0) await sleep(wait)
        const probe = instance(index, 20)
        const response = await request(`${luna.url}${instancePath(probe.id)}`, { method: 'POST', headers: { authorization: AUTHORIZATION }, body: probe.body })
        if (response.status !== 201) throw new Error(`POST ${instancePath(probe.id)} answered ${response.status}`)
        const view = JSON.parse(response.body) as { lastHeartbeat: string }
        deadlines.set(probe.id, Date.parse(view.lastHeartbeat) + HEARTBEAT_TIMEOUT_MS)
      }
      const lastDeadline = Math.max(...deadlines.values())
      while (arrivals.size < deadlines.size && Date.now() < lastDeadline + GRACE_MS) await sleep(50)

      const lateness = [...deadlines].flatMap(([id, deadline]) => {
        const arrived = arrivals.get(id)
        return arrived === undefined ? [] : [arrived - deadline]
      })
      const missing = deadlines.size - lateness.length
      const late = distribution(lateness)
      log(`  ${lateness.length} of ${deadlines.size} DOWN events, p99 ${late.p99} ms after the deadline`)
      const note = `${lateness.length} of ${deadlines.size} announced` +
        (missing > 0 ? `; ${missing} never within ${GRACE_MS / 1000} s` : '') +
        `; earliest ${late.min} ms (never before the deadline if ≥ 0)`
      const figures: Figure[] = [
        { name: 'DOWN after deadline, p50', value: late.p50, unit: 'ms' },
        { name: 'DOWN after deadline, p99', value: missing > 0 ? Number.POSITIVE_INFINITY : late.p99, unit: 'ms', target: { op: '<', value: 1000 }, note },
        { name: 'DOWN after deadline, max', value: late.max, unit: 'ms' }
      ]
      return { figures, data: { instances: count, staggerMs: STAGGER_MS, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, missing, lateness: late } }
    } finally {
      stream?.destroy()
      await stopAll([luna])
    }
  }
}
