import { execFile } from 'node:child_process'

export interface CommandResult {
  ok: boolean
  /** The exit code, or the signal that ended it (a timeout kills it). */
  exit: number | string
  /** What it wrote, standard error then standard output, trimmed to the last few KiB. */
  output: string
}

const KEPT_OUTPUT = 4096

/**
 * Runs an operator's command line (`nginx -t`, `haproxy -c -f … && systemctl reload haproxy`)
 * with `/bin/sh -c`, so it may use the shell's syntax. Only the operator's own configured string
 * is ever given to the shell: nothing an instance registered reaches a command line. A command
 * still running after `timeout` ms is killed and counts as failed.
 */
export async function runCommand (command: string, timeout: number): Promise<CommandResult> {
  return await new Promise((resolve) => {
    execFile('/bin/sh', ['-c', command], { timeout, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      const output = `${stderr}${stdout}`.trim()
      const kept = output.length > KEPT_OUTPUT ? `…${output.slice(-KEPT_OUTPUT)}` : output
      if (error === null) {
        resolve({ ok: true, exit: 0, output: kept })
        return
      }
      const failure = error as NodeJS.ErrnoException & { code?: number | string, signal?: string | null }
      const exit = failure.signal ?? (typeof failure.code === 'number' ? failure.code : String(failure.code ?? 'failed'))
      resolve({ ok: false, exit, output: kept === '' ? error.message : kept })
    })
  })
}
