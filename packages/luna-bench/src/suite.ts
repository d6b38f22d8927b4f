import type { BenchConfig } from './config.js'
import type { SuiteResult } from './report.js'

export interface SuiteContext {
  config: BenchConfig
  /** Progress, to standard error. */
  log: (line: string) => void
  /** Where files worth keeping go (`bench-results/` of this package). */
  resultsDir: string
}

export interface Suite {
  name: string
  summary: string
  /** Part of a run that names no suite. */
  inFullRun: boolean
  run: (context: SuiteContext) => Promise<SuiteResult>
}
