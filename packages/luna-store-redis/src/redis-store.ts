import { randomUUID } from 'node:crypto'
import { Redis, ReplyError, type RedisOptions } from 'ioredis'
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
import { CLAIM, EVICT, HEARTBEATS, LIST, MARKER, REGISTER, REMOVE } from './scripts.js'

/** The part of a pino (or Fastify) logger the store writes to. */
export interface StoreLogger {
  info: (object: object, message: string) => void
  warn: (object: object, message: string) => void
}

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

/** Reply errors that say Redis cannot serve right now, rather than that a script is wrong. */
const UNAVAILABLE = /^(LOADING|READONLY|BUSY|OOM|MASTERDOWN|NOREPLICAS|CLUSTERDOWN|TRYAGAIN)\b/

/** How many instances one claim or eviction script handles before yielding to other clients. */
const BATCH = 1000

type Fields = [string, string, string, string | null]
type HeartbeatReply = [Fields, number, string]

/** Heartbeats sent in one script call at most; more wait for the next. */
const HEARTBEAT_BATCH = 256

interface PendingHeartbeat {
  update: InstanceUpdate
  resolve: (reply: HeartbeatReply | null) => void
  reject: (error: unknown) => void
}

interface Scripts {
  lunaRegister: (...args: Array<string | number>) => Promise<[Fields | null, number]>
  lunaHeartbeats: (...args: Array<string | number>) => Promise<Array<HeartbeatReply | null>>
  lunaRemove: (...args: Array<string | number>) => Promise<number>
  lunaList: (...args: Array<string | number>) => Promise<Array<string | Fields>>
  lunaClaim: (...args: Array<string | number>) => Promise<Array<string | Fields>>
  lunaEvict: (...args: Array<string | number>) => Promise<Array<string | Fields>>
  lunaMarker: (...args: Array<string | number>) => Promise<string>
}

function toRecord ([json, registeredAt, lastHeartbeat, reportedDownSince]: Fields): InstanceRecord {
  const record = JSON.parse(json) as InstanceRecord
  record.registeredAt = Number(registeredAt)
  record.lastHeartbeat = Number(lastHeartbeat)
  if (reportedDownSince !== null && reportedDownSince !== '') record.reportedDownSince = Number(reportedDownSince)
  return record
}

/**
 * The record of `update`'s info with the given times, built field by field: a spread followed by
 * a `delete` would leave V8's fast object shapes behind.
 */
function recordOf (update: InstanceUpdate, registeredAt: number, lastHeartbeat: number, reportedDownSince: string | null): InstanceRecord {
  const { instanceId, name, version, url, status, balancerOptions, metadata, description } = update
  const record: InstanceRecord = description === undefined
    ? { instanceId, name, version, url, status, balancerOptions, metadata, registeredAt, lastHeartbeat }
    : { instanceId, name, version, url, status, balancerOptions, metadata, description, registeredAt, lastHeartbeat }
  if (reportedDownSince !== null && reportedDownSince !== '') record.reportedDownSince = Number(reportedDownSince)
  return record
}

/** A JSON text kept with the values it was written from, to be told by identity. */
interface Written {
  update: InstanceUpdate
  json: string
}

function sameInfo (a: InstanceUpdate, b: InstanceUpdate): boolean {
  return a.metadata === b.metadata && a.balancerOptions === b.balancerOptions && a.instanceId === b.instanceId &&
    a.name === b.name && a.version === b.version && a.url === b.url && a.status === b.status && a.description === b.description
}

/** `[id, fields, id, fields, …]` as records, skipping ids whose instance vanished meanwhile. */
function toRecords (flat: Array<string | Fields>): InstanceRecord[] {
  const records: InstanceRecord[] = []
  for (let i = 1; i < flat.length; i += 2) {
    const fields = flat[i] as Fields
    if (fields[0] !== null) records.push(toRecord(fields))
  }
  return records
}

/**
 * The info as stored in JSON: everything the scripts do not keep in fields of their own, in the
 * order the registry builds a record (the heartbeat script tells a repeated info by its text).
 */
function writeInfo (update: InstanceUpdate): string {
  const { instanceId, name, version, url, status, balancerOptions, metadata, description } = update
  return JSON.stringify({ instanceId, name, version, url, status, balancerOptions, metadata, description })
}

