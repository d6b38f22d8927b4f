import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { compare, roundsTable, type LoadTarget } from '../load.js'
import { instances } from '../payload.js'
import { startLuna, stopAll, type ServerProcess } from '../processes.js'
import { checkHeartbeat, deregisterAll, HEARTBEAT_HEADERS, heartbeatRequests, registerAll } from '../registration.js'
import type { Figure } from '../report.js'
import type { Suite } from '../suite.js'

const REDIS_URL = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

/** The process id of a redis-server on this machine, to read its CPU time; undefined if none is found. */
function localRedisPid (): number | undefined {
  if (!/^redis:\/\/(127\.0\.0\.1|localhost)[:/]/.test(`${REDIS_URL}/`)) return undefined
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'redis-server') return Number(entry)
    } catch {}
  }
  return undefined
}

/**
 * The same heartbeat load against luna-server with the Redis store (A) and with the memory store
 * (B), alternating rounds. Each run writes under a key prefix of its own.
 */
export const redis: Suite = {
  name: 'redis',
  summary: `PUT heartbeats: luna-server with the Redis store (${REDIS_URL}) against the memory store, A/B rounds`,
  inFullRun: true,
  async run ({ config, log }) {
    let withRedis: ServerProcess | undefined
    let inMemory: ServerProcess | undefined
    const fleet = instances(config.instances, Math.max(1, Math.round(config.instances / 10)))
    try {
      withRedis = await startLuna({ name: 'luna-server (Redis)', args: ['--store', REDIS_URL, '--store-prefix', `luna-bench:${randomUUID()}:`] })
      inMemory = await startLuna({ name: 'luna-server (memory)' })
      log(`  registering ${fleet.length} instances on each`)
      await registerAll(withRedis.url, fleet)
      await registerAll(inMemory.url, fleet)
      await checkHeartbeat(withRedis.url, fleet[0]!, 'luna-server (Redis)')
      const requests = heartbeatRequests(fleet)
      const target = (label: string, server: ServerProcess, companionPid?: number): LoadTarget =>
        ({ label, url: server.url, method: 'PUT', headers: HEARTBEAT_HEADERS, requests, pid: server.child.pid, companionPid })
      const redisPid = localRedisPid()
      const result = await compare(target('Redis store', withRedis, redisPid), target('memory store', inMemory), config, log)
      const valid = result.a.failures === 0 && result.b.failures === 0
      const figures: Figure[] = [
        { name: 'Redis store heartbeats', value: result.a.rps, unit: 'req/s', valid: result.a.failures === 0 },
        { name: 'Redis store p99', value: result.a.p99, unit: 'ms', valid: result.a.failures === 0 },
        { name: 'memory store heartbeats', value: result.b.rps, unit: 'req/s', valid: result.b.failures === 0 },
        {
          name: 'Redis / memory',
          value: result.ratio,
          unit: 'ratio',
          target: { op: '>=', value: 0.75 },
          valid,
          note: `per round ${result.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ')}`
        },
        { name: 'luna-server CPU per request, Redis store', value: result.a.cpuPerRequest, unit: 'µs', valid },
        { name: 'redis-server CPU per request', value: result.a.companionCpuPerRequest, unit: 'µs', valid, note: redisPid === undefined ? 'no local redis-server found' : `pid ${redisPid}` },
        { name: 'luna-server CPU per request, memory store', value: result.b.cpuPerRequest, unit: 'µs', valid }
      ]
      return {
        figures,
        tables: [roundsTable(`${config.connections} connections, ${config.duration} s rounds, ${fleet.length} instances`, result)],
        data: { redis: REDIS_URL, comparison: result }
      }
    } finally {
      // Deregistering every instance leaves no key of this run behind in the shared Redis.
      if (withRedis !== undefined) await deregisterAll(withRedis.url, fleet).catch(() => {})
      await stopAll([withRedis, inMemory])
    }
  }
}
