import type { ClusterOptions, RedisOptions } from 'ioredis'
import {
  StoreUnavailableError,
  type GuardStore,
  type HeartbeatResult,
  type InstanceRecord,
  type InstanceUpdate,
  type ListFilter,
  type Maintenance,
  type ProtectionState,
  type ProtectionSwap,
  type RecentTimeout,
  type RegisterResult,
  type SharedEvent,
  type SharedStore
} from 'luna-registry'
import { closeConnection, openConnection, OutageWatch, type Client, type StoreLogger } from './connection.js'
import { RedisGuards } from './guards.js'
import { HeartbeatBatcher } from './heartbeat-batcher.js'
import { Keys, serviceOf, type Bucket } from './keys.js'
import { infoJson, recordOf, toRecord, toRecords, type Fields } from './records.js'
import { Replication, type WaitSettings } from './replication.js'
import type { HeartbeatReply, Scripts } from './scripts.js'
import { Subscription } from './subscription.js'
import { parseRedisUrl, type ParsedRedisUrl, type RedisNode } from './url.js'

export interface RedisStoreOptions {
  /**
   * `redis://[[user]:password@]host:port[/db]`, `redis+sentinel://[[user]:password@]host:port,…/masterName[/db]`
   * or `redis+cluster://[[user]:password@]host:port,…` (`rediss…` for TLS), with the query
   * parameters `commandTimeout`, `waitReplicas`, `waitTimeout` (and `sentinelPassword` for
   * Sentinel) in place of the options of those names. Default `redis://127.0.0.1:6379`.
   */
  url?: string
  /** The sentinels to ask for the master named `name`, in place of `url`'s hosts. */
  sentinels?: RedisNode[]
  /** The master's name as the sentinels know it; with `sentinels`. */
  name?: string
  /** Some nodes of a Redis Cluster, in place of `url`'s hosts. */
  cluster?: RedisNode[]
  /** Prepended to every key and to the event channel, so several registries can share a Redis. Default `luna:`. */
  keyPrefix?: string
  /** Where outages and recoveries are reported, once each. */
  log?: StoreLogger
  /** Milliseconds a command may take before the request fails with a 503. Default 1000. */
  commandTimeout?: number
  /**
   * How many replicas must have a registration or a deregistration before it is acknowledged
   * (Redis's WAIT): `'auto'` (the default) waits for one when the master has any, 0 never waits.
   */
  waitReplicas?: number | 'auto'
  /** Milliseconds to wait for them; a write they do not confirm in time answers 503. Default 500. */
  waitTimeout?: number
  /**
   * Milliseconds between two looks at the registry's marker key, to tell that Redis lost the
   * registry's keys while the connections stayed up (a flush), and at the master's replicas.
   * A reconnection is looked at at once. Default 2000.
   */
  checkInterval?: number
  /** More ioredis options (for a cluster, those of each node's connection); the ones above win. */
  redis?: RedisOptions
  /** More ioredis Cluster options; the ones above win. */
  clusterOptions?: ClusterOptions
}

/**
 * A readiness check that fails whenever the registry's scripts would: a write (refused by a
 * read-only replica) beside a read of one of the registry's keys, in one script (refused when the
 * keys cannot be served together, as in a Redis Cluster without a hash tag in the prefix).
 */
const PING = "redis.call('SET', KEYS[1], ARGV[1], 'PX', 60000) return redis.call('EXISTS', KEYS[2])"

/** How many instances one claim or eviction script handles before yielding to other clients. */
const BATCH = 1000

/** How many instances one read script returns, so that a long list does not hold Redis up. */
const READ_BATCH = 1000

function positiveOption (name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback
  if (!(Number.isFinite(chosen) && chosen > 0)) {
    throw new TypeError(`luna-store-redis: ${name} must be a positive number of milliseconds, not ${String(value)}`)
  }
  return chosen
}

/** The URL's target, or the sentinels or cluster nodes the options give in its place. */
function targetOf (options: RedisStoreOptions): ParsedRedisUrl {
  const parsed = parseRedisUrl(options.url ?? 'redis://127.0.0.1:6379')
  if (options.sentinels !== undefined && options.cluster !== undefined) throw new TypeError('luna-store-redis: give sentinels or cluster, not both')
  if (options.sentinels !== undefined) {
    if (options.name === undefined || options.name === '') throw new TypeError('luna-store-redis: sentinels need the name of the master they watch')
    const db = parsed.target.mode === 'cluster' ? 0 : parsed.target.db
    parsed.target = { mode: 'sentinel', sentinels: options.sentinels, name: options.name, db }
  } else if (options.cluster !== undefined) {
    parsed.target = { mode: 'cluster', nodes: options.cluster }
  }
  return parsed
}