/**
 * The JSON of the info, written once for each remembered body: the registry hands the store a
 * remembered body's frozen metadata with every heartbeat that repeats it, and the text is kept
 * with it (weakly: it goes with the body). A JSON.stringify was 2 µs of each heartbeat.
 */
const written = new WeakMap<object, Written>()
function infoJson (update: InstanceUpdate): string {
  // Frozen objects are taken as unchanging, as the memory store takes them.
  if (!Object.isFrozen(update.metadata) || !Object.isFrozen(update.balancerOptions)) return writeInfo(update)
  const known = written.get(update.metadata)
  if (known !== undefined && sameInfo(known.update, update)) return known.json
  const json = writeInfo(update)
  written.set(update.metadata, { update, json })
  return json
}

/**
 * A Luna store in Redis, for registries that must survive a restart or run as several replicas.
 * Every write is one Lua script (atomic, one round trip); heartbeat deadlines live in sorted
 * sets, so finding missed ones costs what is found; change events travel over pub/sub. While
 * Redis cannot be reached, every call fails within `commandTimeout` with a 503
 * (`FST_LUNA_STORE_UNAVAILABLE`), and the connection is retried until Redis is back. When the
 * shared state may have changed unannounced (the subscription was down, or the keys were lost),
 * the subscriber's `resync` is called.
 */
export class RedisStore implements SharedStore {
  readonly keyPrefix: string
  readonly #redis: Redis & Scripts
  #subscriber: Redis | undefined
  readonly #log: StoreLogger | undefined
  #down = false
  #heartbeats: PendingHeartbeat[] = []
  readonly #checkInterval: number
  #checkTimer: NodeJS.Timeout | undefined
  /** The marker's value when last read; `undefined` before the first read. */
  #marker: string | undefined
  /** Whether the subscription is in place: no message published since was missed. */
  #subscribed = false
  /** Whether messages may have been missed since the subscriber was last told to resync. */
  #missed = false
  #checking: Promise<void> | undefined
  #checkAgain = false
  #resync: (() => void) | undefined

