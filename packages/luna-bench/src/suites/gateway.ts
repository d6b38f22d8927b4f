import { fileURLToPath } from 'node:url'
import { request } from '../http.js'
import { sequentialLatency } from '../latency.js'
import { compare, roundsTable, type LoadTarget } from '../load.js'
import { nginxAvailable, startNginx } from '../nginx.js'
import { AUTHORIZATION } from '../payload.js'
import { startLuna, startProcess, stopAll, type ServerProcess } from '../processes.js'
import type { Figure, Table } from '../report.js'
import { median } from '../stats.js'
import type { Suite } from '../suite.js'

const UPSTREAM_SERVER = fileURLToPath(new URL('../upstream-server.js', import.meta.url))
const PROXY_CEILING = fileURLToPath(new URL('../proxy-ceiling-server.js', import.meta.url))
const PATH = '/gateway/services/orders/items/1?x=1'
/** Sequential requests per latency round, after a few untimed ones. */
const LATENCY_REQUESTS = 2000
const LATENCY_WARMUP = 200

/** The same answer from every path to the upstream, or an error naming the one that differs. */
async function checkSame (servers: Array<{ label: string, url: string }>): Promise<void> {
  const answers = await Promise.all(servers.map(async (server) => ({ ...server, answer: await request(server.url) })))
  for (const { label, answer } of answers) {
    if (answer.status !== 200 || answer.body !== answers[0]!.answer.body) {
      throw new Error(`${label} answered ${answer.status} ${answer.body.slice(0, 200)}, not ${answers[0]!.answer.body}`)
    }
  }
}

/**
 * GET through luna-server's gateway (registry and gateway in one process, the upstream
 * registered) against bare Fastify + @fastify/reply-from to the same upstream, alternating rounds;
 * then nginx against the same ceiling; then each one's added latency over the upstream alone, by
 * sequential requests.
 */
