import type {
  HeartbeatResult,
  InstanceRecord,
  InstanceUpdate,
  ListFilter,
  RegisterResult,
  RegistryStore
} from '../store.js'

function freeze (record: InstanceRecord): Readonly<InstanceRecord> {
  // A private copy, frozen, so nothing the caller keeps or receives can change what is stored.
  return Object.freeze({
    ...record,
    balancerOptions: Object.freeze({ ...record.balancerOptions }),
    metadata: Object.freeze({ ...record.metadata })
  })
}

/**
 * Instance ids in order of `lastHeartbeat`. A Map iterates in insertion order and every write
 * re-inserts at the end, so with a clock that moves forward the order is the deadline order for
 * free, and taking the expired ones costs only what is taken. A write that arrives out of order
 * (a clock stepped back, a record written with an old timestamp) is noted, and the next scan
 * sorts once.
 */
class DeadlineQueue {
  readonly #entries = new Map<string, number>()
  #last = -Infinity
  #sorted = true

  add (id: string, at: number): void {
    this.#entries.delete(id)
    this.#entries.set(id, at)
    if (at < this.#last) this.#sorted = false
    else this.#last = at
  }

  delete (id: string): void {
    this.#entries.delete(id)
  }

  has (id: string): boolean {
    return this.#entries.has(id)
  }

  /** Removes and returns the ids whose time is at or before `before`. */
  takeUntil (before: number): string[] {
    if (!this.#sorted) this.#sort()
    const taken: string[] = []
    for (const [id, at] of this.#entries) {
      if (at > before) break
      taken.push(id)
    }
    for (const id of taken) this.#entries.delete(id)
    return taken
  }

  #sort (): void {
    const entries = [...this.#entries].sort((a, b) => a[1] - b[1])
    this.#entries.clear()
    for (const [id, at] of entries) this.#entries.set(id, at)
    this.#sorted = true
  }
}

/**
 * The embedded default: instances in process memory, indexed by id, by service and by
 * heartbeat deadline. Every method completes synchronously, so each write is atomic with
 * respect to every other.
 */
export class MemoryStore implements RegistryStore {
  readonly #instances = new Map<string, Readonly<InstanceRecord>>()
  readonly #byService = new Map<string, Map<string, Readonly<InstanceRecord>>>()
  /** Instances not yet handed out as timed out. */
  readonly #live = new DeadlineQueue()
  /** Instances handed out as timed out, waiting for a heartbeat or for eviction. */
  readonly #timedOut = new DeadlineQueue()

  async register (record: InstanceRecord): Promise<RegisterResult> {
    const stored = freeze(record)
    const previous = this.#instances.get(stored.instanceId)
    const timedOut = this.#timedOut.has(stored.instanceId)
    this.#put(stored)
    return previous === undefined
      ? { created: true, instance: stored, timedOut }
      : { created: false, instance: stored, previous, timedOut }
  }

  async heartbeat (update: InstanceUpdate): Promise<HeartbeatResult | undefined> {
    const previous = this.#instances.get(update.instanceId)
    if (previous === undefined) return undefined
    const record: InstanceRecord = { ...update, registeredAt: previous.registeredAt }
    if (update.status === 'DOWN' && previous.status === 'DOWN' && previous.reportedDownSince !== undefined) {
      record.reportedDownSince = previous.reportedDownSince
    }
    const instance = freeze(record)
    const timedOut = this.#timedOut.has(update.instanceId)
    this.#put(instance)
    return { instance, previous, timedOut }
  }

  async remove (instanceId: string): Promise<boolean> {
    const previous = this.#instances.get(instanceId)
    if (previous === undefined) return false
    this.#instances.delete(instanceId)
    this.#live.delete(instanceId)
    this.#timedOut.delete(instanceId)
    const service = this.#byService.get(previous.name)!
    service.delete(instanceId)
    if (service.size === 0) this.#byService.delete(previous.name)
    return true
  }

  async get (instanceId: string): Promise<Readonly<InstanceRecord> | undefined> {
    return this.#instances.get(instanceId)
  }

  async list (filter: ListFilter = {}): Promise<Array<Readonly<InstanceRecord>>> {
    if (filter.service === undefined) return [...this.#instances.values()]
    return [...(this.#byService.get(filter.service)?.values() ?? [])]
  }

  async claimTimedOut (before: number): Promise<Array<Readonly<InstanceRecord>>> {
    return this.#live.takeUntil(before).map((id) => {
      const record = this.#instances.get(id)!
      this.#timedOut.add(id, record.lastHeartbeat)
      return record
    })
  }

  async evictTimedOut (before: number): Promise<Array<Readonly<InstanceRecord>>> {
    const evicted = this.#timedOut.takeUntil(before).map((id) => this.#instances.get(id)!)
    for (const record of evicted) await this.remove(record.instanceId)
    return evicted
  }

  /** Nothing to release: the data lives and dies with the process, so hooks that deregister while the app closes still work. */
  async close (): Promise<void> {}

  #put (record: Readonly<InstanceRecord>): void {
    this.#instances.set(record.instanceId, record)
    this.#timedOut.delete(record.instanceId)
    this.#live.add(record.instanceId, record.lastHeartbeat)
    let service = this.#byService.get(record.name)
    if (service === undefined) {
      service = new Map()
      this.#byService.set(record.name, service)
    }
    service.set(record.instanceId, record)
  }
}
