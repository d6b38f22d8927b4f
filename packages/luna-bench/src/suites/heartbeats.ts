import type { AutocannonRequest } from 'autocannon'
import { compare, roundsTable, type LoadTarget } from '../load.js'
import { instances } from '../payload.js'
import { startCeiling, startLuna, stopAll, type ServerProcess } from '../processes.js'
import { changingHeartbeatRequests, checkHeartbeat, HEARTBEAT_HEADERS, heartbeatRequests, registerAll } from '../registration.js'
import type { Figure } from '../report.js'
import type { Suite } from '../suite.js'

/**
 * Authenticated heartbeats against luna-server (memory store) and against the ceiling, a bare
 * Fastify server that only parses and stores the body, in alternating rounds; then luna-server
 * with its metrics on (the default) against the same with `--metrics off`: what counting costs.
 */
export const heartbeats: Suite = {
  name: 'heartbeats',
  summary: 'PUT heartbeats: luna-server (memory store) against a bare Fastify route, A/B rounds',
  inFullRun: true,
  async run ({ config, log }) {
    let luna: ServerProcess | undefined
    let ceiling: ServerProcess | undefined
    let metered: ServerProcess | undefined
    let unmetered: ServerProcess | undefined
    try {
      luna = await startLuna({ name: 'luna-server' })
      ceiling = await startCeiling()
      const fleet = instances(config.instances, Math.max(1, Math.round(config.instances / 10)))
      log(`  registering ${fleet.length} instances`)
      await registerAll(luna.url, fleet)
      await checkHeartbeat(luna.url, fleet[0]!, 'luna-server')
      await checkHeartbeat(ceiling.url, fleet[0]!, 'ceiling')
      const target = (label: string, server: ServerProcess, requests: AutocannonRequest[], headers: Record<string, string> = HEARTBEAT_HEADERS): LoadTarget =>
        ({ label, url: server.url, method: 'PUT', headers, requests, pid: server.child.pid })
      const same = heartbeatRequests(fleet)
      const result = await compare(target('luna-server', luna, same), target('ceiling', ceiling, same), config, log)
      // The case remembered bodies do nothing for: every heartbeat's body is new (a counter in
      // its metadata), so it is parsed, checked and remembered. The load generator builds each
      // request afresh, for both sides.
      log('  every body new:')
      const changing = changingHeartbeatRequests(fleet)
      const fresh = await compare(target('luna-server', luna, changing), target('ceiling', ceiling, changing), config, log)
      const freshValid = fresh.a.failures === 0 && fresh.b.failures === 0
      // What luna-client sends: the registry answers 204 without the view. The ceiling answers as
      // always; it has no view to leave out.
      log('  Prefer: return=minimal:')
      const minimalHeaders = { ...HEARTBEAT_HEADERS, prefer: 'return=minimal' }
      const minimal = await compare(target('luna-server', luna, same, minimalHeaders), target('ceiling', ceiling, same, minimalHeaders), config, log)
      const minimalValid = minimal.a.failures === 0 && minimal.b.failures === 0
      // Two fresh servers, alike but for their metrics: the first has taken every new body
      // above, and holds more for it.
      await stopAll([luna, ceiling])
      luna = ceiling = undefined
      log('  metrics on against metrics off:')
      metered = await startLuna({ name: 'luna-server' })
      unmetered = await startLuna({ name: 'luna-server --metrics off', args: ['--metrics', 'off'] })
      for (const server of [metered, unmetered]) {
        await registerAll(server.url, fleet)
        await checkHeartbeat(server.url, fleet[0]!, server.name)
      }
      const counting = await compare(target('metrics on', metered, same), target('metrics off', unmetered, same), config, log)
      const countingValid = counting.a.failures === 0 && counting.b.failures === 0
      const bodyBytes = fleet.map((instance) => Buffer.byteLength(instance.body))
      const lunaValid = result.a.failures === 0
      const ceilingValid = result.b.failures === 0
      const figures: Figure[] = [
        { name: 'luna-server heartbeats', value: result.a.rps, unit: 'req/s', valid: lunaValid },
        { name: 'luna-server p50', value: result.a.p50, unit: 'ms', valid: lunaValid },
        { name: 'luna-server p99', value: result.a.p99, unit: 'ms', valid: lunaValid },
        { name: 'ceiling heartbeats', value: result.b.rps, unit: 'req/s', valid: ceilingValid },
        { name: 'ceiling p50', value: result.b.p50, unit: 'ms', valid: ceilingValid },
        { name: 'ceiling p99', value: result.b.p99, unit: 'ms', valid: ceilingValid },
        {
          name: 'luna-server / ceiling',
          value: result.ratio,
          unit: 'ratio',
          target: { op: '>=', value: 0.8 },
          valid: lunaValid && ceilingValid,
          note: `per round ${result.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ')}`
        },
        { name: 'luna-server CPU per request', value: result.a.cpuPerRequest, unit: 'µs', valid: lunaValid },
        { name: 'ceiling CPU per request', value: result.b.cpuPerRequest, unit: 'µs', valid: ceilingValid },
        {
          name: 'ceiling / luna-server CPU per request',
          value: result.b.cpuPerRequest / result.a.cpuPerRequest,
          unit: 'ratio',
          target: { op: '>=', value: 0.8 },
          valid: lunaValid && ceilingValid,
          note: 'the throughput ratio a machine with nothing else running would show'
        },
        {
          name: 'luna-server / ceiling, every body new',
          value: fresh.ratio,
          unit: 'ratio',
          target: { op: '>=', value: 0.8 },
          valid: freshValid,
          note: `per round ${fresh.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ')}; ${Math.round(fresh.a.rps)} against ${Math.round(fresh.b.rps)} req/s`
        },
        { name: 'luna-server CPU per request, every body new', value: fresh.a.cpuPerRequest, unit: 'µs', valid: freshValid },
        { name: 'ceiling CPU per request, every body new', value: fresh.b.cpuPerRequest, unit: 'µs', valid: freshValid },
        {
          name: 'luna-server / ceiling, Prefer: return=minimal',
          value: minimal.ratio,
          unit: 'ratio',
          valid: minimalValid,
          note: `per round ${minimal.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ')}; ${Math.round(minimal.a.rps)} against ${Math.round(minimal.b.rps)} req/s`
        },
        { name: 'luna-server CPU per request, Prefer: return=minimal', value: minimal.a.cpuPerRequest, unit: 'µs', valid: minimalValid },
        {
          name: 'heartbeats, metrics on / off',
          value: counting.ratio,
          unit: 'ratio',
          valid: countingValid,
          note: `per round ${counting.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ')}; ${Math.round(counting.a.rps)} against ${Math.round(counting.b.rps)} req/s`
        },
        { name: 'CPU per request, metrics on', value: counting.a.cpuPerRequest, unit: 'µs', valid: countingValid },
        { name: 'CPU per request, metrics off', value: counting.b.cpuPerRequest, unit: 'µs', valid: countingValid }
      ]
      return {
        figures,
        tables: [
          roundsTable(`${config.connections} connections, ${config.duration} s rounds, ${fleet.length} instances, ` +
            `${Math.min(...bodyBytes)}–${Math.max(...bodyBytes)}-byte bodies`, result),
          roundsTable('every body new', fresh),
          roundsTable('Prefer: return=minimal', minimal),
          roundsTable('metrics on against metrics off', counting)
        ],
        data: {
          connections: config.connections,
          duration: config.duration,
          warmup: config.warmup,
          instances: fleet.length,
          bodyBytes: { min: Math.min(...bodyBytes), max: Math.max(...bodyBytes) },
          comparison: result,
          everyBodyNew: fresh,
          preferMinimal: minimal,
          metricsOnOff: counting
        }
      }
    } finally {
      await stopAll([luna, ceiling, metered, unmetered])
    }
  }
}
