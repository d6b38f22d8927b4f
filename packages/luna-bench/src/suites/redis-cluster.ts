import { compare, roundsTable, type LoadTarget } from '../load.js'
import { instances } from '../payload.js'
import { startLuna, stopAll, type ServerProcess } from '../processes.js'
import { startRedisCluster, startSingleRedis, type RedisServers } from '../redis-servers.js'
import { checkHeartbeat, HEARTBEAT_HEADERS, heartbeatRequests, registerAll } from '../registration.js'
import type { Figure } from '../report.js'
import type { Suite } from '../suite.js'

/**
 * The same heartbeat load against luna-server on a Redis Cluster of three masters (A) and on one
 * Redis (B), both started by the bench on this machine, alternating rounds.
 */
export const redisCluster: Suite = {
  name: 'redis-cluster',
  summary: 'PUT heartbeats: luna-server on a 3-master Redis Cluster against one Redis, both local, A/B rounds',
  inFullRun: true,
  async run ({ config, log }) {
    let cluster: RedisServers | undefined
    let single: RedisServers | undefined
    let onCluster: ServerProcess | undefined
    let onSingle: ServerProcess | undefined
    const fleet = instances(config.instances, Math.max(1, Math.round(config.instances / 10)))
    try {
      cluster = await startRedisCluster(3)
      single = await startSingleRedis()
      onCluster = await startLuna({ name: 'luna-server (Redis Cluster)', args: ['--store', cluster.url] })
      onSingle = await startLuna({ name: 'luna-server (one Redis)', args: ['--store', single.url] })
      log(`  registering ${fleet.length} instances on each`)
      await registerAll(onCluster.url, fleet)
      await registerAll(onSingle.url, fleet)
      await checkHeartbeat(onCluster.url, fleet[0]!, 'luna-server (Redis Cluster)')
      const requests = heartbeatRequests(fleet)
      const target = (label: string, server: ServerProcess): LoadTarget =>
        ({ label, url: server.url, method: 'PUT', headers: HEARTBEAT_HEADERS, requests, pid: server.child.pid })
      const result = await compare(target('Redis Cluster', onCluster), target('one Redis', onSingle), config, log)
      const valid = result.a.failures === 0 && result.b.failures === 0
      const figures: Figure[] = [
        { name: 'Redis Cluster heartbeats', value: result.a.rps, unit: 'req/s', valid: result.a.failures === 0 },
        { name: 'Redis Cluster p99', value: result.a.p99, unit: 'ms', valid: result.a.failures === 0 },
        { name: 'one Redis heartbeats', value: result.b.rps, unit: 'req/s', valid: result.b.failures === 0 },
        {
          name: 'Cluster / one Redis',
          value: result.ratio,
          unit: 'ratio',
          valid,
          note: `per round ${result.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ')}`
        },
        { name: 'luna-server CPU per request, Redis Cluster', value: result.a.cpuPerRequest, unit: 'µs', valid },
        { name: 'luna-server CPU per request, one Redis', value: result.b.cpuPerRequest, unit: 'µs', valid }
      ]
      return {
        figures,
        tables: [roundsTable(`${config.connections} connections, ${config.duration} s rounds, ${fleet.length} instances`, result)],
        data: { comparison: result }
      }
    } finally {
      await stopAll([onCluster, onSingle])
      await cluster?.stop()
      await single?.stop()
    }
  }
}
