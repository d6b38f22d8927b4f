import type { RegistryEvent } from './events.js'

/** What an instance says about itself. */
export type ReportedStatus = 'OK' | 'DOWN'

export interface BalancerOptions {
  /** 0–1000; 0 sends no traffic. */
  weight: number
  [key: string]: unknown
}

/**
 * One registration as a store keeps it. Timestamps are epoch milliseconds. The effective status
 * is never stored: the plugin computes it from `status` and `lastHeartbeat` when it is read.
 */
export interface InstanceRecord {
  instanceId: string
  /** Always the service name part of `instanceId`, so a store may index by it. */
  name: string
  description?: string
  version: string
  url: string
  status: ReportedStatus
  balancerOptions: BalancerOptions
  metadata: Record<string, string>
  registeredAt: number
  lastHeartbeat: number
  /**
   * Since when the instance has been reporting `DOWN` without a break; absent while it reports
   * `OK`. A heartbeat that reports `DOWN` again keeps the stored value.
   */
  reportedDownSince?: number
}

/** The fields a heartbeat replaces: everything but the registration time. */
export type InstanceUpdate = Omit<InstanceRecord, 'registeredAt'>

export interface RegisterResult {
  /** `true` when no instance had this id, `false` when a registration was replaced. */
  created: boolean
  instance: Readonly<InstanceRecord>
  /** The registration that was replaced, if any. */
  previous?: Readonly<InstanceRecord>
  /** Whether `previous` had been handed out by `claimTimedOut` (its timeout was announced). */
  timedOut: boolean
}

export interface HeartbeatResult {
  instance: Readonly<InstanceRecord>
  /** The record as it was before this heartbeat. */
  previous: Readonly<InstanceRecord>
  /** Whether `previous` had been handed out by `claimTimedOut` (its timeout was announced). */
  timedOut: boolean
}

export interface ListFilter {
  /** Only the instances of this service. */
  service?: string
}

/**
 * The only thing a backend implements. Every method is async and every write is atomic.
 *
 * Inputs are frozen; stores may keep them. Every record and update the registry hands a store is
 * frozen all the way down (its `metadata` and `balancerOptions` included), so a store may keep
 * those objects as they are, without a copy, and may tell a repeated one by identity. Records
 * handed out are read-only snapshots: callers never mutate them, stores never mutate them after
 * handing them out.
 */
export interface RegistryStore {
  /** Create, or replace whole, the instance with `record.instanceId`, and say which happened. */
  register (record: InstanceRecord): Promise<RegisterResult>
  /**
   * Replace the info of an existing instance, keeping its `registeredAt` (and its
   * `reportedDownSince` when both the stored and the new status are `DOWN`). Resolves `undefined`
   * and writes nothing when the instance does not exist: a heartbeat never resurrects.
   */
  heartbeat (update: InstanceUpdate): Promise<HeartbeatResult | undefined>
  /** Resolves `true` when the instance existed and is now gone. */
  remove (instanceId: string): Promise<boolean>
  get (instanceId: string): Promise<Readonly<InstanceRecord> | undefined>
  /** The instances, in no particular order; the plugin sorts. */
  list (filter?: ListFilter): Promise<Array<Readonly<InstanceRecord>>>
  /**
   * Hands out, once, the instances whose `lastHeartbeat` is at or before `before` and that have
   * not been handed out since their last registration or heartbeat. Once means once across every
   * process sharing the store: this is how a timeout is announced a single time. Stores keep a
   * deadline-ordered index so that this costs about what it returns, not what they hold.
   */
  claimTimedOut (before: number): Promise<Array<Readonly<InstanceRecord>>>
  /**
   * Removes, and returns, the instances handed out by `claimTimedOut` whose `lastHeartbeat` is
   * still at or before `before` (no heartbeat since). Each removal happens once.
   */
  evictTimedOut (before: number): Promise<Array<Readonly<InstanceRecord>>>
  /**
   * Optional: resolves when the store answers as the registry's writes need it to, rejects when
   * it does not (unreachable, too slow, read-only, refusing the registry's keys). Cheap enough for
   * a readiness probe every few seconds. A store without it is asked for an instance instead.
   */
  ping? (): Promise<void>
  close (): Promise<void>
}

