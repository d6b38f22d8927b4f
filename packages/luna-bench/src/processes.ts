import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request, sleep } from './http.js'

const require = createRequire(import.meta.url)
export const LUNA_BIN = join(dirname(require.resolve('luna-server/package.json')), 'bin', 'luna-server.js')
export const CEILING_SERVER = fileURLToPath(new URL('./ceiling-server.js', import.meta.url))

/** Load is only ever pointed at this machine. */
export const HOST = '127.0.0.1'

export interface ServerProcess {
  name: string
  url: string
  child: ChildProcess
  /** The last lines the process wrote, for error messages and for warnings worth reporting. */
  output: string[]
  /** SIGTERM, then SIGKILL after 10 s; resolves with the exit code. */
  stop: () => Promise<number | null>
}

const running = new Set<ChildProcess>()
// A fresh connection per readiness probe: nothing is kept open to a server that is not up yet.
const probeAgent = new http.Agent({ keepAlive: false })

// Whatever happens to the bench, no server it started outlives it.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, HOST, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export function keepOutput (child: ChildProcess, output: string[]): void {
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue
      output.push(line)
      if (output.length > 200) output.shift()
    }
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
}

/** Resolves with the exit code once `child` has exited (at once if it already has). */
export async function exited (child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  return await new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

export function track (child: ChildProcess): void {
  running.add(child)
  child.once('exit', () => running.delete(child))
}

export async function stopChild (child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  const code = await exited(child)
  clearTimeout(timer)
  return code
}

export async function waitUntilAnswering (server: ServerProcess, path: string, ready: (status: number) => boolean): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    if (server.child.exitCode !== null) {
      throw new Error(`${server.name} exited with code ${server.child.exitCode}: ${server.output.slice(-5).join(' | ')}`)
    }
    try {
      const response = await request(`${server.url}${path}`, { agent: probeAgent })
      if (ready(response.status)) return
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${server.name} did not answer on ${server.url} within 15 s`)
    await sleep(50)
  }
}

/** `node [nodeArgs] script --port P --host 127.0.0.1 [args]`, once `path` answers as `ready` wants. */
export async function startProcess (name: string, nodeArgs: string[], script: string, args: string[], path: string, ready: (status: number) => boolean): Promise<ServerProcess> {
  const port = await freePort()
  const child = spawn(process.execPath, [...nodeArgs, script, '--port', String(port), '--host', HOST, ...args], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  track(child)
  const output: string[] = []
  keepOutput(child, output)
  const server: ServerProcess = { name, url: `http://${HOST}:${port}`, child, output, stop: async () => await stopChild(child) }
  try {
    await waitUntilAnswering(server, path, ready)
  } catch (error) {
    await server.stop()
    throw error
  }
  return server
}

export interface LunaOptions {
  name?: string
  /** Extra luna-server flags, e.g. `['--heartbeat-timeout', '1s']`. */
  args?: string[]
  /** Flags for node itself, e.g. `['--cpu-prof']`. */
  nodeArgs?: string[]
}

/** luna-server with the memory store, in a process of its own, answering `/healthz`. */
export async function startLuna (options: LunaOptions = {}): Promise<ServerProcess> {
  return await startProcess(options.name ?? 'luna-server', options.nodeArgs ?? [], LUNA_BIN,
    ['--log-level', 'warn', ...(options.args ?? [])], '/healthz', (status) => status === 200)
}

/** The bare Fastify server of `ceiling-server.ts`, in a process of its own; it answers anything once listening. */
export async function startCeiling (nodeArgs: string[] = []): Promise<ServerProcess> {
  return await startProcess('ceiling', nodeArgs, CEILING_SERVER, [], '/', (status) => status > 0)
}

/** Stops every server, even when one of them fails to stop. */
export async function stopAll (servers: ReadonlyArray<ServerProcess | undefined>): Promise<void> {
  await Promise.allSettled(servers.map(async (server) => await server?.stop()))
}

/** Resident memory of a process, in bytes, from /proc (Linux). */
export function residentBytes (pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (match === null) throw new Error(`no VmRSS for process ${pid}`)
  return Number(match[1]) * 1024
}
