import type {
  GuardStore,
  HeartbeatResult,
  InstanceRecord,
  InstanceUpdate,
  ListFilter,
  Maintenance,
  ProtectionState,
  ProtectionSwap,
  RecentTimeout,
  RegisterResult,
  RegistryStore
} from '../store.js'
import { MemoryGuards } from './memory-guards.js'

/** A string of its own with the same characters, holding on to nothing else. */
function fresh (text: string): string {
  return JSON.parse(JSON.stringify(text)) as string
}

/**
 * The record to keep: its objects are frozen (see `RegistryStore`), so they are kept as they
 * are. Built field by field, with the
 * description in the literal when there is one: records then have one of two shapes, which keeps
 * reads fast, and none carries a spill array for a field added afterwards (40 bytes a record).
 * Copying so costs a tenth of what a spread of objects of varied shapes does. Records handed out
 * are read-only by type.
 */
function copy (record: InstanceUpdate, registeredAt: number, reportedDownSince = record.reportedDownSince, previous?: Readonly<InstanceRecord>): Readonly<InstanceRecord> {
  // The strings the store already holds, not the request's equal copies: the time queue keeps
  // an id per heartbeat, and they should all be one string. A new id is copied: the caller's is
  // often a slice of a request URL, which it would keep alive.
  const instanceId = previous?.instanceId ?? fresh(record.instanceId)
  const name = previous?.name ?? fresh(record.name)
  const { version, url, status, description, lastHeartbeat } = record
  const { balancerOptions, metadata } = record
  const stored: InstanceRecord = description === undefined
    ? { instanceId, name, version, url, status, balancerOptions, metadata, registeredAt, lastHeartbeat }
    : { instanceId, name, description, version, url, status, balancerOptions, metadata, registeredAt, lastHeartbeat }
  // Rare (an instance reporting DOWN): left out of the literals.
  if (reportedDownSince !== undefined) stored.reportedDownSince = reportedDownSince
  return stored
}

/**
 * Instance ids with a time, oldest first: a heartbeat appends, a sweep takes from the front. With
 * a clock that moves forward, appending keeps the order for free and taking costs only what is
 * taken. Entries are never searched for: one that a later heartbeat or a removal made stale is
 * recognised and skipped by the store when it comes out. (Moving an id to the back of a Map
 * instead costs time in proportion to the Map's size when one id is moved again and again.)
 * An entry older than the newest (a clock stepped back, a record written with an old
 * timestamp) is noted, and the next take sorts once.
 */
class TimeQueue {
  #ids: string[] = []
  #times: number[] = []
  #head = 0
  #newest = -Infinity
  #sorted = true