/** An event as it travels between processes sharing a store: without the receiver's own `id`. */
export interface SharedEvent {
  /** The process that emitted it; a process ignores its own. */
  origin: string
  event: Omit<RegistryEvent, 'id'>
}

/**
 * What a store shared by several processes adds: the registry's change events travel between
 * them, and the store says whether it can be reached. The memory store needs none of it.
 */
export interface SharedStore extends RegistryStore {
  publish (message: SharedEvent): Promise<void>
  /**
   * Starts delivering every published message, this process's own included. `resync`, when
   * given, is called whenever the shared state may have changed without messages to say so:
   * messages were lost while the subscription was down, or the store lost its data. It is called
   * once the subscription stands again and the store answers, so a read made then is current.
   */
  subscribe (listener: (message: SharedEvent) => void, resync?: () => void): Promise<void>
  /** Whether the store can be reached right now; cheap enough for every health probe. */
  available (): boolean
}

export function isSharedStore (store: RegistryStore): store is SharedStore {
  const shared = store as Partial<SharedStore>
  return typeof shared.publish === 'function' && typeof shared.subscribe === 'function' && typeof shared.available === 'function'
}

export const STORE_METHODS = ['register', 'heartbeat', 'remove', 'get', 'list', 'claimTimedOut', 'evictTimedOut', 'close'] as const

/** An operator's hold on an instance: DOWN whatever it reports, until lifted. */
export interface Maintenance {
  reason: string
  /** Epoch milliseconds. */
  since: number
}

/**
 * Whether mass-expiry protection is on, as the registry (every replica of it) decides it. While
 * it is on, nothing is evicted.
 */
export interface ProtectionState {
  active: boolean
  /** One more with every change, so that a replica changes only the state it read. */
  version: number
  /** While active: when it turned on. */
  since?: number
  /** While active: why, in words. */
  reason?: string
  /** While active: instances that timed out, and of how many that were OK or timed out. */
  timedOut?: number
  of?: number
  /** When it was last ended before its instances came back (its longest duration, an operator): timeouts until then no longer count. */
  endedAt?: number
}

export interface ProtectionSwap {
  swapped: boolean
  state: ProtectionState
}

/** An instance announced as timed out while it was OK, and when. */
export interface RecentTimeout {
  instanceId: string
  at: number
}

/**
 * What the registry's guards keep in the store, so that every replica sharing it sees one state:
 * when deadlines were last looked at, the recent timeouts and the protection they may turn on,
 * and the instances in maintenance. A store without these methods gets the memory store's, kept
 * in the process: right for a single process, not shared.
 */
export interface GuardStore {
  /**
   * Notes that deadlines were looked at, at `at`, and resolves when they were last looked at before
   * (by any process sharing the store); `undefined` the first time. The mark only moves forward.
   */
  markSwept (at: number): Promise<number | undefined>
  /**
   * Adds `timeouts` to the recent ones, forgets those at or before `keepAfter`, and resolves every
   * recent timeout kept, in no particular order. An instance noted again keeps its latest time.
   */
  noteTimeouts (timeouts: readonly RecentTimeout[], keepAfter: number): Promise<RecentTimeout[]>
  /** The protection state; `{ active: false, version: 0 }` before any change. */
  readProtection (): Promise<ProtectionState>
  /**
   * Replaces the state with `next` (whose `version` is one more than `expected`) if the stored
   * state's version is still `expected`, atomically; resolves whether this call replaced it, and
   * the state now stored. One replica wins each change, and announces it.
   */
  swapProtection (expected: number, next: ProtectionState): Promise<ProtectionSwap>
  /** Puts `instanceId` in maintenance (replacing a previous hold); kept whether or not it is registered. */
  setMaintenance (instanceId: string, maintenance: Maintenance): Promise<void>
  /** Lifts it; resolves `true` when there was one. */
  clearMaintenance (instanceId: string): Promise<boolean>
  /** Every instance in maintenance. */
  listMaintenance (): Promise<Array<[string, Maintenance]>>
}

export const GUARD_METHODS = ['markSwept', 'noteTimeouts', 'readProtection', 'swapProtection', 'setMaintenance', 'clearMaintenance', 'listMaintenance'] as const

export function isGuardStore (store: object): store is GuardStore {
  return GUARD_METHODS.every((method) => typeof (store as Record<string, unknown>)[method] === 'function')
}
