import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { until } from './until.js'

/** A free TCP port on 127.0.0.1, for a server the test starts itself. */
export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

/**
 * A redis-server of the test's own, on its own port, that the test may stop and start again:
 * the machine's shared Redis is never stopped. No persistence, as in production caches here.
 */
export class PrivateRedis {
  readonly port: number
  #process: ChildProcess | undefined

  constructor (port: number) {
    this.port = port
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start (): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#process = child
    let output = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
    const failed = once(child, 'error').then(([error]: unknown[]) => { throw error instanceof Error ? error : new Error(String(error)) })
    await Promise.race([failed, until('redis-server accepts connections', () => /Ready to accept connections/.test(output) || undefined, 10_000)])
  }

  /** Freezes the server (SIGSTOP): its connections stay open, and nothing is answered. */
  pause (): void {
    this.#process?.kill('SIGSTOP')
  }

  resume (): void {
    this.#process?.kill('SIGCONT')
  }

  async stop (): Promise<void> {
    const child = this.#process
    if (child === undefined || child.exitCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
    this.#process = undefined
  }
}

interface Tap {
  fail: (message: string) => unknown
  skip: (message: string, fn: () => void) => unknown
  teardown: (fn: () => unknown) => void
}

/**
 * A started PrivateRedis, stopped when the test ends; or, without `redis-server` on the machine,
 * `undefined` after failing the test in CI and skipping it with the reason elsewhere.
 */
export async function privateRedis (t: Tap): Promise<PrivateRedis | undefined> {
  if (!await haveRedisServer()) {
    if (process.env['CI'] === 'true') t.fail('redis-server is not installed: CI must run this test')
    else t.skip('redis-server is not installed', () => {})
    return undefined
  }
  const redis = new PrivateRedis(await freePort())
  t.teardown(() => redis.stop())
  return redis
}

/** Whether `redis-server` can be started here. */
async function haveRedisServer (): Promise<boolean> {
  const child = spawn('redis-server', ['--version'], { stdio: 'ignore' })
  try {
    const [code] = await once(child, 'exit') as [number | null]
    return code === 0
  } catch {
    return false
  }
}
