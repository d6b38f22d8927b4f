import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runProcess, type NodeProcess } from './node-process.js'
import { freePort } from './redis-server.js'
import { until } from './until.js'

interface Tap {
  fail: (message: string) => unknown
  skip: (message: string, fn: () => void) => unknown
  teardown: (fn: () => unknown) => void
}

/** Debian's `prometheus` package puts it here. */
export const PROMETHEUS = process.env['LUNA_TEST_PROMETHEUS'] ?? '/usr/bin/prometheus'

/** One series of an instant query's answer. */
export interface Sample {
  metric: Record<string, string>
  value: [number, string]
}

export interface RunningPrometheus {
  /** `http://127.0.0.1:{port}`. */
  url: string
  process: NodeProcess
  /** The series an instant PromQL query finds now. */
  query: (promql: string) => Promise<Sample[]>
  /** Prometheus's view of its targets (`/api/v1/targets`), active ones. */
  targets: () => Promise<Array<{ labels: Record<string, string>, health: string, lastError: string, scrapeUrl: string }>>
}

/** Whether the prometheus binary runs here. */
function havePrometheus (): boolean {
  return spawnSync(PROMETHEUS, ['--version'], { stdio: 'ignore' }).status === 0
}

/**
 * A Prometheus of the test's own, with `config` (YAML) as its configuration, a private data
 * directory and a free port on 127.0.0.1; killed, and its directory removed, when the test
 * ends. Without the binary: `undefined`, after failing the test in CI and skipping it elsewhere.
 */
export async function startPrometheus (t: Tap, config: string): Promise<RunningPrometheus | undefined> {
  if (!havePrometheus()) {
    if (process.env['CI'] === 'true') t.fail(`${PROMETHEUS} is not installed: CI must run this test (apt-get install prometheus)`)
    else t.skip(`${PROMETHEUS} is not installed (apt-get install prometheus)`, () => {})
    return undefined
  }
  const dir = await mkdtemp(join(tmpdir(), 'luna-prometheus-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const configFile = join(dir, 'prometheus.yml')
  await writeFile(configFile, config)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const proc = runProcess(t, PROMETHEUS, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn'
  ], { env: {} })
  await until('Prometheus is ready', async () => {
    if (proc.child.exitCode !== null) throw new Error(`prometheus exited with ${proc.child.exitCode}:\n${proc.output()}`)
    try {
      return (await fetch(`${url}/-/ready`)).ok || undefined
    } catch {
      return undefined
    }
  }, 30_000)
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`)
    const body = await res.json() as { status: string, data: T, error?: string }
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`)
    return body.data
  }
  return {
    url,
    process: proc,
    query: async (promql) => (await api<{ result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`)).result,
    targets: async () => (await api<{ activeTargets: Array<{ labels: Record<string, string>, health: string, lastError: string, scrapeUrl: string }> }>('/api/v1/targets')).activeTargets
  }
}