/**
 * A Luna store in Redis, for registries that must survive a restart or run as several replicas:
 * on one Redis, on a master Sentinel watches, or on a Redis Cluster. Every write is one Lua
 * script (atomic, one round trip); instances are spread over buckets of keys, each bucket under
 * one hash tag, so that on a cluster they spread over the masters and every script runs on one;
 * heartbeat deadlines live in sorted sets, so finding missed ones costs what is found; change
 * events travel over pub/sub. A registration or a deregistration is acknowledged once a replica
 * has it too (when the master has one), so that a failover does not lose it. Whatever Redis
 * fails to do fails with a 503 (`FST_LUNA_STORE_UNAVAILABLE`), within `commandTimeout` while
 * Redis cannot be reached, and the connection is retried until Redis is back. When the shared
 * state may have changed unannounced (the subscription was down, or the keys were lost), the
 * subscriber's `resync` is called.
 *
 * As luna-registry's store rule has it, what the store is given is deeply frozen and it may keep
 * it: the record a registration hands back is the one it was given.
 */
export class RedisStore implements SharedStore, GuardStore {
  readonly keyPrefix: string
  readonly #keys: Keys
  readonly #redis: Client & Scripts
  readonly #outages: OutageWatch
  readonly #heartbeats: HeartbeatBatcher
  readonly #guards: RedisGuards
  readonly #replication: Replication
  readonly #log: StoreLogger | undefined
  readonly #checkInterval: number
  /** Whether Redis is a cluster: keys of different buckets may then not meet in one script. */
  readonly #cluster: boolean
  #subscription: Subscription | undefined
  #closed: Promise<void> | undefined

  constructor (options: RedisStoreOptions = {}) {
    this.keyPrefix = options.keyPrefix ?? 'luna:'
    this.#keys = new Keys(this.keyPrefix)
    this.#log = options.log
    const url = targetOf(options)
    const { parameters } = url
    this.#checkInterval = positiveOption('checkInterval', options.checkInterval, 2000)
    const commandTimeout = positiveOption('commandTimeout', parameters.commandTimeout ?? options.commandTimeout, 1000)
    const wait: WaitSettings = {
      replicas: parameters.waitReplicas ?? options.waitReplicas ?? 'auto',
      timeout: positiveOption('waitTimeout', parameters.waitTimeout ?? options.waitTimeout, 500)
    }
    if (wait.replicas !== 'auto' && !(Number.isInteger(wait.replicas) && wait.replicas >= 0)) {
      throw new TypeError(`luna-store-redis: waitReplicas must be 'auto' or a number of replicas, not ${String(wait.replicas)}`)
    }
    this.#cluster = url.target.mode === 'cluster'
    this.#outages = new OutageWatch(this.#log, this.#cluster)
    this.#redis = openConnection({ url, commandTimeout, redis: options.redis ?? {}, cluster: options.clusterOptions ?? {} })
    this.#outages.watch(this.#redis)
    this.#replication = new Replication(this.#redis, wait, this.#checkInterval)
    this.#heartbeats = new HeartbeatBatcher((updates) => this.#sendHeartbeats(updates))
    this.#guards = new RedisGuards(this.#redis, this.#outages, this.keyPrefix)
  }

