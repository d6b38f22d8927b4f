import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import { InstanceIdMismatchError, InvalidInstanceIdError, NoInstanceAvailableError, ServiceNotFoundError } from './errors.js'
import { EVENT_TYPES, type InstanceStatus, type RegistryEvent, type RegistryEventMap, type StatusReason } from './events.js'
import { parseInstanceId } from './instance-id.js'
import { KnownBodies } from './known-bodies.js'
import type { InstanceInfo, InstanceView, ServiceView } from './schemas.js'
import { isSharedStore, type BalancerOptions, type InstanceRecord, type InstanceUpdate, type RegistryStore, type SharedEvent, type SharedStore } from './store.js'
import { assertInstanceInfo } from './validation.js'
import { DEFAULT_BALANCER_OPTIONS, NO_METADATA } from './view-json.js'

export type { InstanceStatus } from './events.js'
export type ServiceStatus = 'UP' | 'DOWN'

export interface InstanceFilter {
  service?: string
  status?: InstanceStatus
}

export interface ServiceFilter {
  status?: ServiceStatus
}

/** Where a page of a sorted list starts, and how long it is at most; without `limit`, the rest of the list. */
export interface Page {
  /** The id (instances) or name (services) after which the page starts. */
  after?: string | undefined
  limit?: number | undefined
}

/**
 * A page of a list, read once: its items, each made only when it is reached, so a list that is
 * written out as its reader takes it never holds more than the records it shows.
 */
export interface Listing<T> {
  items: Iterable<T>
  /** The `after` of the next page (the last item's id or name), when more items follow. */
  next: string | undefined
}

/** A service as a list writes it: its figures, then its instances' views, made one at a time. */
export interface ServiceListing extends Omit<ServiceView, 'instances'> {
  instances: Iterable<InstanceView>
}

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
  log?: FastifyBaseLogger
}

const OBSERVED = ['event', ...EVENT_TYPES] as const

/** Events emitted in one go before the sweeper lets other work run. */
const ANNOUNCE_SLICE = 100

// The routes' bodies already passed the schema; these skip checking them a second time.
export const kRegister = Symbol('luna-registry.register')
export const kHeartbeat = Symbol('luna-registry.heartbeat')
/** The bodies the routes accepted, so that a repeated one is not parsed and checked again. */
export const kBodies = Symbol('luna-registry.bodies')
// The lists as the routes write them: a page at a time, views made as they are written.
export const kInstancePage = Symbol('luna-registry.instancePage')
export const kServicePage = Symbol('luna-registry.servicePage')

type EventFields<E = RegistryEvent> = E extends RegistryEvent ? Omit<E, 'id' | 'time' | 'service' | 'instanceId'> : never

/**
 * The in-process face of the registry, decorated on the Fastify instance as `lunaRegistry`.
 * It emits an event for every change (`registry.on('status', …)`, or `'event'` for all), and
 * a sweeper turns instances whose heartbeat deadline passed DOWN, then evicts them.
 */
export class LunaRegistry extends EventEmitter<RegistryEventMap> {
  readonly store: RegistryStore
  /** Milliseconds after the last heartbeat at which an instance counts as DOWN. */
  readonly heartbeatTimeout: number
  readonly evictAfter: number
  readonly sweepInterval: number
  readonly now: () => number
  readonly #log: FastifyBaseLogger | undefined
  /** Set when processes share the store: events then travel through it. */
  readonly #shared: SharedStore | undefined
  /** Who this process is to the others sharing the store. */
  readonly #origin = randomUUID()
  #sequence = 0
  #timer: NodeJS.Timeout | undefined
  #sweeping: Promise<void> | undefined
  #sweepFailing = false
  /** Smooth weighted round-robin state: service → instance id → current weight. */
  readonly #rotation = new Map<string, Map<string, number>>()
  readonly [kBodies] = new KnownBodies()