export const gateway: Suite = {
  name: 'gateway',
  summary: 'GET through luna-server\'s gateway against bare Fastify + @fastify/reply-from, A/B rounds; nginx as the anchor; added latency',
  inFullRun: true,
  async run ({ config, log }) {
    let upstream: ServerProcess | undefined
    let luna: ServerProcess | undefined
    let ceiling: ServerProcess | undefined
    let nginx: ServerProcess | undefined
    try {
      upstream = await startProcess('upstream', [], UPSTREAM_SERVER, [], '/', (status) => status === 200)
      const upstreamPort = new URL(upstream.url).port
      luna = await startLuna({ name: 'luna-server', args: ['--heartbeat-timeout', '1d'] })
      const registered = await request(`${luna.url}/registry/v1/instances/orders:127.0.0.1:${upstreamPort}`, {
        method: 'POST',
        headers: { authorization: AUTHORIZATION },
        body: JSON.stringify({ name: 'orders', version: '1.0.0', status: 'OK', url: `${upstream.url}/` })
      })
      if (registered.status !== 201) throw new Error(`registering the upstream answered ${registered.status}: ${registered.body}`)
      ceiling = await startProcess('reply-from', [], PROXY_CEILING, ['--upstream', upstream.url], '/gateway/services/orders/', (status) => status === 200)
      if (nginxAvailable()) nginx = await startNginx(Number(upstreamPort))
      else log(`  nginx not found at ${process.env['BENCH_NGINX'] ?? '/usr/sbin/nginx'}: no anchor`)

      const paths = [
        { label: 'upstream', url: `${upstream.url}/items/1?x=1` },
        { label: 'luna-server', url: `${luna.url}${PATH}` },
        { label: 'reply-from', url: `${ceiling.url}${PATH}` },
        ...(nginx === undefined ? [] : [{ label: 'nginx', url: `${nginx.url}${PATH}` }])
      ]
      await checkSame(paths)

      const target = (label: string, server: ServerProcess): LoadTarget =>
        ({ label, url: server.url, requests: [{ path: PATH }], pid: server.child.pid })
      const result = await compare(target('luna-server gateway', luna), target('reply-from', ceiling), config, log)
      const anchor = nginx === undefined ? undefined : await compare(target('nginx', nginx), target('reply-from', ceiling), config, log)

      log(`  latency: ${config.rounds} rounds of ${LATENCY_REQUESTS} sequential requests each`)
      const latency = new Map<string, Array<{ p50: number, p99: number, failures: number }>>(paths.map((path) => [path.label, []]))
      for (let round = 0; round < config.rounds; round++) {
        const order = round % 2 === 0 ? paths : [...paths].reverse()
        for (const path of order) latency.get(path.label)!.push(await sequentialLatency(path.url, LATENCY_REQUESTS, LATENCY_WARMUP))
      }
      const typical = (label: string, key: 'p50' | 'p99'): number => median(latency.get(label)!.map((round) => round[key]))
      const added = (label: string, key: 'p50' | 'p99'): number => typical(label, key) - typical('upstream', key)
      const latencyValid = (label: string): boolean => latency.get(label)!.every((round) => round.failures === 0) &&
        latency.get('upstream')!.every((round) => round.failures === 0)

      const valid = result.a.failures === 0 && result.b.failures === 0
      const figures: Figure[] = [
        { name: 'luna-server gateway', value: result.a.rps, unit: 'req/s', valid: result.a.failures === 0 },
        { name: 'reply-from ceiling', value: result.b.rps, unit: 'req/s', valid: result.b.failures === 0 },
        {
          name: 'luna-server gateway / reply-from',
          value: result.ratio,
          unit: 'ratio',
          target: { op: '>=', value: 0.85 },
          valid,
          note: `per round ${result.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ')}`
        },
        { name: 'luna-server gateway p99 under load', value: result.a.p99, unit: 'ms', valid: result.a.failures === 0 },
        { name: 'reply-from p99 under load', value: result.b.p99, unit: 'ms', valid: result.b.failures === 0 },
        { name: 'luna-server gateway CPU per request', value: result.a.cpuPerRequest, unit: 'µs', valid: result.a.failures === 0 },
        { name: 'reply-from CPU per request', value: result.b.cpuPerRequest, unit: 'µs', valid: result.b.failures === 0 },
        {
          name: 'reply-from / luna-server gateway CPU per request',
          value: result.b.cpuPerRequest / result.a.cpuPerRequest,
          unit: 'ratio',
          valid,
          note: 'the throughput ratio a machine with nothing else running would show'
        }
      ]
      if (anchor !== undefined) {
        const anchorValid = anchor.a.failures === 0 && anchor.b.failures === 0
        figures.push(
          { name: 'nginx', value: anchor.a.rps, unit: 'req/s', valid: anchor.a.failures === 0 },
          { name: 'nginx / reply-from', value: anchor.ratio, unit: 'ratio', valid: anchorValid, note: `per round ${anchor.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ')}` },
          { name: 'nginx p99 under load', value: anchor.a.p99, unit: 'ms', valid: anchor.a.failures === 0 },
          { name: 'nginx CPU per request', value: anchor.a.cpuPerRequest, unit: 'µs', valid: anchor.a.failures === 0 }
        )
      }
      for (const label of paths.map((path) => path.label).filter((name) => name !== 'upstream')) {
        figures.push(
          { name: `${label} added latency p50`, value: added(label, 'p50') / 1000, unit: 'ms', valid: latencyValid(label), note: 'sequential requests, over the upstream alone' },
          { name: `${label} added latency p99`, value: added(label, 'p99') / 1000, unit: 'ms', valid: latencyValid(label) }
        )
      }
      const latencyTable: Table = {
        title: `sequential requests, one connection, ${LATENCY_REQUESTS} per round (median of the rounds)`,
        header: ['path', 'p50', 'p99', 'added p50', 'added p99'],
        rows: paths.map((path) => [
          path.label,
          `${Math.round(typical(path.label, 'p50'))} µs`,
          `${Math.round(typical(path.label, 'p99'))} µs`,
          path.label === 'upstream' ? '' : `${Math.round(added(path.label, 'p50'))} µs`,
          path.label === 'upstream' ? '' : `${Math.round(added(path.label, 'p99'))} µs`
        ])
      }
      return {
        figures,
        tables: [
          roundsTable(`GET ${PATH}, ${config.connections} connections, ${config.duration} s rounds`, result),
          ...(anchor === undefined ? [] : [roundsTable('nginx against the same ceiling', anchor)]),
          latencyTable
        ],
        data: { connections: config.connections, duration: config.duration, warmup: config.warmup, comparison: result, anchor, latency: Object.fromEntries(latency) }
      }
    } finally {
      await stopAll([luna, ceiling, nginx, upstream])
    }
  }
}
