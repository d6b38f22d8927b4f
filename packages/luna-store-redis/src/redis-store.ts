import type { Redis, RedisOptions } from 'ioredis'
import {
  StoreUnavailableError,
  type HeartbeatResult,
  type InstanceRecord,
  type InstanceUpdate,
  type ListFilter,
  type RegisterResult,
  type SharedEvent,
  type SharedStore
} from 'luna-registry'
import { closeConnection, openConnection, OutageWatch, type StoreLogger } from './connection.js'
import { HeartbeatBatcher } from './heartbeat-batcher.js'
import { Keys } from './keys.js'
import { FIELD_NAMES, infoJson, recordOf, toRecord, toRecords, type Fields } from './records.js'
import type { HeartbeatReply, Scripts } from './scripts.js'
import { Subscription } from './subscription.js'

export interface RedisStoreOptions {
  /** `redis://[:password@]host:port/db`; default `redis://127.0.0.1:6379`. */
  url?: string
  /** Prepended to every key and to the event channel, so several registries can share a Redis. Default `luna:`. */
  keyPrefix?: string
  /** Where outages and recoveries are reported, once each. */
  log?: StoreLogger
  /** Milliseconds a command may take before the request fails with a 503. Default 1000. */
  commandTimeout?: number
  /**
   * Milliseconds between two looks at the registry's marker key, to tell that Redis lost the
   * registry's keys while the connections stayed up (a flush). A reconnection is looked at at
   * once. Default 2000.
   */
  checkInterval?: number
  /** More ioredis options; the ones above win. */
  redis?: RedisOptions
}

/**
 * A readiness check that fails whenever the registry's scripts would: a write (refused by a
 * read-only replica) beside a read of one of the registry's keys, in one script (refused when the
 * keys cannot be served together, as in a Redis Cluster without a hash tag in the prefix).
 */
const PING = "redis.call('SET', KEYS[1], ARGV[1], 'PX', 60000) return redis.call('EXISTS', KEYS[2])"

/** How many instances one claim or eviction script handles before yielding to other clients. */
const BATCH = 1000

/**
 * A Luna store in Redis, for registries that must survive a restart or run as several replicas.
 * Every write is one Lua script (atomic, one round trip); heartbeat deadlines live in sorted
 * sets, so finding missed ones costs what is found; change events travel over pub/sub. While
 * Redis cannot be reached, every call fails within `commandTimeout` with a 503
 * (`FST_LUNA_STORE_UNAVAILABLE`), and the connection is retried until Redis is back. When the
 * shared state may have changed unannounced (the subscription was down, or the keys were lost),
 * the subscriber's `resync` is called.
 *
 * As luna-registry's store rule has it, what the store is given is deeply frozen and it may keep
 * it: the record a registration hands back is the one it was given.
 */
export class RedisStore implements SharedStore {
  readonly keyPrefix: string
  readonly #keys: Keys
  readonly #redis: Redis & Scripts
  readonly #outages: OutageWatch
  readonly #heartbeats: HeartbeatBatcher
  readonly #log: StoreLogger | undefined
  readonly #checkInterval: number
  #subscription: Subscription | undefined
  #closed: Promise<void> | undefined