  constructor (config: LunaRegistryConfig) {
    super()
    this.store = config.store
    this.heartbeatTimeout = config.heartbeatTimeout
    this.evictAfter = config.evictAfter
    this.sweepInterval = config.sweepInterval
    this.now = config.now
    this.#log = config.log
    this.#shared = isSharedStore(config.store) ? config.store : undefined
  }

  /** Whether anything here or elsewhere could want the events of a change. */
  get #observed (): boolean {
    if (this.#shared !== undefined) return true
    // On every heartbeat: counting listeners allocates nothing, listing event names would.
    for (const type of OBSERVED) if (this.listenerCount(type) > 0) return true
    return false
  }

  /** The id of the last event emitted; `0` before the first. */
  get lastEventId (): number {
    return this.#sequence
  }

  /** `DOWN` when the instance says so or its last heartbeat is `heartbeatTimeout` old; else `OK`. */
  statusOf (record: Pick<InstanceRecord, 'status' | 'lastHeartbeat'>, now = this.now()): InstanceStatus {
    return record.status === 'DOWN' || now - record.lastHeartbeat >= this.heartbeatTimeout ? 'DOWN' : 'OK'
  }

  /** Create or replace the registration of `instanceId`; `info` is checked as a POST body is. */
  async register (instanceId: string, info: InstanceInfo): Promise<RegisterOutcome> {
    assertInstanceInfo(info)
    return await this[kRegister](instanceId, info)
  }

  /**
   * Replace the info of a registered instance and refresh its heartbeat; `undefined` if unknown.
   * `info` is checked as a PUT body is.
   */
  async heartbeat (instanceId: string, info: InstanceInfo): Promise<InstanceView | undefined> {
    assertInstanceInfo(info)
    return await this[kHeartbeat](instanceId, info)
  }

  async [kRegister] (instanceId: string, info: InstanceInfo): Promise<RegisterOutcome> {
    const now = this.now()
    const record = recordFrom(instanceId, info, now, this[kBodies].remembers(instanceId, info))
    const { created, instance, previous, timedOut } = await this.store.register({ ...record, registeredAt: now })
    const view = this.view(instance, now)
    if (this.#observed) {
      this.#emit(instance, { type: 'registered', created, instance: view })
      if (previous !== undefined) this.#statusChange(previous, timedOut, instance, view)
    }
    return { created, instance: view }
  }

  async [kHeartbeat] (instanceId: string, info: InstanceInfo): Promise<InstanceView | undefined> {
    const now = this.now()
    const result = await this.store.heartbeat(recordFrom(instanceId, info, now, this[kBodies].remembers(instanceId, info)))
    if (result === undefined) return undefined
    const view = this.view(result.instance, now)
    // Most heartbeats change nothing: with no one listening, or nothing changed, nothing is built.
    if (this.#observed) {
      if (!sameInfo(result.previous, result.instance)) this.#emit(result.instance, { type: 'updated', instance: view })
      this.#statusChange(result.previous, result.timedOut, result.instance, view)
    }
    return view
  }

  /** Remove the instance; `false` when it was not registered. */
  async deregister (instanceId: string): Promise<boolean> {
    const removed = await this.store.remove(instanceId)
    if (removed) {
      this[kBodies].forget(instanceId)
      const name = instanceId.slice(0, instanceId.indexOf(':'))
      this.#emit({ instanceId, name }, { type: 'deregistered' })
    }
    return removed
  }

  async getInstance (instanceId: string): Promise<InstanceView | undefined> {
    const instance = await this.store.get(instanceId)
    return instance === undefined ? undefined : this.view(instance, this.now())
  }

  /** Instances sorted by id, optionally of one service and with one effective status. */
  async listInstances (filter: InstanceFilter = {}): Promise<InstanceView[]> {
    return [...(await this[kInstancePage](filter, {})).items]
  }

  /** Every service that has instances, sorted by name, each with its instances sorted by id. */
  async listServices (filter: ServiceFilter = {}): Promise<ServiceView[]> {
    return [...(await this[kServicePage](filter, {})).items].map(materialise)
  }

