import { mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { summariseProfile, type ProfileSummary } from '../cpuprofile.js'
import type { BenchConfig } from '../config.js'
import { load, type LoadResult } from '../load.js'
import { instances } from '../payload.js'
import { startCeiling, startLuna, type ServerProcess } from '../processes.js'
import { changingHeartbeatRequests, checkHeartbeat, HEARTBEAT_HEADERS, heartbeatRequests, registerAll } from '../registration.js'
import type { Figure, Table } from '../report.js'
import type { Suite } from '../suite.js'

interface Profiled {
  label: string
  file: string
  load: LoadResult
  summary: ProfileSummary
}

/** Heartbeat load against a server started with `node --cpu-prof`, then its profile summarised. */
async function profileUnderLoad (label: string, start: (nodeArgs: string[]) => Promise<ServerProcess>, register: boolean,
  bodies: Bodies, config: BenchConfig, dir: string, log: (line: string) => void): Promise<Profiled> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  let server: ServerProcess | undefined = await start(['--cpu-prof', '--cpu-prof-dir', dir])
  try {
    const fleet = instances(config.instances, Math.max(1, Math.round(config.instances / 10)))
    if (register) await registerAll(server.url, fleet)
    await checkHeartbeat(server.url, fleet[0]!, label)
    const target = { label, url: server.url, method: 'PUT', headers: HEARTBEAT_HEADERS, requests: bodies === 'new' ? changingHeartbeatRequests(fleet) : heartbeatRequests(fleet) }
    if (config.warmup > 0) await load(target, config.connections, config.warmup)
    log(`  profiling ${label}: ${config.duration} s of heartbeats`)
    const result = await load(target, config.connections, config.duration)
    log(`  ${Math.round(result.rps)} req/s under the profiler`)
    // The profile is written when the process exits; both servers exit on SIGTERM.
    const code = await server.stop()
    server = undefined
    const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'))
    if (file === undefined) throw new Error(`${label} exited with code ${code ?? 'null'} and wrote no profile to ${dir}`)
    return { label, file: join(dir, file), load: result, summary: await summariseProfile(join(dir, file)) }
  } finally {
    await server?.stop()
  }
}

/** Whether every heartbeat repeats its instance's body, or each brings a new one. */
type Bodies = 'repeated' | 'new'

const percent = (share: number): string => `${(share * 100).toFixed(1)}%`

/**
 * luna-server, then the ceiling, each under the heartbeat load with `node --cpu-prof`: where
 * luna-server spends its time, and what it spends beyond the ceiling. Not part of the full run.
 */
function profileSuite (name: string, bodies: Bodies, summary: string): Suite {
  return {
    name,
    summary,
    inFullRun: false,
    async run ({ config, log, resultsDir }) {
      const luna = await profileUnderLoad('luna-server', async (nodeArgs) => await startLuna({ name: 'luna-server --cpu-prof', nodeArgs }),
        true, bodies, config, join(resultsDir, `${name}-luna-server`), log)
      const ceiling = await profileUnderLoad('ceiling', startCeiling, false, bodies, config, join(resultsDir, `${name}-ceiling`), log)
      const perRequest = (profiled: Profiled, ms: number): string => `${(ms * 1000 / Math.max(1, profiled.load.total)).toFixed(1)} µs`
      const places = new Map<string, { luna: number, ceiling: number }>()
      for (const place of luna.summary.places) places.set(place.name, { luna: place.ms, ceiling: 0 })
      for (const place of ceiling.summary.places) places.set(place.name, { luna: places.get(place.name)?.luna ?? 0, ceiling: place.ms })
      const tables: Table[] = [
        {
          title: `luna-server, top self time: ${(luna.summary.busyMs / 1000).toFixed(1)} s busy, ${(luna.summary.idleMs / 1000).toFixed(1)} s idle (${luna.file})`,
          header: ['self', 'share', 'per request', 'function', 'package'],
          rows: luna.summary.functions.map((fn) => [`${fn.ms.toFixed(0)} ms`, percent(fn.share), perRequest(luna, fn.ms), fn.name, fn.where])
        },
        {
          title: 'self time per request by package, luna-server and ceiling',
          header: ['package', 'luna-server', 'ceiling'],
          rows: [
            ['(all busy time)', perRequest(luna, luna.summary.busyMs), perRequest(ceiling, ceiling.summary.busyMs)],
            ...[...places].map(([name, ms]) => [name, perRequest(luna, ms.luna), perRequest(ceiling, ms.ceiling)])
          ]
        }
      ]
      const figures: Figure[] = [
        { name: 'luna-server under the profiler', value: luna.load.rps, unit: 'req/s', valid: luna.load.non2xx + luna.load.errors === 0 },
        { name: 'ceiling under the profiler', value: ceiling.load.rps, unit: 'req/s', valid: ceiling.load.non2xx + ceiling.load.errors === 0 }
      ]
      return { figures, tables, data: { luna, ceiling } }
    }
  }
}

export const profile = profileSuite('profile', 'repeated',
  'luna-server and the ceiling under heartbeat load with node --cpu-prof: self time by function and package')

export const profileNewBodies = profileSuite('profile-new-bodies', 'new',
  'the same, with a new body in every heartbeat (a counter in its metadata)')
