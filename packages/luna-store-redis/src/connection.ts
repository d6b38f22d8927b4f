import { Cluster, Redis, ReplyError, type ClusterOptions, type RedisOptions } from 'ioredis'
import { StoreUnavailableError } from 'luna-registry'
import { defineScripts, type Scripts } from './scripts.js'
import type { ParsedRedisUrl } from './url.js'

/** The part of a pino (or Fastify) logger the store writes to. */
export interface StoreLogger {
  info: (object: object, message: string) => void
  warn: (object: object, message: string) => void
}

/** A connection to a Redis, to the master Sentinel names, or to a Cluster. */
export type Client = Redis | Cluster

/** Where to connect and how: a parsed store URL, the embedder's ioredis options beside it. */
export interface ConnectionSettings {
  url: ParsedRedisUrl
  commandTimeout: number
  redis: RedisOptions
  cluster: ClusterOptions
}

const retryStrategy = (attempt: number): number => Math.min(attempt * 100, 1000)

/** A connection with the scripts defined, that fails fast while Redis is away. */
export function openConnection ({ url, commandTimeout, redis, cluster }: ConnectionSettings): Client & Scripts {
  const { target, tls, username, password, parameters } = url
  const common = {
    ...redis,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls ? { tls: redis.tls ?? {} } : {}),
    // Fail at once rather than queue while Redis is away: callers get a 503, not a hang.
    maxRetriesPerRequest: 0,
    connectTimeout: commandTimeout,
    commandTimeout
  }
  if (target.mode === 'cluster') {
    return defineScripts(new Cluster(target.nodes, {
      ...cluster,
      redisOptions: common,
      enableOfflineQueue: false,
      // Not auto-pipelined: ioredis then follows a slot's MOVED and ASK redirections only when
      // every command of a pipeline got the same one, and routes a script that takes its number
      // of keys first by that number. Each command on its own is redirected, and retried, alone.
      enableAutoPipelining: false,
      // Writes and the reads that follow them go to the masters: a replica may lag behind.
      scaleReads: 'master',
      clusterRetryStrategy: retryStrategy,
      slotsRefreshTimeout: commandTimeout
    }))
  }
  const where: RedisOptions = target.mode === 'single'
    ? { host: target.node.host, port: target.node.port, db: target.db }
    : {
        sentinels: target.sentinels,
        name: target.name,
        db: target.db,
        role: 'master',
        // Told by the sentinels of a switch at once, not only when the old master fails: writes
        // must not go on to a master that was demoted.
        failoverDetector: true,
        sentinelCommandTimeout: commandTimeout,
        ...(tls ? { enableTLSForSentinelMode: true } : {}),
        ...(parameters.sentinelPassword === undefined ? {} : { sentinelPassword: parameters.sentinelPassword }),
        // A master demoted under the connection answers writes with READONLY: ask the sentinels again.
        reconnectOnError: (error: Error) => error.message.startsWith('READONLY')
      }
  return defineScripts(new Redis({
    ...common,
    ...where,
    enableOfflineQueue: false,
    retryStrategy,
    enableAutoPipelining: true
  }))
}

/** Closes `connection` politely if it is up (what was sent is answered first), at once if not. */
export async function closeConnection (connection: Client): Promise<void> {
  if (connection.status === 'ready') await connection.quit().catch(() => {})
  // Also after QUIT: only a disconnection closes the connections a Sentinel client keeps to the
  // sentinels to hear of failovers, which would otherwise reconnect for ever.
  connection.disconnect()
}

/**
 * Whether Redis can be reached, as the store's connections and commands find it, told to the log
 * once per outage and once per recovery however often it shows: ioredis repeats its error on
 * every reconnection attempt, and every request meanwhile fails.
 */
export class OutageWatch {
  readonly #log: StoreLogger | undefined
  /** Whether Redis is several servers, some of which may fail while others answer. */
  readonly #partial: boolean
  #down = false
  /** When Redis last answered a command with an error, or a cluster's node failed one, by `Date.now()`. */
  #refusedAt = -Infinity

  constructor (log: StoreLogger | undefined, partial = false) {
    this.#log = log
    this.#partial = partial
  }

  /**
   * Whether the last thing Redis did was fail, or it answered a command with an error within the
   * last `window` ms: a Redis that refuses some commands and serves others (a cluster node asked
   * for slots it does not hold) is not one to send traffic to, and a success does not say the
   * next command will not be refused. A connection that failed is mended by one that answers,
   * except on a cluster: there the answer may come from another master than the one that failed.
   */
  failedWithin (window: number): boolean {
    return this.#down || Date.now() - this.#refusedAt < window
  }

  watch (connection: Client): void {
    connection.on('error', (error: Error) => { this.#outage(error) })
    connection.on('ready', () => { if (this.#down) this.#recovered() })
  }

  /**
   * Runs a command. Whatever fails is a 503: a lost or slow connection, a Redis that cannot serve
   * (loading, read-only, busy, out of memory), a cluster that moved a slot under the command or
   * lost a master, a script a new master has not seen. Retrying is safe, since every write is
   * idempotent, and an error that stays is Redis's to fix, not a client's.
   */
  async call<T> (run: () => Promise<T>): Promise<T> {
    let result: T
    try {
      result = await run()
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      if (this.#partial || error instanceof ReplyError) this.#refusedAt = Date.now()
      this.#outage(error)
      throw new StoreUnavailableError(message, { cause: error })
    }
    // A Redis that stopped answering without dropping the connection (paused, busy, loading)
    // is back when a command succeeds: no `ready` says so.
    if (this.#down) this.#recovered()
    return result
  }

  #outage (error: unknown): void {
    if (this.#down) return
    this.#down = true
    this.#log?.warn({ err: error }, 'luna-store-redis: Redis is unreachable; requests get 503 until it is back')
  }

  #recovered (): void {
    this.#down = false
    this.#log?.info({}, 'luna-store-redis: Redis is reachable again')
  }
}
