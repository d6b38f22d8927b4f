import { createBalancer } from './balancer.js'
import { NoInstanceAvailableError, ServiceNotFoundError } from './errors.js'
import type { InstanceStatus } from './events.js'
import { checkedInfo } from './info-validation.js'
import { byId, instancePage, servicePage, type InstanceFilter, type Listing, type Page, type ServiceFilter } from './listing.js'
import { recordFrom, sameInfo } from './records.js'
import type { InstanceInfo, InstanceView, ServiceView } from './schemas.js'
import { RegistryEvents, type RegistryLogger } from './registry-events.js'
import type { InstanceRecord, RegistryStore } from './store.js'
import { instanceView, materialise, serviceListing, statusOf, type ServiceListing } from './views.js'

export type { InstanceStatus } from './events.js'
export type { InstanceFilter, Listing, Page, ServiceFilter, ServiceStatus } from './listing.js'
export type { ServiceListing } from './views.js'
export type { RegistryLogger } from './registry-events.js'

export interface RegisterOutcome {
  created: boolean
  instance: InstanceView
}

export interface LunaRegistryConfig {
  store: RegistryStore
  heartbeatTimeout: number
  /** Milliseconds an instance may stay DOWN for a missed heartbeat before it is removed; 0 never. */
  evictAfter: number
  /** Milliseconds between two looks for missed heartbeats. */
  sweepInterval: number
  now: () => number
  log?: RegistryLogger
}

/**
 * The in-process face of the registry, decorated on the Fastify instance as `lunaRegistry`. It
 * knows no HTTP: it checks infos, keeps them in the store, computes statuses and views, emits an
 * event for every change (`registry.on('status', …)`, or `'event'` for all; `'resync'` when a
 * shared store may have lost some), and its sweeper turns instances whose heartbeat deadline
 * passed DOWN, then evicts them.
 */
export class LunaRegistry extends RegistryEvents {
  readonly store: RegistryStore
  /** Milliseconds after the last heartbeat at which an instance counts as DOWN. */
  readonly heartbeatTimeout: number
  readonly evictAfter: number
  readonly sweepInterval: number
  #timer: NodeJS.Timeout | undefined
  #sweeping: Promise<void> | undefined
  #sweepFailing = false
  readonly #balancer = createBalancer('weighted-round-robin')

  constructor (config: LunaRegistryConfig) {
    super(config.store, config.now, config.log)
    this.store = config.store
    this.heartbeatTimeout = config.heartbeatTimeout
    this.evictAfter = config.evictAfter
    this.sweepInterval = config.sweepInterval
  }

  /** `DOWN` when the instance says so or its last heartbeat is `heartbeatTimeout` old; else `OK`. */
  statusOf (record: Pick<InstanceRecord, 'status' | 'lastHeartbeat'>, now = this.now()): InstanceStatus {
    return statusOf(record, now, this.heartbeatTimeout)
  }

  /** Create or replace the registration of `instanceId`; `info` is checked as a POST body is. */
  async register (instanceId: string, info: InstanceInfo): Promise<RegisterOutcome> {
    const now = this.now()
    const record = recordFrom(instanceId, checkedInfo(info), now)
    const { created, instance, previous, timedOut } = await this.store.register({ ...record, registeredAt: now })
    const view = this.view(instance, now)
    if (this.observed('registered', 'status')) {
      this.change(instance, { type: 'registered', created, instance: view })
      if (previous !== undefined) this.statusChange(previous, timedOut, instance, view)
    }
    return { created, instance: view }
  }

  /**
   * Replace the info of a registered instance and refresh its heartbeat; `undefined` if unknown.
   * `info` is checked as a PUT body is.
   */
  async heartbeat (instanceId: string, info: InstanceInfo): Promise<InstanceView | undefined> {
    const now = this.now()
    const result = await this.store.heartbeat(recordFrom(instanceId, checkedInfo(info), now))
    if (result === undefined) return undefined
    const view = this.view(result.instance, now)
    // Most heartbeats change nothing: with no one listening, or nothing changed, nothing is built.
    if (this.observed('updated', 'status')) {
      if (!sameInfo(result.previous, result.instance)) this.change(result.instance, { type: 'updated', instance: view })
      this.statusChange(result.previous, result.timedOut, result.instance, view)
    }
    return view
  }

  /** Remove the instance; `false` when it was not registered. */
  async deregister (instanceId: string): Promise<boolean> {
    const removed = await this.store.remove(instanceId)
    if (removed) this.change({ instanceId, name: instanceId.slice(0, instanceId.indexOf(':')) }, { type: 'deregistered' })
    return removed
  }

  /**
   * Resolves when the store answers, rejects with what it said when it does not: the store's own
   * `ping()`, or a read of an instance for a store without one. For readiness probes.
   */
  async ping (): Promise<void> {
    const store = this.store
    if (store.ping !== undefined) await store.ping()
    else await store.get('')
  }

  async getInstance (instanceId: string): Promise<InstanceView | undefined> {
    const instance = await this.store.get(instanceId)
    return instance === undefined ? undefined : this.view(instance, this.now())
  }