  constructor (options: RedisStoreOptions = {}) {
    this.keyPrefix = options.keyPrefix ?? 'luna:'
    this.#log = options.log
    this.#checkInterval = options.checkInterval ?? 2000
    if (!(Number.isFinite(this.#checkInterval) && this.#checkInterval > 0)) {
      throw new TypeError(`luna-store-redis: checkInterval must be a positive number of milliseconds, not ${String(options.checkInterval)}`)
    }
    const settings: RedisOptions = {
      ...options.redis,
      // Fail at once rather than queue while Redis is away: callers get a 503, not a hang.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: options.commandTimeout ?? 1000,
      commandTimeout: options.commandTimeout ?? 1000,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
      enableAutoPipelining: true
    }
    this.#redis = new Redis(options.url ?? 'redis://127.0.0.1:6379', settings) as Redis & Scripts
    this.#watch(this.#redis)
    this.#redis.defineCommand('lunaRegister', { numberOfKeys: 5, lua: REGISTER })
    // The number of keys comes first in each call: one per heartbeat of the batch, and two more.
    this.#redis.defineCommand('lunaHeartbeats', { lua: HEARTBEATS })
    this.#redis.defineCommand('lunaRemove', { numberOfKeys: 4, lua: REMOVE })
    this.#redis.defineCommand('lunaList', { numberOfKeys: 1, lua: LIST })
    this.#redis.defineCommand('lunaClaim', { numberOfKeys: 2, lua: CLAIM })
    this.#redis.defineCommand('lunaEvict', { numberOfKeys: 3, lua: EVICT })
    this.#redis.defineCommand('lunaMarker', { numberOfKeys: 1, lua: MARKER })
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

  available (): boolean {
    return this.#redis.status === 'ready'
  }

  async register (record: InstanceRecord): Promise<RegisterResult> {
    const [previous, timedOut] = await this.#call(() => this.#redis.lunaRegister(
      this.#instance(record.instanceId), this.#ids, this.#service(record.name), this.#live, this.#timedOut,
      record.instanceId, infoJson(record), record.name, record.status, record.registeredAt, record.lastHeartbeat,
      record.reportedDownSince ?? ''))
    const instance = { ...record }
    return previous === null
      ? { created: true, instance, timedOut: timedOut === 1 }
      : { created: false, instance, previous: toRecord(previous), timedOut: timedOut === 1 }
  }

  async heartbeat (update: InstanceUpdate): Promise<HeartbeatResult | undefined> {
    const result = await new Promise<HeartbeatReply | null>((resolve, reject) => {
      this.#heartbeats.push({ update, resolve, reject })
      if (this.#heartbeats.length === 1) setImmediate(() => { this.#sendHeartbeats() })
    })
    if (result === null) return undefined
    const [fields, timedOut, reportedDownSince] = result
    // '' in place of the previous info: it was the same as this heartbeat's.
    const previous = fields[0] === '' ? recordOf(update, Number(fields[1]), Number(fields[2]), fields[3]) : toRecord(fields)
    const instance = recordOf(update, previous.registeredAt, update.lastHeartbeat, reportedDownSince)
    return { instance, previous, timedOut: timedOut === 1 }
  }

  async remove (instanceId: string): Promise<boolean> {
    const removed = await this.#call(() => this.#redis.lunaRemove(
      this.#instance(instanceId), this.#ids, this.#live, this.#timedOut, instanceId, `${this.keyPrefix}s:`))
    return removed === 1
  }

  async get (instanceId: string): Promise<InstanceRecord | undefined> {
    const fields = await this.#call(() => this.#redis.hmget(this.#instance(instanceId), 'json', 'registeredAt', 'lastHeartbeat', 'rds'))
    return fields[0] === null ? undefined : toRecord(fields as Fields)
  }

  async list (filter: ListFilter = {}): Promise<InstanceRecord[]> {
    const set = filter.service === undefined ? this.#ids : this.#service(filter.service)
    return toRecords(await this.#call(() => this.#redis.lunaList(set, `${this.keyPrefix}i:`)))
  }

  async claimTimedOut (before: number): Promise<InstanceRecord[]> {
    return await this.#batches(() => this.#redis.lunaClaim(this.#live, this.#timedOut, before, BATCH, `${this.keyPrefix}i:`))
  }

  async evictTimedOut (before: number): Promise<InstanceRecord[]> {
    return await this.#batches(() => this.#redis.lunaEvict(
      this.#timedOut, this.#live, this.#ids, before, BATCH, `${this.keyPrefix}i:`, `${this.keyPrefix}s:`))
  }

  async publish (message: SharedEvent): Promise<void> {
    await this.#call(() => this.#redis.publish(this.#channel, JSON.stringify(message)))
  }

  async subscribe (listener: (message: SharedEvent) => void, resync?: () => void): Promise<void> {
    // A connection in subscriber mode can do nothing else: it gets one of its own.
    if (this.#subscriber !== undefined) throw new Error('luna-store-redis: subscribe() is called once per store')
    const subscriber = this.#subscriber = this.#redis.duplicate()
    this.#resync = resync
    this.#watch(subscriber)
    subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.#channel) return
      // Anything may be published on a channel: what is not one of ours is dropped, not thrown
      // inside the connection's data handler.
      let message: SharedEvent
      try {
        message = JSON.parse(text) as SharedEvent
      } catch {
        return
      }
      if (typeof message?.origin === 'string' && typeof message.event?.type === 'string') listener(message)
    })
    // What is published while the subscriber is away is lost to it.
    subscriber.on('close', () => {
      if (this.#subscribed) this.#missed = true
      this.#subscribed = false
    })
    // Joined again on every connection: a subscription that failed while Redis was away is
    // not one ioredis would restore by itself.
    const join = async (): Promise<void> => {
      try {
        await subscriber.subscribe(this.#channel)
      } catch {
        return
      }
      this.#subscribed = true
      this.#check()
    }
    subscriber.on('ready', join)
    // A reconnection of the other connection may be the one that brings back a Redis that lost
    // the keys: looked at as soon as it is ready.
    this.#redis.on('ready', () => { this.#check() })
    this.#checkTimer = setInterval(() => { this.#check() }, this.#checkInterval).unref()
    // Events published before the subscription stands would be missed: wait for it, but not
    // for ever, so that a registry whose Redis is away still starts.
    if (subscriber.status !== 'ready') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000)
        subscriber.once('ready', () => { clearTimeout(timer); resolve() })
      })
    }
    await join()
    // Started without a subscription: whatever was published until it stands is missed.
    if (!this.#subscribed) this.#missed = true
  }

  async close (): Promise<void> {
    clearInterval(this.#checkTimer)
    for (const connection of [this.#subscriber, this.#redis]) {
      if (connection === undefined) continue
      if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect())
      else connection.disconnect()
    }
  }

  get #ids (): string { return `${this.keyPrefix}ids` }
  get #live (): string { return `${this.keyPrefix}live` }
  get #timedOut (): string { return `${this.keyPrefix}timedout` }
  get #channel (): string { return `${this.keyPrefix}events` }
  get #markerKey (): string { return `${this.keyPrefix}marker` }
  #instance (id: string): string { return `${this.keyPrefix}i:${id}` }
  #service (name: string): string { return `${this.keyPrefix}s:${name}` }

  async #batches (run: () => Promise<Array<string | Fields>>): Promise<InstanceRecord[]> {
    const records: InstanceRecord[] = []
    for (;;) {
      const flat = await this.#call(run)
      records.push(...toRecords(flat))
      if (flat.length < BATCH * 2) return records
    }
  }

  /**
   * Runs a command. A lost or slow connection, or a Redis that cannot serve (loading, read-only,
   * busy, out of memory), becomes a 503; any other reply error is a fault of ours and stays one.
   */
  /**
   * Sends the heartbeats that arrived since the last call, up to `HEARTBEAT_BATCH`, in one script
   * call: the requests read in one turn of the event loop share one command, and Redis one call.
   * Each heartbeat is applied as on its own, in the order they came.
   */
  #sendHeartbeats (): void {
    const batch = this.#heartbeats.splice(0, HEARTBEAT_BATCH)
    if (this.#heartbeats.length > 0) setImmediate(() => { this.#sendHeartbeats() })
    const keys: string[] = [this.#live, this.#timedOut]
    const args: Array<string | number> = []
    for (const { update } of batch) {
      keys.push(this.#instance(update.instanceId))
      args.push(update.instanceId, infoJson(update), update.status, update.lastHeartbeat, update.reportedDownSince ?? '')
    }
    this.#call(async () => await this.#redis.lunaHeartbeats(keys.length, ...keys, ...args)).then((replies) => {
      batch.forEach((pending, index) => { pending.resolve(replies[index] ?? null) })
    }, (error: unknown) => {
      for (const pending of batch) pending.reject(error)
    })
  }

  async #call<T> (run: () => Promise<T>): Promise<T> {
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

  /**
   * Reads the marker (writing it if it is missing) and tells the subscriber to resync when it
   * changed or when messages were missed. Only once both connections are ready: a resync is
   * read from the store, and told only once no message can be missed any more.
   */
  #check (): void {
    if (this.#checking !== undefined) {
      this.#checkAgain = true
      return
    }
    this.#checking = this.#checkMarker().finally(() => {
      this.#checking = undefined
      if (this.#checkAgain) {
        this.#checkAgain = false
        this.#check()
      }
    })
  }

  async #checkMarker (): Promise<void> {
    if (!this.#subscribed || this.#redis.status !== 'ready') return
    const missed = this.#missed
    this.#missed = false
    let marker: string
    try {
      marker = await this.#redis.lunaMarker(this.#markerKey, randomUUID())
    } catch {
      // Looked at again on the next tick or connection.
      this.#missed ||= missed
      return
    }
    const lost = this.#marker !== undefined && marker !== this.#marker
    this.#marker = marker
    if (lost) this.#log?.warn({}, 'luna-store-redis: Redis lost the registry\'s keys; what was registered must register again')
    if (!lost && !missed) return
    try {
      this.#resync?.()
    } catch (error) {
      // Thrown inside a timer or a connection's handler, it would take the process down.
      this.#log?.warn({ err: error }, 'luna-store-redis: the resync callback failed')
    }
  }

  #watch (connection: Redis): void {
    connection.on('error', (error: Error) => { this.#outage(error) })
    connection.on('ready', () => { if (this.#down) this.#recovered() })
  }

  /**
   * One line per outage, however it shows: ioredis repeats its error on every reconnection
   * attempt, and every request meanwhile fails.
   */
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
