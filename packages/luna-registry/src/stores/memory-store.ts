import type { InstanceRecord, InstanceUpdate, ListFilter, RegisterResult, RegistryStore } from '../store.js'

function freeze (record: InstanceRecord): Readonly<InstanceRecord> {
  // A private copy, frozen, so nothing the caller keeps or receives can change what is stored.
  return Object.freeze({
    ...record,
    balancerOptions: Object.freeze({ ...record.balancerOptions }),
    metadata: Object.freeze({ ...record.metadata })
  })
}

/**
 * The embedded default: instances in process memory, indexed by id and by service. Every method
 * completes synchronously, so each write is atomic with respect to every other.
 */
export class MemoryStore implements RegistryStore {
  readonly #instances = new Map<string, Readonly<InstanceRecord>>()
  readonly #byService = new Map<string, Map<string, Readonly<InstanceRecord>>>()

  async register (record: InstanceRecord): Promise<RegisterResult> {
    const stored = freeze(record)
    const previous = this.#instances.get(stored.instanceId)
    this.#put(stored)
    return { created: previous === undefined, instance: stored }
  }

  async heartbeat (update: InstanceUpdate): Promise<Readonly<InstanceRecord> | undefined> {
    const previous = this.#instances.get(update.instanceId)
    if (previous === undefined) return undefined
    const stored = freeze({ ...update, registeredAt: previous.registeredAt })
    this.#put(stored)
    return stored
  }

  async remove (instanceId: string): Promise<boolean> {
    const previous = this.#instances.get(instanceId)
    if (previous === undefined) return false
    this.#instances.delete(instanceId)
    this.#unindex(previous)
    return true
  }

  async get (instanceId: string): Promise<Readonly<InstanceRecord> | undefined> {
    return this.#instances.get(instanceId)
  }

  async list (filter: ListFilter = {}): Promise<Array<Readonly<InstanceRecord>>> {
    if (filter.service === undefined) return [...this.#instances.values()]
    return [...(this.#byService.get(filter.service)?.values() ?? [])]
  }

  /** Nothing to release: the data lives and dies with the process. Hooks that deregister while the app closes still work. */
  async close (): Promise<void> {}

  #put (record: Readonly<InstanceRecord>): void {
    this.#instances.set(record.instanceId, record)
    let service = this.#byService.get(record.name)
    if (service === undefined) {
      service = new Map()
      this.#byService.set(record.name, service)
    }
    service.set(record.instanceId, record)
  }

  #unindex (record: Readonly<InstanceRecord>): void {
    const service = this.#byService.get(record.name)
    if (service === undefined) return
    service.delete(record.instanceId)
    if (service.size === 0) this.#byService.delete(record.name)
  }
}