  /** Instances sorted by id, optionally of one service and with one effective status. */
  async listInstances (filter: InstanceFilter = {}): Promise<InstanceView[]> {
    return [...(await this.instancePage(filter, {})).items]
  }

  /** Every service that has instances, sorted by name, each with its instances sorted by id. */
  async listServices (filter: ServiceFilter = {}): Promise<ServiceView[]> {
    return [...(await this.servicePage(filter, {})).items].map(materialise)
  }

  /**
   * A page of `listInstances`: the instances whose id sorts after `page.after`, at most
   * `page.limit`, each view made when the listing's items reach it.
   */
  async instancePage (filter: InstanceFilter, page: Page): Promise<Listing<InstanceView>> {
    const listed = await this.store.list(filter.service === undefined ? {} : { service: filter.service })
    return instancePage(listed, filter, page, this.now(), this.heartbeatTimeout)
  }

  /** A page of `listServices` (of `filter.service` alone, if given), made as `instancePage`'s. */
  async servicePage (filter: ServiceFilter, page: Page): Promise<Listing<ServiceListing>> {
    const listed = await this.store.list(filter.service === undefined ? {} : { service: filter.service })
    return servicePage(listed, filter, page, this.now(), this.heartbeatTimeout)
  }

  async getService (name: string): Promise<ServiceView | undefined> {
    const records = await this.store.list({ service: name })
    return records.length === 0 ? undefined : this.serviceView(name, records, this.now())
  }

  /**
   * One OK instance of `name`, by smooth weighted round-robin over `balancerOptions.weight`:
   * over any run of picks each instance's share follows its weight exactly, and weight 0 is
   * never picked. Throws `FST_LUNA_SERVICE_NOT_FOUND` or `FST_LUNA_NO_INSTANCE_AVAILABLE`.
   */
  async pick (name: string): Promise<InstanceView> {
    const now = this.now()
    const records = await this.store.list({ service: name })
    if (records.length === 0) {
      this.#balancer.forget(name)
      throw new ServiceNotFoundError(name)
    }
    const candidates = records.slice().sort(byId)
      .filter((record) => record.balancerOptions.weight > 0 && this.statusOf(record, now) === 'OK')
    if (candidates.length === 0) throw new NoInstanceAvailableError(name)
    const best = this.#balancer.pick(name, candidates.map((record) => ({ instanceId: record.instanceId, weight: record.balancerOptions.weight, record })))!.record
    return this.view(best, now)
  }

  /**
   * Turns DOWN the instances whose heartbeat deadline has passed, then evicts those DOWN for a
   * missed heartbeat longer than `evictAfter`. The timer calls it every `sweepInterval`; tests
   * with their own clock call it directly. Concurrent calls share one sweep.
   */
  async sweep (): Promise<void> {
    this.#sweeping ??= this.#sweep().finally(() => { this.#sweeping = undefined })
    await this.#sweeping
  }

  /**
   * Starts the sweeper (its timer never keeps the process alive; a sweep never rejects) and,
   * with a shared store, takes in the events of the other processes.
   */
  async start (): Promise<void> {
    if (this.#timer !== undefined) return
    this.#timer = setInterval(this.sweep.bind(this), this.sweepInterval).unref()
    await this.follow()
  }

  /** Stops the sweeper, after the sweep under way, if any, has finished with the store. */
  async stop (): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#sweeping
  }

  /** The view of a record at `now`. */
  view (record: Readonly<InstanceRecord>, now = this.now()): InstanceView {
    return instanceView(record, now, this.heartbeatTimeout)
  }

  /** The view of the service `name` made of `records`. */
  serviceView (name: string, records: ReadonlyArray<Readonly<InstanceRecord>>, now = this.now()): ServiceView {
    return materialise(serviceListing(name, records.slice().sort(byId), now, this.heartbeatTimeout))
  }

  async #sweep (): Promise<void> {
    try {
      const now = this.now()
      const timedOut = await this.store.claimTimedOut(now - this.heartbeatTimeout)
      // An instance that already said DOWN does not change status when it goes quiet.
      if (this.observed('status')) {
        await this.announce(timedOut.filter((record) => record.status === 'OK'), (record) =>
          ({ type: 'status', previous: 'OK', status: 'DOWN', reason: 'timeout', instance: this.view(record, now) }))
      }
      if (this.evictAfter > 0) {
        const evicted = await this.store.evictTimedOut(now - this.heartbeatTimeout - this.evictAfter)
        if (this.observed('evicted')) await this.announce(evicted, (record) => ({ type: 'evicted', instance: this.view(record, now) }))
      }
      if (this.#sweepFailing) this.log?.info('luna-registry: sweeping works again')
      this.#sweepFailing = false
    } catch (error) {
      // Said once per outage, not once per tick.
      if (!this.#sweepFailing) this.log?.warn({ err: error }, 'luna-registry: sweeping for missed heartbeats failed')
      this.#sweepFailing = true
    }
  }
}
