import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Figure } from '../report.js'
import type { Suite } from '../suite.js'

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
const FILES = {
  memory: 'packages/luna-registry/test/model.test.ts',
  Redis: 'packages/luna-store-redis/test/model.test.ts'
}

/** One model test file under tap, for `seconds`: whether it passed, and the sequences it checked. */
async function runModel (file: string, seconds: number): Promise<{ passed: boolean, sequences: number, output: string }> {
  return await new Promise((resolve, reject) => {
    const child = spawn('npx', ['tap', '--disable-coverage', '--reporter=tap', `--timeout=${seconds + 120}`, file], {
      cwd: ROOT,
      env: { ...process.env, LUNA_MODEL_SECONDS: String(seconds) },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
    child.on('error', reject)
    child.on('exit', (code) => {
      const sequences = [...output.matchAll(/ok \d+ - (\d+) sequences checked/g)].reduce((sum, match) => sum + Number(match[1]), 0)
      resolve({ passed: code === 0, sequences, output })
    })
  })
}

/**
 * The model-based tests of the suite, run for `BENCH_MODEL_SECONDS` per store instead of a few
 * seconds: random request sequences checked against a model of the contract. Not part of the full run.
 */
export const model: Suite = {
  name: 'model',
  summary: 'random register/heartbeat/deregister sequences against a model of the contract, BENCH_MODEL_SECONDS per store',
  inFullRun: false,
  async run ({ config, log }) {
    const figures: Figure[] = []
    for (const [store, file] of Object.entries(FILES)) {
      log(`  ${store} store: ${config.modelSeconds} s of sequences`)
      const result = await runModel(file, config.modelSeconds)
      if (!result.passed) log(result.output.split('\n').filter((line) => /not ok|Counterexample|rror/.test(line)).slice(0, 10).join('\n'))
      figures.push({ name: `${store} store: sequences checked`, value: result.sequences, unit: 'count', valid: result.passed, note: result.passed ? 'every one explained by the model' : 'a sequence broke the model: see the log' })
    }
    return { figures }
  }
}