  /** A page of `listInstances`: the instances whose id sorts after `page.after`, at most `page.limit`. */
  async [kInstancePage] (filter: InstanceFilter, page: Page): Promise<Listing<InstanceView>> {
    const now = this.now()
    const listed = await this.store.list(filter.service === undefined ? {} : { service: filter.service })
    // Our own array, sorted in place.
    const records = filter.status === undefined ? listed.slice() : listed.filter((record) => this.statusOf(record, now) === filter.status)
    records.sort(byId)
    const start = page.after === undefined ? 0 : firstAfter(records, page.after, instanceIdOf)
    const end = page.limit === undefined ? records.length : Math.min(records.length, start + page.limit)
    const next = end < records.length && end > start ? records[end - 1]!.instanceId : undefined
    // A page keeps only its own records, not the whole list's.
    const shown = start === 0 && end === records.length ? records : records.slice(start, end)
    return { items: this.#views(shown, now), next }
  }

  /**
   * A page of `listServices` (of the one service named by `filter.service`, if given): the
   * services whose name sorts after `page.after`, at most `page.limit`, each built when reached.
   */
  async [kServicePage] (filter: ServiceFilter & { service?: string | undefined }, page: Page): Promise<Listing<ServiceListing>> {
    const now = this.now()
    const { names, recordsOf } = groupByName(await this.store.list(filter.service === undefined ? {} : { service: filter.service }))
    const matches = (i: number): boolean => filter.status === undefined || this.#serviceStatus(recordsOf(i), now) === filter.status
    const shown: number[] = []
    let i = page.after === undefined ? 0 : firstAfter(names, page.after, (name) => name)
    for (; i < names.length && (page.limit === undefined || shown.length < page.limit); i++) {
      if (matches(i)) shown.push(i)
    }
    let next: string | undefined
    if (page.limit !== undefined && shown.length > 0) {
      for (; i < names.length && next === undefined; i++) if (matches(i)) next = names[shown.at(-1)!]
    }
    // A page keeps only its own services' records; the whole list keeps the one array of them all.
    const groups = page.limit === undefined
      ? (function * () { for (const index of shown) yield recordsOf(index) })()
      : shown.map(recordsOf)
    return { items: this.#services(groups, now), next }
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
      this.#rotation.delete(name)
      throw new ServiceNotFoundError(name)
    }
    const candidates = sortById(records)
      .filter((record) => record.balancerOptions.weight > 0 && this.statusOf(record, now) === 'OK')
    if (candidates.length === 0) throw new NoInstanceAvailableError(name)
    let rotation = this.#rotation.get(name)
    if (rotation === undefined) {
      rotation = new Map()
      this.#rotation.set(name, rotation)
    }
    let total = 0
    let best: Readonly<InstanceRecord> | undefined
    let bestWeight = -Infinity
    const next = new Map<string, number>()
    for (const record of candidates) {
      const weight = record.balancerOptions.weight
      const current = (rotation.get(record.instanceId) ?? 0) + weight
      next.set(record.instanceId, current)
      total += weight
      if (current > bestWeight) {
        best = record
        bestWeight = current
      }
    }
    next.set(best!.instanceId, bestWeight - total)
    // Instances that left the rotation leave no stale weight behind.
    this.#rotation.set(name, next)
    return this.view(best!, now)
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
    await this.#shared?.subscribe((message) => this.#receive(message))
  }

  /** Stops the sweeper, after the sweep under way, if any, has finished with the store. */
  async stop (): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#sweeping
  }

