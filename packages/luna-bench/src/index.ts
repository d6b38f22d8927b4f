// pnpm bench: starts each server under load as a process of its own, drives it with autocannon
// and prints a table, also written to bench-results/latest.json.
//   node dist/index.js                    every suite of the full run
//   node dist/index.js heartbeats scale   only those (or BENCH_SUITES=heartbeats,scale)
//   node dist/index.js --help             suites and settings
import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { KNOBS, readConfig, type BenchConfig } from './config.js'
import { machine } from './machine.js'
import { formatTarget, formatValue, renderTable, verdict, type Figure, type SuiteResult, type Table } from './report.js'
import type { Suite } from './suite.js'
import { SUITES } from './suites.js'

const RESULTS_DIR = fileURLToPath(new URL('../bench-results/', import.meta.url))

function help (): string {
  const suites = SUITES.map((suite) => [suite.name, suite.inFullRun ? 'yes' : 'no', suite.summary])
  const knobs = KNOBS.map((knob) => [knob.env, String(knob.fallback), knob.help])
  return [
    'Usage: node dist/index.js [suite ...]   (or BENCH_SUITES=a,b)',
    '',
    renderTable(['suite', 'full run', 'measures'], suites),
    '',
    renderTable(['environment', 'default', ''], knobs),
    ''
  ].join('\n')
}

function select (argv: string[], env: NodeJS.ProcessEnv): Suite[] {
  const names = argv.length > 0 ? argv : (env.BENCH_SUITES ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '')
  if (names.length === 0) return SUITES.filter((suite) => suite.inFullRun)
  return names.map((name) => {
    const suite = SUITES.find((candidate) => candidate.name === name)
    if (suite === undefined) throw new Error(`unknown suite "${name}"; suites: ${SUITES.map((known) => known.name).join(', ')}`)
    return suite
  })
}

interface SuiteOutcome extends SuiteResult {
  suite: string
  seconds: number
  error?: string
}

function describeConfig (config: BenchConfig): string {
  return `${config.connections} connections, ${config.warmup} s warm-up, ${config.rounds} × ${config.duration} s rounds per side`
}

async function main (): Promise<void> {
  const argv = process.argv.slice(2)
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('--list')) {
    process.stdout.write(help())
    return
  }
  const config = readConfig(process.env)
  const suites = select(argv, process.env)
  const host = machine()
  const log = (line: string): void => { process.stderr.write(`${line}\n`) }
  const startedAt = new Date()

  const outcomes: SuiteOutcome[] = []
  for (const suite of suites) {
    log(`${suite.name}: ${suite.summary}`)
    const started = performance.now()
    try {
      const result = await suite.run({ config, log, resultsDir: RESULTS_DIR })
      outcomes.push({ suite: suite.name, seconds: (performance.now() - started) / 1000, ...result })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      log(`  failed: ${message}`)
      outcomes.push({ suite: suite.name, seconds: (performance.now() - started) / 1000, figures: [], error: message })
    }
  }

  const rows: string[][] = []
  for (const outcome of outcomes) {
    if (outcome.error !== undefined) rows.push([outcome.suite, 'the suite failed', outcome.error.slice(0, 80), '', 'ERROR'])
    for (const figure of outcome.figures) {
      rows.push([outcome.suite, figure.name, formatValue(figure.value, figure.unit), formatTarget(figure), verdict(figure)])
    }
  }
  const lines = [
    '',
    `Machine: ${host.cpu}, ${host.cores} cores, ${host.memoryGB} GB, Node ${host.node}, ${host.platform}, load average ${host.loadAverage.toFixed(2)} at start`,
    `Load: ${describeConfig(config)}; servers on 127.0.0.1, each a process of its own`,
    '',
    renderTable(['suite', 'figure', 'value', 'target', 'result'], rows)
  ]
  for (const outcome of outcomes) {
    for (const table of outcome.tables ?? []) lines.push('', `${outcome.suite}: ${table.title}`, renderTable(table.header, table.rows))
  }
  const notes = outcomes.flatMap((outcome) => outcome.figures
    .filter((figure) => figure.note !== undefined)
    .map((figure) => `  ${outcome.suite} / ${figure.name}: ${figure.note ?? ''}`))
  if (notes.length > 0) lines.push('', 'Notes:', ...notes)
  const missedRatio = outcomes.find((outcome) => outcome.suite === 'heartbeats')?.figures
    .find((figure) => figure.target !== undefined && verdict(figure) === 'MISS')
  if (missedRatio !== undefined) {
    lines.push('', 'The heartbeat ratio is below its target: `node dist/index.js profile` shows where luna-server spends its time.')
  }
  process.stdout.write(`${lines.join('\n')}\n`)

  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: host,
    config,
    suites: outcomes.map((outcome) => ({
      ...outcome,
      figures: outcome.figures.map((figure: Figure) => ({ ...figure, result: verdict(figure) })),
      tables: outcome.tables satisfies Table[] | undefined
    }))
  }
  await mkdir(RESULTS_DIR, { recursive: true })
  const json = `${JSON.stringify(report, null, 2)}\n`
  await writeFile(`${RESULTS_DIR}latest.json`, json)
  await writeFile(`${RESULTS_DIR}${startedAt.toISOString().replace(/[:.]/g, '-')}.json`, json)
  log(`results: ${RESULTS_DIR}latest.json`)
  if (outcomes.some((outcome) => outcome.error !== undefined)) process.exitCode = 1
}

// An interrupted run still stops its servers: exiting runs the handler of processes.ts.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130))

await main()
