import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { until } from './until.js'

const run = promisify(execFile)

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
  /** More arguments of redis-server's: a config file first, or more `--option value`s. */
  readonly args: string[]
  /** What it writes once it serves. */
  readonly #ready: RegExp
  #process: ChildProcess | undefined

  constructor (port: number, args: string[] = [], ready = /Ready to accept connections/) {
    this.port = port
    this.args = args
    this.#ready = ready
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start (): Promise<void> {
    const file = this.args[0]?.startsWith('--') === false ? [this.args[0]] : []
    const more = this.args.slice(file.length)
    const child = spawn('redis-server', [...file, '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...more], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#process = child
    let output = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
    const failed = once(child, 'error').then(([error]: unknown[]) => { throw error instanceof Error ? error : new Error(String(error)) })
    await Promise.race([failed, until(`redis-server on port ${this.port} serves`, () => this.#ready.test(output) || undefined, 10_000)])
  }

  /** Freezes the server (SIGSTOP): its connections stay open, and nothing is answered. */
  pause (): void {
    this.#process?.kill('SIGSTOP')
  }

  resume (): void {
    this.#process?.kill('SIGCONT')
  }

  /** Runs `redis-cli` against this server; its output. */
  async cli (...args: string[]): Promise<string> {
    return (await run('redis-cli', ['-p', String(this.port), ...args])).stdout
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
  if (!await required(t)) return undefined
  const redis = new PrivateRedis(await freePort())
  t.teardown(() => redis.stop())
  return redis
}

/** A folder of the test's own, removed when it ends. */
async function scratch (t: Tap): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'luna-redis-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Whether `redis-server` can be started here, or the test failed (CI) or skipped for it. */
async function required (t: Tap): Promise<boolean> {
  if (await haveRedisServer()) return true
  if (process.env['CI'] === 'true') t.fail('redis-server is not installed: CI must run this test')
  else t.skip('redis-server is not installed', () => {})
  return false
}

/** A Redis Cluster of the test's own: `size` masters, no replicas, on free ports. */
export class PrivateCluster {
  readonly nodes: PrivateRedis[]

  constructor (nodes: PrivateRedis[]) {
    this.nodes = nodes
  }

  get url (): string {
    return `redis+cluster://${this.nodes.map((node) => `127.0.0.1:${node.port}`).join(',')}`
  }

  /** Which node holds `slot` now. */
  async ownerOf (slot: number): Promise<PrivateRedis> {
    const shards = JSON.parse(await this.nodes[0]!.cli('--json', 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>
    const port = shards.find(([start, end]) => slot >= start && slot <= end)![2][1]
    return this.nodes.find((node) => node.port === port)!
  }

  /** The node id of `node`. */
  async idOf (node: PrivateRedis): Promise<string> {
    return (await node.cli('CLUSTER', 'MYID')).trim()
  }
}

/**
 * A started PrivateCluster of `size` masters with `replicas` replicas each, stopped when the test
 * ends; or `undefined` as `privateRedis`.
 */
export async function privateCluster (t: Tap, size = 3, replicas = 0): Promise<PrivateCluster | undefined> {
  if (!await required(t)) return undefined
  const dir = await scratch(t)
  const nodes: PrivateRedis[] = []
  for (let i = 0; i < size * (1 + replicas); i++) {
    const port = await freePort()
    const node = new PrivateRedis(port, [
      '--cluster-enabled', 'yes', '--cluster-port', String(await freePort()), '--cluster-config-file', join(dir, `nodes-${port}.conf`),
      // The masters still there serve their slots when one is gone, as a test of a partial
      // failure needs; a production cluster has a replica to promote instead.
      '--cluster-node-timeout', '2000', '--cluster-require-full-coverage', 'no', '--dir', dir
    ])
    t.teardown(() => node.stop())
    nodes.push(node)
  }
  await Promise.all(nodes.map((node) => node.start()))
  await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'])
  await until('every node of the cluster says it is ok, every replica in sync', async () => {
    const states = await Promise.all(nodes.map(async (node) => [await node.cli('CLUSTER', 'INFO'), await node.cli('INFO', 'replication')]))
    const synced = states.filter(([, replication]) => replication!.includes('master_link_status:up')).length
    if (!states.every(([cluster]) => cluster!.includes('cluster_state:ok')) || synced !== size * replicas) return undefined
    // And every node tells clients of the replicas: that is gossip, a moment behind the replication.
    const views = await Promise.all(nodes.map(async (node) => JSON.parse(await node.cli('--json', 'CLUSTER', 'SLOTS')) as unknown[][]))
    return views.every((shards) => shards.every((shard) => shard.length === 3 + replicas)) || undefined
  }, 30_000)
  return new PrivateCluster(nodes)
}

/** A master, its replica and three sentinels watching it as `mymaster`, all of the test's own. */
export class PrivateSentinels {
  readonly name = 'mymaster'
  readonly master: PrivateRedis
  readonly replica: PrivateRedis
  readonly sentinels: PrivateRedis[]

  constructor (master: PrivateRedis, replica: PrivateRedis, sentinels: PrivateRedis[]) {
    this.master = master
    this.replica = replica
    this.sentinels = sentinels
  }

  get url (): string {
    return `redis+sentinel://${this.sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(',')}/${this.name}`
  }

  /** The port of the master the sentinels name now. */
  async masterPort (): Promise<number> {
    const [, port] = (await this.sentinels[0]!.cli('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name)).trim().split('\n')
    return Number(port)
  }
}

/** A started PrivateSentinels, every sentinel aware of the replica and of the others; stopped when the test ends. */
export async function privateSentinels (t: Tap): Promise<PrivateSentinels | undefined> {
  if (!await required(t)) return undefined
  const dir = await scratch(t)
  const master = new PrivateRedis(await freePort())
  const replica = new PrivateRedis(await freePort(), ['--replicaof', '127.0.0.1', String(master.port)])
  const sentinels: PrivateRedis[] = []
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    const file = join(dir, `sentinel-${port}.conf`)
    await writeFile(file, [
      `sentinel monitor mymaster 127.0.0.1 ${master.port} 2`,
      'sentinel down-after-milliseconds mymaster 1000',
      'sentinel failover-timeout mymaster 3000',
      'sentinel parallel-syncs mymaster 1',
      ''
    ].join('\n'))
    sentinels.push(new PrivateRedis(port, [file, '--sentinel', '--dir', dir], /\+monitor master/))
  }
  for (const server of [master, replica, ...sentinels]) t.teardown(() => server.stop())
  await master.start()
  await replica.start()
  await until('the replica is in sync', async () => (await replica.cli('INFO', 'replication')).includes('master_link_status:up') || undefined, 10_000)
  await Promise.all(sentinels.map((sentinel) => sentinel.start()))
  await until('every sentinel knows the replica and the two other sentinels', async () => {
    const known = await Promise.all(sentinels.map(async (sentinel) => {
      const replicas = await sentinel.cli('SENTINEL', 'REPLICAS', 'mymaster')
      const others = await sentinel.cli('SENTINEL', 'SENTINELS', 'mymaster')
      return replicas.includes(String(replica.port)) && sentinels.every((other) => other === sentinel || others.includes(String(other.port)))
    }))
    return known.every(Boolean) || undefined
  }, 15_000)
  return new PrivateSentinels(master, replica, sentinels)
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
