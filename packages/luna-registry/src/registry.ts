import { createBalancer } from './balancer.js'
import { formatDuration } from './duration.js'
import { DEFAULT_PROTECTION_MAX_DURATION, DEFAULT_PROTECTION_THRESHOLD } from './options.js'
import { NoInstanceAvailableError, ServiceNotFoundError } from './errors.js'
import type { InstanceStatus } from './events.js'
import { checkedInfo } from './info-validation.js'
import { byId, instancePage, servicePage, withMetadata, type InstanceFilter, type Listing, type Page, type ServiceFilter } from './listing.js'
import type { MetadataFilter } from './metadata-filter.js'
import { endedProtection, nextProtection, PROTECTION_OFF, windowStart, worthCounting, type ProtectionChange, type ProtectionRules, type TimeoutShare } from './protection.js'
import { recordFrom, sameInfo } from './records.js'
import type { InstanceInfo, InstanceView, ProtectionView, ServiceView, Summary } from './schemas.js'
import { serviceSummaries, serviceSummary, type ServiceSummary } from './summaries.js'
import { RegistryEvents, type RegistryLogger, type Unnumbered } from './registry-events.js'
import { isGuardStore, type GuardStore, type InstanceRecord, type Maintenance, type ProtectionState, type RecentTimeout, type RegistryStore } from './store.js'
import { MemoryGuards } from './stores/memory-guards.js'
import { deadlineOf, instanceView, iso, liveness, materialise, serviceListing, statusOf, type Liveness, type ServiceListing } from './views.js'

export type { InstanceStatus } from './events.js'
export type { InstanceFilter, Listing, Page, ServiceFilter, ServiceStatus } from './listing.js'
export type { ServiceListing } from './views.js'
export type { ServiceSummary } from './summaries.js'
export type { RegistryLogger } from './registry-events.js'

/** How often, at most, the share of timed-out instances is counted while protection is on. */
const COUNT_INTERVAL = 1000

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
  /** The share of instances whose timeouts together turn mass-expiry protection on; `0` never. Default `0.5`. */
  protectionThreshold?: number
  /** Milliseconds protection may stay on. Default 15 minutes. */
  protectionMaxDuration?: number
}

/** The outcome of lifting a maintenance hold: the view when the instance is registered. */
export interface LiftOutcome {
  /** Whether there was a hold to lift. */
  lifted: boolean
  instance: InstanceView | undefined
}

