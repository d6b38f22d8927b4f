import { StoreUnavailableError, type AuthFailureStore, type FailureCount } from 'luna-registry'
import { closeConnection, openConnection, type Client } from './connection.js'
import { parseRedisUrl } from './url.js'

export interface RedisFailureStoreOptions {
  /** A store URL, as the registry's store takes (single, Sentinel or Cluster); default `redis://127.0.0.1:6379`. */
  url?: string
  /** Prepended to every key, as the registry's store does. Default `luna:`. */
  keyPrefix?: string
  /** Milliseconds a command may take before the request fails with a 503. Default 1000. */
  commandTimeout?: number
}

/**
 * Failed authentications counted in Redis, so that every replica refuses an address that
 * guessed too often at any of them: one key per address, `{prefix}auth-failures:{address}`, made
 * with its expiry and counted up in one transaction, so that no key is ever left without one.
 * A connection of its own, made when first needed: counting is rare (a failure, or a header not
 * seen before) and must not queue behind the registry's traffic.
 */
export class RedisFailureStore implements AuthFailureStore {
  readonly #redis: Client
  readonly #prefix: string
  #connecting: Promise<void> | undefined

  constructor (options: RedisFailureStoreOptions = {}) {
    const commandTimeout = options.commandTimeout ?? 1000
    this.#prefix = `${options.keyPrefix ?? 'luna:'}auth-failures:`
    // Made at the first count: a registry nobody fails to log in to needs no connection for it.
    const lazy = { lazyConnect: true }
    this.#redis = openConnection({ url: parseRedisUrl(options.url ?? 'redis://127.0.0.1:6379'), commandTimeout, redis: lazy, cluster: lazy })
    // Outages are the registry store's to report: it uses the same Redis.
    this.#redis.on('error', () => {})
  }

  async get (key: string): Promise<FailureCount> {
    const [count, ttl] = await this.#call(async () => await this.#redis.multi().get(this.#prefix + key).pttl(this.#prefix + key).exec())
    return count === null ? { count: 0, resetIn: 0 } : { count: Number(count), resetIn: Math.max(0, Number(ttl)) }
  }

  async add (key: string, window: number): Promise<FailureCount> {
    const name = this.#prefix + key
    const [, count, ttl] = await this.#call(async () => await this.#redis.multi().set(name, 0, 'PX', window, 'NX').incr(name).pttl(name).exec())
    return { count: Number(count), resetIn: Math.max(0, Number(ttl)) }
  }

  async close (): Promise<void> {
    await closeConnection(this.#redis)
  }

  async #call (run: () => Promise<Array<[Error | null, unknown]> | null>): Promise<unknown[]> {
    let replies: Array<[Error | null, unknown]>
    try {
      // Connected at the first count, waited for once; after that ioredis reconnects by itself,
      // and a count while Redis is away fails at once.
      this.#connecting ??= this.#redis.connect().catch(() => {})
      await this.#connecting
      // `exec` answers null only for a transaction that WATCHes a key, which these do not.
      replies = (await run())!
    } catch (error) {
      throw new StoreUnavailableError(error instanceof Error ? error.message : String(error), { cause: error })
    }
    const failed = replies.find((reply): reply is [Error, unknown] => reply[0] !== null)
    if (failed !== undefined) throw failed[0]
    return replies.map(([, value]) => value)
  }
}