  /**
   * The view of a record, its fields in the schema's order: one literal per shape (with a
   * description or without), so every view has one of two shapes and `JSON.stringify` takes its
   * fast path (a field added afterwards makes a list's JSON take half as long again).
   */
  view (record: Readonly<InstanceRecord>, now = this.now()): InstanceView {
    const { instanceId, name, description, version, url, balancerOptions, metadata } = record
    const status = this.statusOf(record, now)
    const reportedStatus = record.status
    const registeredAt = iso(record.registeredAt)
    const lastHeartbeat = iso(record.lastHeartbeat)
    const view: InstanceView = description === undefined
      ? { instanceId, name, version, url, status, reportedStatus, balancerOptions, metadata, registeredAt, lastHeartbeat }
      : { instanceId, name, description, version, url, status, reportedStatus, balancerOptions, metadata, registeredAt, lastHeartbeat }
    // Rare (an instance that is DOWN): left out of the literals.
    const downSince = this.#downSince(record, now)
    if (downSince !== undefined) view.downSince = iso(downSince)
    return view
  }

  serviceView (name: string, records: Array<Readonly<InstanceRecord>>, now = this.now()): ServiceView {
    return materialise(this.#serviceListing(name, sortById(records), now))
  }

  /** The views of `records`, in their order, each made when it is reached. */
  * #views (records: Array<Readonly<InstanceRecord>>, now: number): Generator<InstanceView> {
    for (const record of records) yield this.view(record, now)
  }

  /** Each group of records (one service's, ours to sort) as a service, made when it is reached. */
  * #services (groups: Iterable<Array<Readonly<InstanceRecord>>>, now: number): Generator<ServiceListing> {
    for (const records of groups) yield this.#serviceListing(records[0]!.name, records.sort(byId), now)
  }

  /** A service's figures, and its instances (`records`, sorted by id) as views made when read. */
  #serviceListing (name: string, records: Array<Readonly<InstanceRecord>>, now: number): ServiceListing {
    let instancesOnline = 0
    for (const record of records) if (this.statusOf(record, now) === 'OK') instancesOnline++
    return {
      name,
      description: serviceDescription(records),
      status: instancesOnline > 0 ? 'UP' : 'DOWN',
      instancesOnline,
      instancesTotal: records.length,
      instances: this.#views(records, now)
    }
  }

  #serviceStatus (records: Array<Readonly<InstanceRecord>>, now: number): ServiceStatus {
    return records.some((record) => this.statusOf(record, now) === 'OK') ? 'UP' : 'DOWN'
  }

  /** When the effective status last became DOWN: the earlier of reporting DOWN and the deadline. */
  #downSince (record: Readonly<InstanceRecord>, now: number): number | undefined {
    const deadline = record.lastHeartbeat + this.heartbeatTimeout
    const timedOut = now >= deadline
    if (record.status === 'DOWN') {
      const reported = record.reportedDownSince ?? record.lastHeartbeat
      return timedOut ? Math.min(reported, deadline) : reported
    }
    return timedOut ? deadline : undefined
  }

  async #sweep (): Promise<void> {
    try {
      const now = this.now()
      const timedOut = await this.store.claimTimedOut(now - this.heartbeatTimeout)
      // An instance that already said DOWN does not change status when it goes quiet.
      await this.#announce(timedOut.filter((record) => record.status === 'OK'), (record) =>
        ({ type: 'status', previous: 'OK', status: 'DOWN', reason: 'timeout', instance: this.view(record, now) }))
      if (this.evictAfter > 0) {
        const evicted = await this.store.evictTimedOut(now - this.heartbeatTimeout - this.evictAfter)
        for (const record of evicted) this[kBodies].forget(record.instanceId)
        await this.#announce(evicted, (record) => ({ type: 'evicted', instance: this.view(record, now) }))
      }
      if (this.#sweepFailing) this.#log?.info('luna-registry: sweeping works again')
      this.#sweepFailing = false
    } catch (error) {
      // Said once per outage, not once per tick.
      if (!this.#sweepFailing) this.#log?.warn({ err: error }, 'luna-registry: sweeping for missed heartbeats failed')
      this.#sweepFailing = true
    }
  }

  /**
   * Emits an event per record, unless no one listens. A mass timeout is announced in slices, so
   * the event loop keeps serving heartbeats between them.
   */
  async #announce (records: Array<Readonly<InstanceRecord>>, fields: (record: Readonly<InstanceRecord>) => EventFields): Promise<void> {
    if (!this.#observed) return
    for (let i = 0; i < records.length; i++) {
      if (i > 0 && i % ANNOUNCE_SLICE === 0) await new Promise((resolve) => setImmediate(resolve))
      this.#emit(records[i]!, fields(records[i]!))
    }
  }

  #statusChange (previous: Readonly<InstanceRecord>, timedOut: boolean, instance: Readonly<InstanceRecord>, view: InstanceView): void {
    // The status listeners last heard: a timeout counts once it was announced, not before.
    const before = previous.status === 'DOWN' || timedOut ? 'DOWN' : 'OK'
    if (before === view.status) return
    const reason: StatusReason = view.status === 'DOWN' || previous.status === 'DOWN' ? 'reported' : 'heartbeat'
    this.#emit(instance, { type: 'status', previous: before, status: view.status, reason, instance: view })
  }

  #emit (record: Pick<InstanceRecord, 'instanceId' | 'name'>, fields: EventFields): void {
    const event = {
      time: iso(this.now()),
      service: record.name,
      instanceId: record.instanceId,
      ...fields
    } as Omit<RegistryEvent, 'id'>
    this.#deliver(event)
    this.#shared?.publish({ origin: this.#origin, event }).catch((error: unknown) => {
      this.#log?.warn({ err: error, event: event.type, instanceId: event.instanceId }, 'luna-registry: could not share an event with the other processes')
    })
  }

  #receive (message: SharedEvent): void {
    if (message.origin === this.#origin) return
    // Another process removed it: nothing of it need be remembered here.
    if (message.event.type === 'deregistered' || message.event.type === 'evicted') this[kBodies].forget(message.event.instanceId)
    this.#deliver(message.event)
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
    this.#call(typed, event)
    this.#call(all, event)
  }

  #call (listeners: Function[], event: RegistryEvent): void {
    for (const listener of listeners) {
      try {
        (listener as (event: RegistryEvent) => void)(event)
      } catch (error) {
        this.#log?.error({ err: error, event: event.type }, 'luna-registry: an event listener failed')
      }
    }
  }
}