  /** Resolves once the first connection is ready, or rejects after `timeout` ms. */
  async ready (timeout = 5000): Promise<void> {
    if (this.#redis.status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.#redis.off('ready', onReady)
          reject(new StoreUnavailableError(`no connection to Redis within ${timeout} ms`))
        }, timeout)
        const onReady = (): void => { clearTimeout(timer); resolve() }
        this.#redis.once('ready', onReady)
      })
    }
    await this.#replication.look()
  }

  /**
   * Whether Redis can be reached right now and has failed no command for `checkInterval` ms;
   * never once `close()` has been called.
   */
  available (): boolean {
    return this.#closed === undefined && this.#redis.status === 'ready' && !this.#outages.failedWithin(this.#checkInterval)
  }

  /** Resolves when Redis runs a write on the registry's keys within `commandTimeout`; a 503 otherwise. */
  async ping (): Promise<void> {
    // Every bucket, so every master of a cluster answers.
    const now = Date.now()
    await Promise.all(this.#keys.buckets.map(async (bucket) => await this.#outages.call(() => this.#redis.eval(PING, 2, bucket.ready, bucket.ids, now))))
  }

  async register (record: InstanceRecord): Promise<RegisterResult> {
    const bucket = this.#keys.bucketOf(record.instanceId)
    const [previous, timedOut] = await this.#confirmed(bucket, 'lunaRegister', [
      bucket.instance(record.instanceId), bucket.ids, bucket.service(record.name), bucket.live, bucket.timedOut,
      record.instanceId, infoJson(record), record.status, record.registeredAt, record.lastHeartbeat,
      record.reportedDownSince ?? ''
    ]) as [Fields | null, number]
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
    const bucket = this.#keys.bucketOf(instanceId)
    const removed = await this.#confirmed(bucket, 'lunaRemove', [
      bucket.instance(instanceId), bucket.ids, bucket.service(serviceOf(instanceId)), bucket.live, bucket.timedOut, instanceId
    ])
    return removed === 1
  }

  async get (instanceId: string): Promise<InstanceRecord | undefined> {
    const key = this.#keys.bucketOf(instanceId).instance(instanceId)
    const [fields] = await this.#outages.call(() => this.#redis.lunaRead(1, key))
    return fields![0] === null ? undefined : toRecord(fields!)
  }

  async list (filter: ListFilter = {}): Promise<InstanceRecord[]> {
    const { service } = filter
    const lists = await this.#everyBucket(async (bucket) => {
      const ids = await this.#outages.call(() => this.#redis.smembers(service === undefined ? bucket.ids : bucket.service(service)))
      return await this.#read(bucket, ids)
    })
    return lists.flat()
  }

  async claimTimedOut (before: number): Promise<InstanceRecord[]> {
    return (await this.#whatBucketsDid((bucket) => this.#batches(bucket.live, before, (ids) => this.#redis.lunaClaim(
      2 + ids.length, bucket.live, bucket.timedOut, ...ids.map((id) => bucket.instance(id)), before, ...ids)))).flat()
  }

  async evictTimedOut (before: number): Promise<InstanceRecord[]> {
    return (await this.#whatBucketsDid((bucket) => this.#batches(bucket.timedOut, before, (ids) => this.#redis.lunaEvict(
      3 + 2 * ids.length, bucket.timedOut, bucket.live, bucket.ids,
      ...ids.flatMap((id) => [bucket.instance(id), bucket.service(serviceOf(id))]), before, ...ids)))).flat()
  }

  async markSwept (at: number): Promise<number | undefined> {
    return await this.#guards.markSwept(at)
  }

  async noteTimeouts (timeouts: readonly RecentTimeout[], keepAfter: number): Promise<RecentTimeout[]> {
    return await this.#guards.noteTimeouts(timeouts, keepAfter)
  }

  async readProtection (): Promise<ProtectionState> {
    return await this.#guards.readProtection()
  }

  async swapProtection (expected: number, next: ProtectionState): Promise<ProtectionSwap> {
    return await this.#guards.swapProtection(expected, next)
  }

  async setMaintenance (instanceId: string, maintenance: Maintenance): Promise<void> {
    await this.#guards.setMaintenance(instanceId, maintenance)
  }

  async clearMaintenance (instanceId: string): Promise<boolean> {
    return await this.#guards.clearMaintenance(instanceId)
  }

  async listMaintenance (): Promise<Array<[string, Maintenance]>> {
    return await this.#guards.listMaintenance()
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
    this.#replication.close()
    await this.#subscription?.close()
    await closeConnection(this.#redis)
  }

  /** `run` for every bucket at once: on a cluster, each on the master that holds it. */
  async #everyBucket<T> (run: (bucket: Bucket) => Promise<T>): Promise<T[]> {
    return await Promise.all(this.#keys.buckets.map(run))
  }

  /**
   * `run` for every bucket at once, and what those that succeeded did, though others failed: a
   * claim or an eviction that happened must be handed out, or it would never be announced. The
   * buckets that failed (a master away) are done on a later sweep; only when every one failed is
   * it an error.
   */
  async #whatBucketsDid<T> (run: (bucket: Bucket) => Promise<T>): Promise<T[]> {
    const settled = await Promise.allSettled(this.#keys.buckets.map(run))
    const done = settled.filter((result) => result.status === 'fulfilled').map((result) => result.value)
    if (done.length === 0) throw (settled[0] as PromiseRejectedResult).reason
    return done
  }

  /** The records of `ids` in `bucket`, read in batches; those gone meanwhile left out. */
  async #read (bucket: Bucket, ids: string[]): Promise<InstanceRecord[]> {
    const batches: Array<Promise<Fields[]>> = []
    for (let start = 0; start < ids.length; start += READ_BATCH) {
      const keys = ids.slice(start, start + READ_BATCH).map((id) => bucket.instance(id))
      batches.push(this.#outages.call(() => this.#redis.lunaRead(keys.length, ...keys)))
    }
    const records: InstanceRecord[] = []
    for (const fields of (await Promise.all(batches)).flat()) {
      if (fields[0] !== null) records.push(toRecord(fields))
    }
    return records
  }

  /**
   * The ids of `index` scored at or before `before`, handed to `run` a batch at a time until
   * none is left: `run` checks each again as it moves it, so what moved meanwhile stays.
   */
  async #batches (index: string, before: number, run: (ids: string[]) => Promise<Array<string | Fields>>): Promise<InstanceRecord[]> {
    const records: InstanceRecord[] = []
    for (;;) {
      const ids = await this.#outages.call(() => this.#redis.zrangebyscore(index, '-inf', before, 'LIMIT', 0, BATCH))
      if (ids.length === 0) return records
      records.push(...toRecords(await this.#outages.call(() => run(ids))))
      if (ids.length < BATCH) return records
    }
  }

  /**
   * Runs a write script on `bucket` and, when its master has replicas to wait for, WAITs for
   * them on the same connection: the reply is the script's once enough of them have the write.
   */
  async #confirmed (bucket: Bucket, script: 'lunaRegister' | 'lunaRemove', args: Array<string | number>): Promise<unknown> {
    const replicas = this.#replication.for(bucket)
    if (replicas === 0) return await this.#outages.call(async () => await (this.#redis[script](...args) as Promise<unknown>))
    const timeout = this.#replication.timeout
    const pipeline = this.#redis.pipeline() as unknown as Record<typeof script, (...args: Array<string | number>) => unknown> & {
      wait: (replicas: number, timeout: number) => { exec: () => Promise<Array<[Error | null, unknown]> | null> }
    }
    pipeline[script](...args)
    const replies = await this.#outages.call(async () => {
      const results = await pipeline.wait(replicas, timeout).exec()
      for (const [error] of results ?? []) if (error !== null) throw error
      return results!.map(([, value]) => value)
    })
    const reached = replies[1] as number
    if (reached < replicas) {
      throw new StoreUnavailableError(`the write reached ${reached} of the ${replicas} replicas it waits for within ${timeout} ms`)
    }
    return replies[0]
  }

  async #sendHeartbeats (updates: readonly InstanceUpdate[]): Promise<Array<HeartbeatReply | null>> {
    // One script call for the batch on one Redis; on a cluster, one per bucket, each on its slot.
    const groups = new Map<Bucket | undefined, number[]>()
    updates.forEach((update, index) => {
      const group = this.#cluster ? this.#keys.bucketOf(update.instanceId) : undefined
      const indexes = groups.get(group)
      if (indexes === undefined) groups.set(group, [index])
      else indexes.push(index)
    })
    const replies = new Array<HeartbeatReply | null>(updates.length)
    await Promise.all([...groups.values()].map(async (indexes) => {
      const keys: string[] = []
      const args: Array<string | number> = []
      for (const index of indexes) {
        const update = updates[index]!
        const bucket = this.#keys.bucketOf(update.instanceId)
        keys.push(bucket.instance(update.instanceId), bucket.live, bucket.timedOut)
        args.push(update.instanceId, infoJson(update), update.status, update.lastHeartbeat, update.reportedDownSince ?? '')
      }
      const answered = await this.#outages.call(() => this.#redis.lunaHeartbeats(keys.length, ...keys, ...args))
      indexes.forEach((index, i) => { replies[index] = answered[i] ?? null })
    }))
    return replies
  }
}