  push (id: string, at: number): void {
    this.#ids.push(id)
    this.#times.push(at)
    if (at < this.#newest) this.#sorted = false
    else this.#newest = at
  }

  /** Removes the entries whose time is at or before `before` and hands each to `take`, oldest first. */
  takeUntil (before: number, take: (id: string, at: number) => void): void {
    if (!this.#sorted) this.#sort()
    while (this.#head < this.#times.length && this.#times[this.#head]! <= before) {
      take(this.#ids[this.#head]!, this.#times[this.#head]!)
      this.#head++
    }
    // Drop the taken prefix once it is most of the arrays.
    if (this.#head > 1024 && this.#head * 2 > this.#ids.length) {
      this.#ids = this.#ids.slice(this.#head)
      this.#times = this.#times.slice(this.#head)
      this.#head = 0
    }
  }

  #sort (): void {
    const order = Array.from({ length: this.#ids.length - this.#head }, (_, i) => i + this.#head)
      .sort((a, b) => this.#times[a]! - this.#times[b]!)
    this.#ids = order.map((i) => this.#ids[i]!)
    this.#times = order.map((i) => this.#times[i]!)
    this.#head = 0
    this.#newest = this.#times.at(-1) ?? -Infinity
    this.#sorted = true
  }
}

/**
 * The embedded default: instances in process memory, indexed by id, by service and by
 * heartbeat deadline. Every method completes synchronously, so each write is atomic with
 * respect to every other.
 */
export class MemoryStore implements RegistryStore, GuardStore {
  readonly #instances = new Map<string, Readonly<InstanceRecord>>()
  /** The ids of each service's instances: a heartbeat changes a record, never who belongs where. */
  readonly #byService = new Map<string, Set<string>>()
  /** Every registration and heartbeat, by time: the candidates for a timeout. */
  readonly #live = new TimeQueue()
  /** Instances handed out as timed out, waiting for a heartbeat or for eviction. */
  readonly #claimed = new Set<string>()
  /** The claims, by time: the candidates for eviction. */
  readonly #timedOut = new TimeQueue()
  readonly #guards = new MemoryGuards()

  async register (record: InstanceRecord): Promise<RegisterResult> {
    const previous = this.#instances.get(record.instanceId)
    const stored = copy(record, record.registeredAt, record.reportedDownSince, previous)
    const timedOut = this.#claimed.has(stored.instanceId)
    this.#put(stored, previous === undefined)
    return previous === undefined
      ? { created: true, instance: stored, timedOut }
      : { created: false, instance: stored, previous, timedOut }
  }

  async heartbeat (update: InstanceUpdate): Promise<HeartbeatResult | undefined> {
    const previous = this.#instances.get(update.instanceId)
    if (previous === undefined) return undefined
    const stillDown = update.status === 'DOWN' && previous.status === 'DOWN' && previous.reportedDownSince !== undefined
    const instance = copy(update, previous.registeredAt, stillDown ? previous.reportedDownSince : update.reportedDownSince, previous)
    const timedOut = this.#claimed.has(update.instanceId)
    this.#put(instance, false)
    return { instance, previous, timedOut }
  }

  async remove (instanceId: string): Promise<boolean> {
    const previous = this.#instances.get(instanceId)
    if (previous === undefined) return false
    this.#delete(previous)
    return true
  }

  async get (instanceId: string): Promise<Readonly<InstanceRecord> | undefined> {
    return this.#instances.get(instanceId)
  }

  async list (filter: ListFilter = {}): Promise<Array<Readonly<InstanceRecord>>> {
    if (filter.service === undefined) return [...this.#instances.values()]
    const ids = this.#byService.get(filter.service)
    if (ids === undefined) return []
    const records: Array<Readonly<InstanceRecord>> = []
    for (const id of ids) records.push(this.#instances.get(id)!)
    return records
  }

  async claimTimedOut (before: number): Promise<Array<Readonly<InstanceRecord>>> {
    const claimed: Array<Readonly<InstanceRecord>> = []
    this.#live.takeUntil(before, (id, at) => {
      const record = this.#instances.get(id)
      // Stale entries: removed since, heartbeated since, or already handed out.
      if (record === undefined || record.lastHeartbeat !== at || this.#claimed.has(id)) return
      this.#claimed.add(id)
      this.#timedOut.push(id, at)
      claimed.push(record)
    })
    return claimed
  }

  async evictTimedOut (before: number): Promise<Array<Readonly<InstanceRecord>>> {
    const evicted: Array<Readonly<InstanceRecord>> = []
    this.#timedOut.takeUntil(before, (id, at) => {
      const record = this.#instances.get(id)
      if (record === undefined || record.lastHeartbeat !== at || !this.#claimed.has(id)) return
      this.#delete(record)
      evicted.push(record)
    })
    return evicted
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

  /** Always answers: the data is in this process. */
  async ping (): Promise<void> {}

  /** Nothing to release: the data lives and dies with the process, so hooks that deregister while the app closes still work. */
  async close (): Promise<void> {}

  #delete (record: Readonly<InstanceRecord>): void {
    this.#instances.delete(record.instanceId)
    this.#claimed.delete(record.instanceId)
    const service = this.#byService.get(record.name)!
    service.delete(record.instanceId)
    if (service.size === 0) this.#byService.delete(record.name)
  }

  /** Stores `record`; `joins` when its id is new, so its service gains a member. */
  #put (record: Readonly<InstanceRecord>, joins: boolean): void {
    this.#instances.set(record.instanceId, record)
    this.#claimed.delete(record.instanceId)
    this.#live.push(record.instanceId, record.lastHeartbeat)
    if (!joins) return
    let service = this.#byService.get(record.name)
    if (service === undefined) {
      service = new Set()
      this.#byService.set(record.name, service)
    }
    service.add(record.instanceId)
  }
}
