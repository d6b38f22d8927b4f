import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { runNode, type NodeProcess } from '../../../test-support/node-process.js'
import { until } from '../../../test-support/until.js'

export const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
export const BIN = join(PACKAGE, 'bin', 'luna-server.js')
/** A bound on waits that would otherwise hang, not a measurement: children start slowly on a loaded machine. */
export const WAIT = 30_000
/** tap's coverage hook makes children slow to start: they run without it. */
export const CLEAN = Object.fromEntries(Object.keys(process.env).filter((key) => key.startsWith('_TAPJS_') || key === 'NODE_OPTIONS').map((key) => [key, '']))

export const basic = (username: string, password: string): string => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`

/** luna-server on a free port of 127.0.0.1, with `env`; killed when the test ends. */
export function server (t: Test, env: Record<string, string>): NodeProcess {
  return runNode(t, BIN, PACKAGE, { ...CLEAN, LUNA_PORT: '0', LUNA_HOST: '127.0.0.1', ...env })
}

/** The JSON log lines written so far. */
export function logLines (proc: NodeProcess): Array<Record<string, unknown>> {
  return proc.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** The address the server logs once it listens. */
export async function listeningUrl (proc: NodeProcess): Promise<URL> {
  return new URL(await until('the listening line', () => logLines(proc).find((line) => typeof line['url'] === 'string')?.['url'] as string | undefined, WAIT))
}

/** The `n`th log line whose message matches `message`, once it is written. */
export async function logged (proc: NodeProcess, message: RegExp, n = 1): Promise<Record<string, unknown>> {
  return await until(`log line ${n} matching ${message}`, () => logLines(proc).filter((line) => message.test(String(line['msg'])))[n - 1], WAIT)
}
