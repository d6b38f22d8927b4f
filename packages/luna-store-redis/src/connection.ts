import { Redis, ReplyError, type RedisOptions } from 'ioredis'
import { StoreUnavailableError } from 'luna-registry'
import { defineScripts, type Scripts } from './scripts.js'

/** The part of a pino (or Fastify) logger the store writes to. */
export interface StoreLogger {
  info: (object: object, message: string) => void
  warn: (object: object, message: string) => void
}

/** Reply errors that say Redis cannot serve right now, rather than that a script is wrong. */
const UNAVAILABLE = /^(LOADING|READONLY|BUSY|OOM|MASTERDOWN|NOREPLICAS|CLUSTERDOWN|TRYAGAIN)\b/

/** A connection to `url` with the scripts defined, that fails fast while Redis is away. */
export function openConnection (url: string, commandTimeout: number, redis: RedisOptions = {}): Redis & Scripts {
  return defineScripts(new Redis(url, {
    ...redis,
    // Fail at once rather than queue while Redis is away: callers get a 503, not a hang.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: commandTimeout,
    commandTimeout,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    enableAutoPipelining: true
  }))
}

/** Closes `connection` politely if it is up (what was sent is answered first), at once if not. */
export async function closeConnection (connection: Redis): Promise<void> {
  if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect())
  else connection.disconnect()
}

/**
 * Whether Redis can be reached, as the store's connections and commands find it, told to the log
 * once per outage and once per recovery however often it shows: ioredis repeats its error on
 * every reconnection attempt, and every request meanwhile fails.
 */
export class OutageWatch {
  readonly #log: StoreLogger | undefined
  #down = false

  constructor (log: StoreLogger | undefined) {
    this.#log = log
  }

  watch (connection: Redis): void {
    connection.on('error', (error: Error) => { this.#outage(error) })
    connection.on('ready', () => { if (this.#down) this.#recovered() })
  }

  /**
   * Runs a command. A lost or slow connection, or a Redis that cannot serve (loading, read-only,
   * busy, out of memory), becomes a 503; any other reply error is a fault of ours and stays one.
   */
  async call<T> (run: () => Promise<T>): Promise<T> {
    let result: T
    try {
      result = await run()
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      if (error instanceof ReplyError && !UNAVAILABLE.test(message)) throw error
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
