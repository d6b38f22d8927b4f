import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort, HOST, keepOutput, stopChild, track } from './processes.js'

const run = promisify(execFile)

/** Redis servers the bench started, on free ports, and the URL a store reaches them by. */
export interface RedisServers {
  url: string
  pids: number[]
  stop: () => Promise<void>
}

async function startRedis (args: string[]): Promise<{ child: ChildProcess, port: number }> {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  track(child)
  const output: string[] = []
  keepOutput(child, output)
  const deadline = Date.now() + 10_000
  while (!output.some((line) => line.includes('Ready to accept connections'))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server on port ${port} did not start:\n${output.join('\n')}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return { child, port }
}

/** One redis-server of the bench's own. */
export async function startSingleRedis (): Promise<RedisServers> {
  const { child, port } = await startRedis([])
  return { url: `redis://${HOST}:${port}`, pids: [child.pid!], stop: async () => { await stopChild(child) } }
}

/** A Redis Cluster of `size` masters of the bench's own, created with redis-cli --cluster create. */
export async function startRedisCluster (size: number): Promise<RedisServers> {
  const dir = await mkdtemp(join(tmpdir(), 'luna-bench-cluster-'))
  const nodes = await Promise.all(Array.from({ length: size }, async (_, i) => await startRedis([
    '--cluster-enabled', 'yes', '--cluster-port', String(await freePort()), '--cluster-config-file', join(dir, `nodes-${i}.conf`), '--dir', dir
  ])))
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map(({ child }) => stopChild(child)))
    await rm(dir, { recursive: true, force: true })
  }
  const addresses = nodes.map(({ port }) => `${HOST}:${port}`)
  try {
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'])
    const deadline = Date.now() + 10_000
    for (;;) {
      const states = await Promise.all(nodes.map(async ({ port }) => (await run('redis-cli', ['-p', String(port), 'CLUSTER', 'INFO'])).stdout))
      if (states.every((state) => state.includes('cluster_state:ok'))) break
      if (Date.now() > deadline) throw new Error('the bench\'s Redis Cluster did not come up')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } catch (error) {
    await stop()
    throw error
  }
  return { url: `redis+cluster://${addresses.join(',')}`, pids: nodes.map(({ child }) => child.pid!), stop }
}
