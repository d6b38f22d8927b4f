import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'

export interface NodeProcess {
  child: ChildProcess
  /** Everything it wrote so far, standard output and error together. */
  output: () => string
  /** Resolves with the exit code and signal once it is gone. */
  exited: Promise<[number | null, NodeJS.Signals | null]>
}

/**
 * `node <script>` in `cwd` with `env` added to this process's environment, its output collected,
 * and killed when the test ends if it is still running.
 */
export function runNode (t: { teardown: (fn: () => unknown) => void }, script: string, cwd: string, env: Record<string, string>): NodeProcess {
  const child = spawn(process.execPath, [script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return { child, output: () => output, exited }
}