/**
 * The in-process face of the registry, decorated on the Fastify instance as `lunaRegistry`. It
 * knows no HTTP: it checks infos, keeps them in the store, computes statuses and views, emits an
 * event for every change (`registry.on('status', …)`, or `'event'` for all; `'resync'` when a
 * shared store may have lost some), and its sweeper turns instances whose heartbeat deadline
 * passed DOWN, then evicts them. Its guards: mass-expiry protection (no eviction while too many
 * instances time out together, `protection.ts`), a grace after the registry was away, and the
 * operators' maintenance holds; their state is the store's when it keeps it (`GuardStore`).
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
  /** Set when the registry may have been away (it starts, or the store failed): the next sweep looks. */
  #mayHaveBeenAway = true
  readonly #balancer = createBalancer('weighted-round-robin')
  /** The store's guards, or the process's own when the store keeps none. */
  readonly guards: GuardStore
  readonly #live: Liveness
  readonly #maintenance = new Map<string, Maintenance>()
  readonly #rules: ProtectionRules
  #protection: ProtectionState = PROTECTION_OFF
  /** When the share of timed-out instances was last counted. */
  #counted = -Infinity

  constructor (config: LunaRegistryConfig) {
    super(config.store, config.now, config.log)
    this.store = config.store
    this.heartbeatTimeout = config.heartbeatTimeout
    this.evictAfter = config.evictAfter
    this.sweepInterval = config.sweepInterval
    this.guards = isGuardStore(config.store) ? config.store : new MemoryGuards()
    this.#live = { ...liveness(config.heartbeatTimeout), maintenance: this.#maintenance }
    this.#rules = {
      threshold: config.protectionThreshold ?? DEFAULT_PROTECTION_THRESHOLD,
      maxDuration: config.protectionMaxDuration ?? DEFAULT_PROTECTION_MAX_DURATION,
      window: config.heartbeatTimeout
    }
  }

  /**
   * `DOWN` when the instance says so, is in maintenance, or its last heartbeat is
   * `heartbeatTimeout` old (counted from the end of the absence when the registry was away);
   * else `OK`.
   */
  statusOf (record: Pick<InstanceRecord, 'instanceId' | 'status' | 'lastHeartbeat'>, now = this.now()): InstanceStatus {
    return statusOf(record, now, this.#live)
  }

  /** Mass-expiry protection as this process last read it. */
  get protection (): ProtectionView {
    const state = this.#protection
    if (!state.active) return { active: false }
    return { active: true, since: iso(state.since!), reason: state.reason!, timedOut: state.timedOut!, of: state.of! }
  }

  /** Until when deadlines are held back after the registry was away; `undefined` outside such a grace. */
  get graceUntil (): number | undefined {
    return this.now() < this.#live.graceUntil ? this.#live.graceUntil : undefined
  }

  /** Create or replace the registration of `instanceId`; `info` is checked as a POST body is. */
  async register (instanceId: string, info: InstanceInfo): Promise<RegisterOutcome> {
    const now = this.now()
    const record = recordFrom(instanceId, checkedInfo(info), now)
    const { created, instance, previous, timedOut } = await this.store.register({ ...record, registeredAt: now })
    const view = this.view(instance, now)
    if (this.observed('registered', 'status')) {
      this.change(instance, { type: 'registered', created, instance: view })
      // An instance in maintenance stays DOWN, whatever it says.
      if (previous !== undefined && view.maintenance === undefined) this.statusChange(previous, timedOut, instance, view)
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
    // One event per heartbeat at most: a status change carries the new instance, info and all.
    if (this.observed('updated', 'status')) {
      const flipped = view.maintenance === undefined && this.statusChange(result.previous, result.timedOut, result.instance, view)
      if (!flipped && !sameInfo(result.previous, result.instance)) this.change(result.instance, { type: 'updated', instance: view })
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
    return instancePage(listed, filter, page, this.now(), this.#live)
  }

  /** A page of `listServices` (of `filter.service` alone, if given), made as `instancePage`'s. */
  async servicePage (filter: ServiceFilter, page: Page): Promise<Listing<ServiceListing>> {
    const listed = await this.store.list(filter.service === undefined ? {} : { service: filter.service })
    return await servicePage(listed, filter, page, this.now(), this.#live)
  }

  /**
   * Every service in a few figures (`filter.service` alone, if given; with `filter.metadata`, of
   * the instances that match), sorted by name: no instance view is made.
   */
  async serviceSummaries (filter: Omit<ServiceFilter, 'status'> = {}): Promise<ServiceSummary[]> {
    const listed = await this.store.list(filter.service === undefined ? {} : { service: filter.service })
    return serviceSummaries(withMetadata(listed, filter.metadata), this.now(), this.#live)
  }

  /** The summary of `name` (of its instances matching `metadata`); `total` is 0 when it has none. */
  async serviceSummary (name: string, metadata?: MetadataFilter): Promise<ServiceSummary> {
    const records = withMetadata(await this.store.list({ service: name }), metadata)
    return serviceSummary(name, records, this.now(), this.#live)
  }

  /**
   * The service `name`, `undefined` when it has no instances. With `metadata`, only the instances
   * whose metadata has all its entries (perhaps none).
   */
  async getService (name: string, metadata?: MetadataFilter): Promise<ServiceView | undefined> {
    const records = await this.store.list({ service: name })
    return records.length === 0 ? undefined : this.serviceView(name, withMetadata(records, metadata), this.now())
  }

  /**
   * One OK instance of `name`, by smooth weighted round-robin over `balancerOptions.weight`:
   * over any run of picks each instance's share follows its weight exactly, and weight 0 is
   * never picked, nor is an instance in maintenance. With `metadata`, only among the instances
   * whose metadata has all its entries. Throws `FST_LUNA_SERVICE_NOT_FOUND` or
   * `FST_LUNA_NO_INSTANCE_AVAILABLE`.
   */
  async pick (name: string, metadata?: MetadataFilter): Promise<InstanceView> {
    const now = this.now()
    const candidates = await this.#routable(name, metadata, now)
    if (candidates === undefined) {
      this.#balancer.forget(name)
      throw new ServiceNotFoundError(name)
    }
    if (candidates.length === 0) throw new NoInstanceAvailableError(name)
    // Picks among a part of the instances share the service's rotation: a rotation per filter
    // would keep state for every filter any caller ever sent.
    const best = this.#balancer.pick(name, candidates.map((record) => ({ instanceId: record.instanceId, weight: record.balancerOptions.weight, record })))!.record
    return this.view(best, now)
  }

  /**
   * The instances of `name` that may get traffic now, sorted by id: `OK` (so not in
   * maintenance), with a weight above 0, and with all of `metadata`'s entries if given. What
   * `pick` chooses among, and what a proxy in front of the services routes to. `undefined` when
   * the service has no instance at all.
   */
  async routable (name: string, metadata?: MetadataFilter): Promise<Array<Readonly<InstanceRecord>> | undefined> {
    return await this.#routable(name, metadata, this.now())
  }

  async #routable (name: string, metadata: MetadataFilter | undefined, now: number): Promise<Array<Readonly<InstanceRecord>> | undefined> {
    const records = await this.store.list({ service: name })
    if (records.length === 0) return undefined
    return withMetadata(records, metadata)
      .filter((record) => record.balancerOptions.weight > 0 && this.statusOf(record, now) === 'OK')
      .sort(byId)
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
    await this.#readGuards()
    // Before the first request: a registry that was away gives the instances their grace at once.
    await this.sweep()
  }

  /** Stops the sweeper, after the sweep under way, if any, has finished with the store. */
  async stop (): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#sweeping
  }

  /** The view of a record at `now`. */
  view (record: Readonly<InstanceRecord>, now = this.now()): InstanceView {
    return instanceView(record, now, this.#live)
  }

  /** The view of the service `name` made of `records`. */
  serviceView (name: string, records: ReadonlyArray<Readonly<InstanceRecord>>, now = this.now()): ServiceView {
    return materialise(serviceListing(name, records.slice().sort(byId), now, this.#live))
  }

  /** The registry's figures at a glance, and whether protection is on. */
  async summary (): Promise<Summary> {
    const records = await this.store.list()
    const now = this.now()
    const up = new Set<string>()
    const names = new Set<string>()
    let instancesOnline = 0
    for (const record of records) {
      names.add(record.name)
      if (this.statusOf(record, now) === 'OK') {
        instancesOnline++
        up.add(record.name)
      }
    }
    return { services: names.size, servicesUp: up.size, instances: records.length, instancesOnline, protection: this.protection }
  }

  /**
   * Holds `instanceId` in maintenance: `DOWN` whatever it reports, never picked, through
   * heartbeats and registrations, until `liftMaintenance`. Setting it again changes the reason
   * and keeps the time. `undefined` when the instance is not registered.
   */
  async setMaintenance (instanceId: string, reason: string): Promise<InstanceView | undefined> {
    const record = await this.store.get(instanceId)
    if (record === undefined) return undefined
    const now = this.now()
    const before = this.statusOf(record, now)
    const maintenance = { reason, since: this.#maintenance.get(instanceId)?.since ?? now }
    await this.guards.setMaintenance(instanceId, maintenance)
    this.#maintenance.set(instanceId, maintenance)
    const view = this.view(record, now)
    this.change(record, { type: 'maintenance', active: true, instance: view })
    if (before === 'OK') this.change(record, { type: 'status', previous: 'OK', status: 'DOWN', reason: 'maintenance', instance: view })
    return view
  }

  /** Lifts the hold on `instanceId`: its status is computed as usual again. */
  async liftMaintenance (instanceId: string): Promise<LiftOutcome> {
    const lifted = await this.guards.clearMaintenance(instanceId)
    const held = this.#maintenance.delete(instanceId)
    const record = await this.store.get(instanceId)
    if (record === undefined) return { lifted, instance: undefined }
    const view = this.view(record)
    if (lifted || held) {
      this.change(record, { type: 'maintenance', active: false, instance: view })
      if (view.status === 'OK') this.change(record, { type: 'status', previous: 'DOWN', status: 'OK', reason: 'maintenance', instance: view })
    }
    return { lifted, instance: view }
  }

  /** Ends mass-expiry protection now, if it is on: timed-out instances are evicted again. */
  async endProtection (): Promise<ProtectionView> {
    const state = await this.guards.readProtection()
    this.#protection = state
    if (state.active) await this.#changeProtection(state, endedProtection(state, this.now()))
    return this.protection
  }

  protected override absorb (event: Unnumbered): void {
    if (event.type === 'maintenance') {
      const held = event.instance.maintenance
      if (held === undefined) this.#maintenance.delete(event.instanceId)
      else this.#maintenance.set(event.instanceId, { reason: held.reason, since: Date.parse(held.since) })
    } else if (event.type === 'evicted') {
      this.#maintenance.delete(event.instanceId)
    } else if (event.type === 'protection') {
      this.#readGuards()
    }
  }

  protected override resynced (): void {
    this.#mayHaveBeenAway = true
    this.#readGuards()
  }

  /** The maintenance holds and the protection state, as the store has them; never rejects. */
  async #readGuards (): Promise<void> {
    try {
      const [held, state] = await Promise.all([this.guards.listMaintenance(), this.guards.readProtection()])
      this.#maintenance.clear()
      for (const [instanceId, maintenance] of held) this.#maintenance.set(instanceId, maintenance)
      this.#protection = state
    } catch (error) {
      this.log?.warn({ err: error }, 'luna-registry: could not read the maintenance holds and protection state')
    }
  }

  /**
   * When nobody had looked at the deadlines for a while before now (the registry, all of its
   * replicas, or its store was away), the instances could not be heard either: deadlines that
   * passed meanwhile, or pass within `heartbeatTimeout`, move to `heartbeatTimeout` from now.
   */
  #graceAfterAbsence (previous: number | undefined, now: number): void {
    if (previous === undefined || now - previous <= this.sweepInterval * 2 + 1000) return
    this.#live.graceFrom = previous
    this.#live.graceUntil = now + this.heartbeatTimeout
    this.log?.info({ unwatchedSince: iso(previous), graceUntil: iso(this.#live.graceUntil) },
      `luna-registry: deadlines went unwatched for ${formatDuration(now - previous)}; every instance has until ${iso(this.#live.graceUntil)} to heartbeat`)
  }

  /** Instances in `recent` still timed out, of those OK or timed out. */
  async #share (now: number, recent: readonly RecentTimeout[]): Promise<TimeoutShare> {
    const ids = new Set(recent.map((timeout) => timeout.instanceId))
    let ok = 0
    let timedOut = 0
    for (const record of await this.store.list()) {
      if (this.statusOf(record, now) === 'OK') ok++
      else if (ids.has(record.instanceId) && record.status === 'OK' && now >= deadlineOf(record.lastHeartbeat, this.#live)) timedOut++
    }
    return { timedOut, of: ok + timedOut }
  }

  /** Notes the timeouts just announced, and turns protection on or off as the rules say. */
  async #guard (now: number, timedOut: ReadonlyArray<Readonly<InstanceRecord>>): Promise<void> {
    const state = await this.guards.readProtection()
    this.#protection = state
    // Counting reads the whole registry. Off, only new timeouts can raise the share; on, the
    // instances coming back lower it, which is looked at once a second at most.
    const due = state.active ? now - this.#counted >= COUNT_INTERVAL : timedOut.length > 0 && this.#rules.threshold > 0
    let share: TimeoutShare | undefined
    if (due || (state.active && timedOut.length > 0)) {
      const recent = await this.guards.noteTimeouts(timedOut.map((record) => ({ instanceId: record.instanceId, at: now })), windowStart(state, now, this.#rules))
      if (due && worthCounting(state, recent.length, this.#rules)) {
        share = await this.#share(now, recent)
        this.#counted = now
      }
    }
    const change = nextProtection(state, now, share, this.#rules)
    if (change !== undefined) await this.#changeProtection(state, change)
  }

  /** Makes `change`, unless another process changed the state first; the one that makes it says so. */
  async #changeProtection (from: ProtectionState, change: ProtectionChange): Promise<void> {
    const { swapped, state } = await this.guards.swapProtection(from.version, change.state)
    this.#protection = state
    if (!swapped) return
    const { active } = state
    if (active) this.log?.warn({ timedOut: state.timedOut, of: state.of }, `luna-registry: mass-expiry protection is on: ${change.why}`)
    else this.log?.info({}, `luna-registry: mass-expiry protection is off: ${change.why}`)
    this.registryChange(active
      ? { type: 'protection', active, since: iso(state.since!), reason: change.why, timedOut: state.timedOut!, of: state.of! }
      : { type: 'protection', active, reason: change.why })
  }

  async #sweep (): Promise<void> {
    try {
      const now = this.now()
      const previous = await this.guards.markSwept(now)
      if (this.#mayHaveBeenAway) this.#graceAfterAbsence(previous, now)
      this.#mayHaveBeenAway = false
      // In a grace, only the deadlines that had passed before the absence are due.
      const before = now < this.#live.graceUntil ? Math.min(now, this.#live.graceFrom) - this.heartbeatTimeout : now - this.heartbeatTimeout
      const claimed = await this.store.claimTimedOut(before)
      // An instance that already said DOWN, or is in maintenance, does not change status when it goes quiet.
      const timedOut = claimed.filter((record) => record.status === 'OK' && !this.#maintenance.has(record.instanceId))
      if (this.observed('status')) {
        await this.announce(timedOut, (record) =>
          ({ type: 'status', previous: 'OK', status: 'DOWN', reason: 'timeout', instance: this.view(record, now) }))
      }
      await this.#guard(now, timedOut)
      if (this.evictAfter > 0 && !this.#protection.active) {
        const evicted = await this.store.evictTimedOut(now - this.heartbeatTimeout - this.evictAfter)
        for (const record of evicted) {
          // A hold ends with the instance it held: one evicted will not be back.
          if (this.#maintenance.delete(record.instanceId)) await this.guards.clearMaintenance(record.instanceId)
        }
        if (this.observed('evicted')) await this.announce(evicted, (record) => ({ type: 'evicted', instance: this.view(record, now) }))
      }
      if (this.#sweepFailing) this.log?.info('luna-registry: sweeping works again')
      this.#sweepFailing = false
    } catch (error) {
      // Said once per outage, not once per tick.
      if (!this.#sweepFailing) this.log?.warn({ err: error }, 'luna-registry: sweeping for missed heartbeats failed')
      this.#sweepFailing = true
      this.#mayHaveBeenAway = true
    }
  }
}
