import { readFileSync } from 'node:fs'
import autocannon, { type AutocannonRequest } from 'autocannon'
import type { BenchConfig } from './config.js'
import type { Table } from './report.js'
import { median } from './stats.js'

export interface LoadResult {
  /** Mean completed requests per second. */
  rps: number
  /** Milliseconds. */
  p50: number
  p99: number
  total: number
  non2xx: number
  errors: number
  timeouts: number
  /** Microseconds of the server's CPU (user + system) per completed request; NaN when unknown. */
  cpuPerRequest: number
  /** The same for the target's companion process (a Redis the server uses); NaN when none. */
  companionCpuPerRequest: number
}

export interface LoadTarget {
  label: string
  url: string
  /** Each connection cycles through these. */
  requests: AutocannonRequest[]
  headers?: Record<string, string>
  method?: string
  /** The server's process id, to read its CPU time from /proc: unlike requests/s, CPU per request hardly moves with what else the machine runs. */
  pid?: number
  /** A process that works for the server on every request (its Redis), read the same way. */
  companionPid?: number
}

/** User + system CPU of a process, in microseconds, from /proc (Linux); NaN elsewhere. */
export function cpuTime (pid: number | undefined): number {
  if (pid === undefined) return Number.NaN
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return Number.NaN
  }
}

export async function load (target: LoadTarget, connections: number, duration: number): Promise<LoadResult> {
  const cpuBefore = cpuTime(target.pid)
  const companionBefore = cpuTime(target.companionPid)
  const result = await autocannon({
    url: target.url,
    connections,
    duration,
    pipelining: 1,
    timeout: 10,
    method: target.method ?? 'GET',
    headers: target.headers ?? {},
    requests: target.requests
  })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    cpuPerRequest: (cpuTime(target.pid) - cpuBefore) / result.requests.total,
    companionCpuPerRequest: (cpuTime(target.companionPid) - companionBefore) / result.requests.total
  }
}

export interface Round extends LoadResult {
  round: number
  side: 'A' | 'B'
  label: string
}

export interface SideSummary {
  label: string
  /** Medians over the measured rounds. */
  rps: number
  p50: number
  p99: number
  /** Microseconds of server CPU per request, median over the rounds. */
  cpuPerRequest: number
  /** The same for its companion process; NaN when none. */
  companionCpuPerRequest: number
  /** Requests that were not answered with a 2xx, errors and timeouts, over every round. */
  failures: number
}

export interface Comparison {
  a: SideSummary
  b: SideSummary
  /** Median A requests/s over median B requests/s. */
  ratio: number
  /** A/B of each round, in round order. */
  roundRatios: number[]
  rounds: Round[]
  warmup: LoadResult[]
}

function summarise (label: string, rounds: Round[]): SideSummary {
  return {
    label,
    rps: median(rounds.map((round) => round.rps)),
    p50: median(rounds.map((round) => round.p50)),
    p99: median(rounds.map((round) => round.p99)),
    cpuPerRequest: median(rounds.map((round) => round.cpuPerRequest)),
    companionCpuPerRequest: median(rounds.map((round) => round.companionCpuPerRequest)),
    failures: rounds.reduce((sum, round) => sum + round.non2xx + round.errors + round.timeouts, 0)
  }
}

/**
 * Warms both targets up, then measures them in alternating rounds (A B, B A, A B, …) with the
 * same connections and duration, so drifting load from elsewhere on the machine falls on both.
 */
export async function compare (a: LoadTarget, b: LoadTarget, config: BenchConfig, log: (line: string) => void): Promise<Comparison> {
  const warmup: LoadResult[] = []
  if (config.warmup > 0) {
    for (const target of [a, b]) {
      log(`  warm-up ${target.label}: ${config.warmup} s`)
      warmup.push(await load(target, config.connections, config.warmup))
    }
  }
  const rounds: Round[] = []
  for (let round = 1; round <= config.rounds; round++) {
    const order: Array<['A' | 'B', LoadTarget]> = round % 2 === 1 ? [['A', a], ['B', b]] : [['B', b], ['A', a]]
    for (const [side, target] of order) {
      const result = await load(target, config.connections, config.duration)
      log(`  round ${round} ${target.label}: ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms` +
        (result.non2xx + result.errors > 0 ? `, ${result.non2xx} non-2xx, ${result.errors} errors` : ''))
      rounds.push({ round, side, label: target.label, ...result })
    }
  }
  const aRounds = rounds.filter((round) => round.side === 'A')
  const bRounds = rounds.filter((round) => round.side === 'B')
  const summaryA = summarise(a.label, aRounds)
  const summaryB = summarise(b.label, bRounds)
  return {
    a: summaryA,
    b: summaryB,
    ratio: summaryA.rps / summaryB.rps,
    roundRatios: aRounds.map((round, index) => round.rps / (bRounds[index]?.rps ?? Number.NaN)),
    rounds,
    warmup
  }
}

/** The measured rounds, one row each, then the per-round ratios. */
export function roundsTable (title: string, comparison: Comparison): Table {
  const rows = comparison.rounds.map((round) => [
    String(round.round),
    `${round.side} ${round.label}`,
    Math.round(round.rps).toLocaleString('en-US'),
    `${round.p50} ms`,
    `${round.p99} ms`,
    Number.isNaN(round.cpuPerRequest) ? '–' : `${Math.round(round.cpuPerRequest)} µs`,
    String(round.total),
    String(round.non2xx + round.errors + round.timeouts)
  ])
  const ratios = comparison.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ')
  return {
    title: `${title} (A/B per round: ${ratios})`,
    header: ['round', 'server', 'req/s', 'p50', 'p99', 'CPU/request', 'requests', 'failed'],
    rows
  }
}