// Timestamps repeat across reads (lists, panels, streams) until the next heartbeat: formatting
// each millisecond once, from a small cache, makes a list of 10 000 instances half as costly.
// The last one asked for is kept apart: heartbeats and events in the same millisecond ask for it.
const isoCache = new Map<number, string>()
let lastMs = Number.NaN
let lastText = ''
function iso (ms: number): string {
  if (ms === lastMs) return lastText
  let text = isoCache.get(ms)
  if (text === undefined) {
    if (isoCache.size >= 16_384) isoCache.clear()
    text = new Date(ms).toISOString()
    isoCache.set(ms, text)
  }
  lastMs = ms
  lastText = text
  return text
}

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * The services of `records`, sorted by name, and the records of each. They are kept in one array,
 * service after service: a list written to a slow reader keeps them until it is done, and one
 * large array is neither copied by the garbage collector's young generation nor grown with room
 * to spare, as a thousand small ones were. `recordsOf(i)` is a new array, the caller's to sort.
 */
function groupByName (records: Array<Readonly<InstanceRecord>>): { names: string[], recordsOf: (index: number) => Array<Readonly<InstanceRecord>> } {
  const slots = new Map<string, number>()
  for (const record of records) slots.set(record.name, (slots.get(record.name) ?? 0) + 1)
  const names = [...slots.keys()].sort(compare)
  const bounds = new Array<number>(names.length + 1)
  let at = 0
  for (let i = 0; i < names.length; i++) {
    bounds[i] = at
    at += slots.get(names[i]!)!
    // From here on, where the service's next record goes.
    slots.set(names[i]!, bounds[i]!)
  }
  bounds[names.length] = at
  const all = new Array<Readonly<InstanceRecord>>(records.length)
  for (const record of records) {
    const slot = slots.get(record.name)!
    slots.set(record.name, slot + 1)
    all[slot] = record
  }
  return { names, recordsOf: (index) => all.slice(bounds[index], bounds[index + 1]) }
}

