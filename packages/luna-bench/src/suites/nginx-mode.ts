import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { request, sleep } from '../http.js'
import { compare, roundsTable, type LoadTarget } from '../load.js'
import { NGINX, nginxAvailable, nginxWorker, prepareNginxMode } from '../nginx.js'
import { AUTHORIZATION } from '../payload.js'
import { startLuna, startProcess, stopAll, type ServerProcess } from '../processes.js'
import type { Figure } from '../report.js'
import { median } from '../stats.js'
import type { Suite } from '../suite.js'

const UPSTREAM_SERVER = fileURLToPath(new URL('../upstream-server.js', import.meta.url))
const PATH = '/gateway/services/orders/items/1?x=1'
/** Services registered one at a time, each timed from its registration to nginx routing it. */
const PROBES = 5

async function register (luna: ServerProcess, name: string, upstream: ServerProcess): Promise<void> {
  const port = new URL(upstream.url).port
  const answer = await request(`${luna.url}/registry/v1/instances/${name}:127.0.0.1:${port}`, {
    method: 'POST',
    headers: { authorization: AUTHORIZATION },
    body: JSON.stringify({ name, version: '1.0.0', status: 'OK', url: `${upstream.url}/` })
  })
  if (answer.status !== 201) throw new Error(`registering ${name} answered ${answer.status}: ${answer.body}`)
}

/** Milliseconds from `since` until `url` answers 200, polled every 5 ms. */
async function routedAfter (url: string, since: number): Promise<number> {
  for (;;) {
    const answer = await request(url).catch(() => undefined)
    if (answer?.status === 200) return performance.now() - since
    if (performance.now() - since > 10_000) throw new Error(`${url} was not routed within 10 s`)
    await sleep(5)
  }
}

/**
 * The data plane handed to nginx: luna-server in nginx mode writes the upstreams, nginx carries
 * the requests. GET through that nginx against GET through luna-server's own gateway, to the
 * same upstream, alternating rounds; then how long a registration takes to be routed by nginx.
 */
export const nginxMode: Suite = {
  name: 'nginx-mode',
  summary: 'GET through nginx in nginx mode against luna-server\'s own gateway, same upstream, A/B rounds; registration to routed by nginx',
  inFullRun: true,
  async run ({ config, log }) {
    if (!nginxAvailable()) throw new Error(`nginx not found at ${NGINX} (BENCH_NGINX to point at it)`)
    let upstream: ServerProcess | undefined
    let luna: ServerProcess | undefined
    let nginx: ServerProcess | undefined
    try {
      upstream = await startProcess('upstream', [], UPSTREAM_SERVER, [], '/', (status) => status === 200)
      const mode = await prepareNginxMode()
      luna = await startLuna({
        name: 'luna-server',
        args: ['--heartbeat-timeout', '1d', '--nginx-config', mode.include, '--nginx-listen', mode.listen, '--nginx-test', mode.test, '--nginx-reload', mode.reload]
      })
      nginx = await mode.start()
      await register(luna, 'orders', upstream)
      await routedAfter(`${nginx.url}${PATH}`, performance.now())
      const viaNginx = await request(`${nginx.url}${PATH}`)
      const viaLuna = await request(`${luna.url}${PATH}`)
      if (viaNginx.body !== viaLuna.body) throw new Error(`nginx answered ${viaNginx.body}, luna-server ${viaLuna.body}`)

      log(`  registration to routed by nginx: ${PROBES} services, one at a time`)
      const delays: number[] = []
      for (let i = 0; i < PROBES; i++) {
        const since = performance.now()
        await register(luna, `probe-${i}`, upstream)
        delays.push(await routedAfter(`${nginx.url}/gateway/services/probe-${i}/`, since))
      }

      const target = (label: string, server: ServerProcess, pid: number | undefined): LoadTarget =>
        ({ label, url: server.url, requests: [{ path: PATH }], pid })
      const result = await compare(target('nginx (nginx mode)', nginx, nginxWorker(nginx.child.pid)), target('luna-server gateway', luna, luna.child.pid), config, log)
      const valid = result.a.failures === 0 && result.b.failures === 0
      const figures: Figure[] = [
        { name: 'nginx in nginx mode', value: result.a.rps, unit: 'req/s', valid: result.a.failures === 0 },
        { name: 'luna-server gateway', value: result.b.rps, unit: 'req/s', valid: result.b.failures === 0 },
        { name: 'nginx mode / luna-server gateway', value: result.ratio, unit: 'ratio', valid, note: `per round ${result.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ')}` },
        { name: 'nginx in nginx mode p99 under load', value: result.a.p99, unit: 'ms', valid: result.a.failures === 0 },
        { name: 'luna-server gateway p99 under load', value: result.b.p99, unit: 'ms', valid: result.b.failures === 0 },
        { name: 'nginx worker CPU per request', value: result.a.cpuPerRequest, unit: 'µs', valid: result.a.failures === 0 },
        { name: 'luna-server CPU per request', value: result.b.cpuPerRequest, unit: 'µs', valid: result.b.failures === 0 },
        { name: 'registration to routed by nginx, median', value: median(delays), unit: 'ms', target: { op: '<', value: 1000 }, note: `${PROBES} registrations: ${delays.map((delay) => Math.round(delay)).join(', ')} ms` },
        { name: 'registration to routed by nginx, slowest', value: Math.max(...delays), unit: 'ms', target: { op: '<', value: 1000 } }
      ]
      return {
        figures,
        tables: [roundsTable(`GET ${PATH}, ${config.connections} connections, ${config.duration} s rounds`, result)],
        data: { connections: config.connections, duration: config.duration, warmup: config.warmup, comparison: result, delays }
      }
    } finally {
      await stopAll([luna, nginx, upstream])
    }
  }
}
