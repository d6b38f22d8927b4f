import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { exited, track } from './processes.js'

/**
 * Runs `script` (a file of this package's dist/) with fork() and resolves with the first
 * message it sends; rejects if it exits first or takes longer than `timeoutMs`.
 */
export async function runChild<T> (script: string, args: string[], execArgv: string[], timeoutMs: number): Promise<T> {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  track(child)
  try {
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} took longer than ${timeoutMs / 1000} s`)), timeoutMs)
      child.once('message', (message) => {
        clearTimeout(timer)
        resolve(message as T)
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${script} exited with code ${code ?? 'null'} before reporting`))
      })
    })
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await exited(child)
    }
  }
}