function byId (a: Readonly<InstanceRecord>, b: Readonly<InstanceRecord>): number {
  return compare(a.instanceId, b.instanceId)
}

function instanceIdOf (record: Readonly<InstanceRecord>): string {
  return record.instanceId
}

function sortById (records: Array<Readonly<InstanceRecord>>): Array<Readonly<InstanceRecord>> {
  return records.slice().sort(byId)
}

/** The index of the first item of `sorted` whose key sorts after `after`. */
function firstAfter<T> (sorted: readonly T[], after: string, key: (item: T) => string): number {
  let low = 0
  let high = sorted.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (key(sorted[middle]!) <= after) low = middle + 1
    else high = middle
  }
  return low
}

/** A service listing with its views made, as one literal: every service view has one shape. */
function materialise (service: ServiceListing): ServiceView {
  const { name, description, status, instancesOnline, instancesTotal } = service
  return { name, description, status, instancesOnline, instancesTotal, instances: [...service.instances] }
}

function sameEntries (a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((key) => key in b && (a[key] === b[key] || JSON.stringify(a[key]) === JSON.stringify(b[key])))
}

/** Whether two records say the same about an instance, timestamps aside. */
function sameInfo (a: Readonly<InstanceRecord>, b: Readonly<InstanceRecord>): boolean {
  return a.version === b.version && a.url === b.url && a.status === b.status &&
    a.description === b.description &&
    sameEntries(a.metadata, b.metadata) && sameEntries(a.balancerOptions, b.balancerOptions)
}

/** The description of the most recently registered instance that has one, else `''`. */
function serviceDescription (records: Array<Readonly<InstanceRecord>>): string {
  let latest: Readonly<InstanceRecord> | undefined
  for (const record of records) {
    if (record.description === undefined || record.description === '') continue
    if (latest === undefined || record.registeredAt > latest.registeredAt ||
      (record.registeredAt === latest.registeredAt && record.instanceId < latest.instanceId)) {
      latest = record
    }
  }
  return latest?.description ?? ''
}

function balancerOptionsOf (info: InstanceInfo): BalancerOptions {
  if (info.balancerOptions === undefined) return DEFAULT_BALANCER_OPTIONS
  return info.balancerOptions.weight === undefined ? { ...info.balancerOptions, weight: 1 } : info.balancerOptions as BalancerOptions
}

function checkAgainstId (instanceId: string, info: InstanceInfo): void {
  const parsed = parseInstanceId(instanceId)
  if (!parsed.ok) throw new InvalidInstanceIdError(instanceId, parsed.reason)
  if (info.instanceId !== undefined && info.instanceId !== instanceId) {
    throw new InstanceIdMismatchError('instanceId', 'the instance id', info.instanceId)
  }
  if (info.name !== parsed.parts.serviceName) {
    throw new InstanceIdMismatchError('name', `the service name "${parsed.parts.serviceName}"`, info.name)
  }
}

/**
 * The record to store for `info` sent to `instanceId`: the id is checked part by part, the body
 * must agree with it, and only the known fields are kept. A body remembered for the id (`known`)
 * passed those checks with it when it was accepted: they are functions of the two alone.
 */
export function recordFrom (instanceId: string, info: InstanceInfo, now: number, known = false): InstanceUpdate {
  if (!known) checkAgainstId(instanceId, info)
  const { name, description, version, url, status } = info
  // No copies here: the store keeps a private copy of whatever it is given.
  const balancerOptions = balancerOptionsOf(info)
  const metadata = info.metadata ?? NO_METADATA
  // One literal per shape, as the memory store's records and the views.
  const record: InstanceUpdate = description === undefined
    ? { instanceId, name, version, url, status, balancerOptions, metadata, lastHeartbeat: now }
    : { instanceId, name, version, url, status, balancerOptions, metadata, description, lastHeartbeat: now }
  if (status === 'DOWN') record.reportedDownSince = now
  return record
}
