import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { ProtectionEvent, RegistryEvent, RegistryEventMap, RegistryEventType, StatusReason } from './events.js'
import type { InstanceView } from './schemas.js'
import { isSharedStore, type InstanceRecord, type RegistryStore, type SharedEvent, type SharedStore } from './store.js'
import { iso } from './views.js'

/** Where the registry reports what goes wrong in the background (a pino or Fastify logger fits). */
export interface RegistryLogger {
  info: (...args: any[]) => void
  warn: (...args: any[]) => void
  error: (...args: any[]) => void
}

/** Events emitted in one go before a mass announcement lets other work run. */
const ANNOUNCE_SLICE = 100

export type EventFields<E = RegistryEvent> = E extends RegistryEvent ? Omit<E, 'id' | 'time' | 'service' | 'instanceId'> : never
export type Unnumbered<E = RegistryEvent> = E extends RegistryEvent ? Omit<E, 'id'> : never

/**
 * The registry's events: numbered per process, handed to this process's listeners, and shared
 * with the other processes of a shared store (whose events come back here the same way).
 */
export abstract class RegistryEvents extends EventEmitter<RegistryEventMap> {
  readonly now: () => number
  protected readonly log: RegistryLogger | undefined
  /** Set when processes share the store: events then travel through it. */
  protected readonly shared: SharedStore | undefined
  /** Who this process is to the others sharing the store. */
  readonly #origin = randomUUID()
  #sequence = 0

  constructor (store: RegistryStore, now: () => number, log: RegistryLogger | undefined) {
    super()
    this.now = now
    this.log = log
    this.shared = isSharedStore(store) ? store : undefined
  }

  /** The id of the last event emitted; `0` before the first. */
  get lastEventId (): number {
    return this.#sequence
  }

  /**
   * Whether anything here or elsewhere could want an event of one of `types`. On every
   * heartbeat: counting listeners allocates nothing, and with nobody listening no event is built.
   */
  protected observed (a: RegistryEventType, b?: RegistryEventType): boolean {
    return this.shared !== undefined || this.listenerCount('event') > 0 || this.listenerCount(a) > 0 ||
      (b !== undefined && this.listenerCount(b) > 0)
  }

  /** Listens to the other processes of a shared store: their events, and its resyncs. */
  protected async follow (): Promise<void> {
    await this.shared?.subscribe((message) => this.#receive(message), () => this.#resync())
  }

  /** An event per record, in slices, so the event loop serves heartbeats during a mass timeout. */
  protected async announce (records: Array<Readonly<InstanceRecord>>, fields: (record: Readonly<InstanceRecord>) => EventFields): Promise<void> {
    for (let i = 0; i < records.length; i++) {
      if (i > 0 && i % ANNOUNCE_SLICE === 0) await new Promise((resolve) => setImmediate(resolve))
      this.change(records[i]!, fields(records[i]!))
    }
  }

  /** Announces a change of effective status, if there is one; whether there was. */
  protected statusChange (previous: Readonly<InstanceRecord>, timedOut: boolean, instance: Readonly<InstanceRecord>, view: InstanceView): boolean {
    // The status listeners last heard: a timeout counts once it was announced, not before.
    const before = previous.status === 'DOWN' || timedOut ? 'DOWN' : 'OK'
    if (before === view.status) return false
    const reason: StatusReason = view.status === 'DOWN' || previous.status === 'DOWN' ? 'reported' : 'heartbeat'
    this.change(instance, { type: 'status', previous: before, status: view.status, reason, instance: view })
    return true
  }

  protected change (record: Pick<InstanceRecord, 'instanceId' | 'name'>, fields: EventFields): void {
    this.#emit({ time: iso(this.now()), service: record.name, instanceId: record.instanceId, ...fields } as Unnumbered)
  }

  /** An event of the whole registry's, not of an instance: it has no service or instance id. */
  protected registryChange (fields: Omit<Unnumbered<ProtectionEvent>, 'time'>): void {
    this.#emit({ time: iso(this.now()), ...fields })
  }

  /** Takes in what an event of another process changed of this one's state. */
  protected abstract absorb (event: Unnumbered): void

  /** Called on a resync, before the listeners are: this process's own state is read afresh too. */
  protected abstract resynced (): void

  #emit (event: Unnumbered): void {
    this.#deliver(event)
    this.shared?.publish({ origin: this.#origin, event }).catch((error: unknown) => {
      this.log?.warn({ err: error, event: event.type, instanceId: 'instanceId' in event ? event.instanceId : undefined }, 'luna-registry: could not share an event with the other processes')
    })
  }

  #receive (message: SharedEvent): void {
    if (message.origin === this.#origin) return
    this.absorb(message.event as Unnumbered)
    this.#deliver(message.event)
  }

  /** Tells this process's listeners that the events they had may not add up to the store. */
  #resync (): void {
    this.log?.info('luna-registry: the shared store may have lost events or data; listeners read it afresh')
    this.resynced()
    this.#call(this.rawListeners('resync'), undefined, 'resync')
  }

  /**
   * Hands an event to this process's listeners, numbered in the order they see them. A listener
   * that throws is logged: the change it reports has happened, and the other listeners (and the
   * rest of a sweep) still get theirs.
   */
  #deliver (fields: Omit<RegistryEvent, 'id'>): void {
    const event = { id: ++this.#sequence, ...fields } as RegistryEvent
    // Both lists are taken before any listener runs: one added meanwhile waits for the next event.
    const typed = this.rawListeners(event.type)
    const all = this.rawListeners('event')
    this.#call(typed, event, event.type)
    this.#call(all, event, event.type)
  }

  #call (listeners: Function[], event: RegistryEvent | undefined, type: string): void {
    for (const listener of listeners) {
      try {
        (listener as (event?: RegistryEvent) => void)(event)
      } catch (error) {
        this.log?.error({ err: error, event: type }, 'luna-registry: an event listener failed')
      }
    }
  }
}
