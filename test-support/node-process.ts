import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'

export type Exit = [number | null, NodeJS.Signals | null]

export interface NodeProcess {
  child: ChildProcess
  /** Everything it wrote so far, standard output and error together. */
  output: () => string
  /** Resolves with the exit code and signal once it is gone. */
  exited: Promise<Exit>
}

interface Tap { teardown: (fn: () => unknown) => void }

/**
 * `command args…` with `env` added to this process's environment, its output collected, and
 * killed when the test ends if it is still running.
 */
export function runProcess (t: Tap, command: string, args: string[], options: { cwd?: string, env: Record<string, string> }): NodeProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const exited = once(child, 'exit') as Promise<Exit>
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return { child, output: () => output, exited }
}

/** `node <script>` in `cwd`, as `runProcess`. */
export function runNode (t: Tap, script: string, cwd: string, env: Record<string, string>): NodeProcess {
  return runProcess(t, process.execPath, [script], { cwd, env })
}

/** Its exit, or a rejection carrying its output if it has not exited within `timeout` ms. */
export async function exitWithin (proc: NodeProcess, timeout: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined
  return await Promise.race([
    proc.exited,
    new Promise<never>((resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`no exit within ${timeout} ms; output:\n${proc.output()}`)) }, timeout)
    })
  ]).finally(() => { clearTimeout(timer) })
}