  constructor (options: RedisStoreOptions = {}) {
    this.keyPrefix = options.keyPrefix ?? 'luna:'
    this.#keys = new Keys(this.keyPrefix)
    this.#log = options.log
    this.#checkInterval = options.checkInterval ?? 2000
    if (!(Number.isFinite(this.#checkInterval) && this.#checkInterval > 0)) {
      throw new TypeError(`luna-store-redis: checkInterval must be a positive number of milliseconds, not ${String(options.checkInterval)}`)
    }
    this.#outages = new OutageWatch(this.#log)
    this.#redis = openConnection(options.url ?? 'redis://127.0.0.1:6379', options.commandTimeout ?? 1000, options.redis)
    this.#outages.watch(this.#redis)
    this.#heartbeats = new HeartbeatBatcher((updates) => this.#sendHeartbeats(updates))
  }

  /** Resolves once the first connection is ready, or rejects after `timeout` ms. */
  async ready (timeout = 5000): Promise<void> {
    if (this.#redis.status === 'ready') return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#redis.off('ready', onReady)
        reject(new StoreUnavailableError(`no connection to Redis within ${timeout} ms`))
      }, timeout)
      const onReady = (): void => { clearTimeout(timer); resolve() }
      this.#redis.once('ready', onReady)
    })
  }

  /** Whether Redis can be reached right now; never once `close()` has been called. */
  available (): boolean {
    return this.#closed === undefined && this.#redis.status === 'ready'
  }

  /** Resolves when Redis runs a write on the registry's keys within `commandTimeout`; a 503 otherwise. */
  async ping (): Promise<void> {
    await this.#outages.call(() => this.#redis.eval(PING, 2, this.#keys.ready, this.#keys.ids, Date.now()))
  }

  async register (record: InstanceRecord): Promise<RegisterResult> {
    const keys = this.#keys
    const [previous, timedOut] = await this.#outages.call(() => this.#redis.lunaRegister(
      keys.instance(record.instanceId), keys.ids, keys.service(record.name), keys.live, keys.timedOut,
      record.instanceId, infoJson(record), record.name, record.status, record.registeredAt, record.lastHeartbeat,
      record.reportedDownSince ?? ''))
    return previous === null
      ? { created: true, instance: record, timedOut: timedOut === 1 }
      : { created: false, instance: record, previous: toRecord(previous), timedOut: timedOut === 1 }
  }

  async heartbeat (update: InstanceUpdate): Promise<HeartbeatResult | undefined> {
    const result = await this.#heartbeats.add(update)
    if (result === null) return undefined
    const [fields, timedOut, reportedDownSince] = result
    // '' in place of the previous info: it was the same as this heartbeat's.
    const previous = fields[0] === '' ? recordOf(update, Number(fields[1]), Number(fields[2]), fields[3]) : toRecord(fields)
    const instance = recordOf(update, previous.registeredAt, update.lastHeartbeat, reportedDownSince)
    return { instance, previous, timedOut: timedOut === 1 }
  }

  async remove (instanceId: string): Promise<boolean> {
    const keys = this.#keys
    const removed = await this.#outages.call(() => this.#redis.lunaRemove(
      keys.instance(instanceId), keys.ids, keys.live, keys.timedOut, instanceId, keys.servicePrefix))
    return removed === 1
  }

  async get (instanceId: string): Promise<InstanceRecord | undefined> {
    const fields = await this.#outages.call(() => this.#redis.hmget(this.#keys.instance(instanceId), ...FIELD_NAMES))
    return fields[0] === null ? undefined : toRecord(fields as Fields)
  }

  async list (filter: ListFilter = {}): Promise<InstanceRecord[]> {
    const set = filter.service === undefined ? this.#keys.ids : this.#keys.service(filter.service)
    return toRecords(await this.#outages.call(() => this.#redis.lunaList(set, this.#keys.instancePrefix)))
  }

  async claimTimedOut (before: number): Promise<InstanceRecord[]> {
    const keys = this.#keys
    return await this.#batches(() => this.#redis.lunaClaim(keys.live, keys.timedOut, before, BATCH, keys.instancePrefix))
  }

  async evictTimedOut (before: number): Promise<InstanceRecord[]> {
    const keys = this.#keys
    return await this.#batches(() => this.#redis.lunaEvict(
      keys.timedOut, keys.live, keys.ids, before, BATCH, keys.instancePrefix, keys.servicePrefix))
  }

  async publish (message: SharedEvent): Promise<void> {
    await this.#outages.call(() => this.#redis.publish(this.#keys.channel, JSON.stringify(message)))
  }

  async subscribe (listener: (message: SharedEvent) => void, resync?: () => void): Promise<void> {
    if (this.#subscription !== undefined) throw new Error('luna-store-redis: subscribe() is called once per store')
    this.#subscription = new Subscription({
      redis: this.#redis, keys: this.#keys, checkInterval: this.#checkInterval, outages: this.#outages, log: this.#log, listener, resync
    })
    await this.#subscription.start()
  }

  /**
   * Closes both connections, letting what was sent be answered first. Idempotent: whoever
   * created the store closes it, and a second call (from a second owner's hook, say) waits for
   * the same close rather than cutting it short.
   */
  async close (): Promise<void> {
    this.#closed ??= this.#close()
    await this.#closed
  }

  async #close (): Promise<void> {
    await this.#subscription?.close()
    await closeConnection(this.#redis)
  }

  async #batches (run: () => Promise<Array<string | Fields>>): Promise<InstanceRecord[]> {
    const records: InstanceRecord[] = []
    for (;;) {
      const flat = await this.#outages.call(run)
      records.push(...toRecords(flat))
      if (flat.length < BATCH * 2) return records
    }
  }

  async #sendHeartbeats (updates: readonly InstanceUpdate[]): Promise<Array<HeartbeatReply | null>> {
    const keys: string[] = [this.#keys.live, this.#keys.timedOut]
    const args: Array<string | number> = []
    for (const update of updates) {
      keys.push(this.#keys.instance(update.instanceId))
      args.push(update.instanceId, infoJson(update), update.status, update.lastHeartbeat, update.reportedDownSince ?? '')
    }
    return await this.#outages.call(() => this.#redis.lunaHeartbeats(keys.length, ...keys, ...args))
  }
}
