import type { InstanceStatus } from './events.js'
import type { InstanceView, ServiceView } from './schemas.js'
import type { InstanceRecord, Maintenance } from './store.js'

/**
 * What decides an effective status besides the record: the heartbeat timeout, a grace after the
 * registry was away, and the operators' maintenance holds. The registry keeps one and updates it
 * in place.
 */
export interface Liveness {
  /** Milliseconds after the last heartbeat at which an instance is DOWN. */
  timeout: number
  /**
   * Deadlines after this moment passed, or would pass, while nobody could look at them or hear
   * the heartbeats: they are moved to `graceUntil`. `Infinity` when there is no grace.
   */
  graceFrom: number
  graceUntil: number
  maintenance: ReadonlyMap<string, Maintenance>
}

export function liveness (timeout: number): Liveness {
  return { timeout, graceFrom: Infinity, graceUntil: -Infinity, maintenance: new Map() }
}

/** When the instance misses its heartbeat: `timeout` after the last one, or the grace's end. */
export function deadlineOf (lastHeartbeat: number, live: Liveness): number {
  const deadline = lastHeartbeat + live.timeout
  return deadline > live.graceFrom && deadline < live.graceUntil ? live.graceUntil : deadline
}

type StatusFields = Pick<InstanceRecord, 'status' | 'lastHeartbeat'> & { instanceId?: string }

/** `DOWN` when the instance says so, is in maintenance, or has missed its deadline; else `OK`. */
export function statusOf (record: StatusFields, now: number, live: Liveness): InstanceStatus {
  if (record.status === 'DOWN' || now >= deadlineOf(record.lastHeartbeat, live)) return 'DOWN'
  return live.maintenance.size > 0 && record.instanceId !== undefined && live.maintenance.has(record.instanceId) ? 'DOWN' : 'OK'
}

/** When the effective status last became DOWN: the earliest of reporting DOWN, maintenance and the deadline. */
export function downSince (record: Readonly<InstanceRecord>, now: number, live: Liveness, maintenance: Maintenance | undefined): number | undefined {
  const deadline = deadlineOf(record.lastHeartbeat, live)
  let since = now >= deadline ? deadline : undefined
  if (record.status === 'DOWN') since = Math.min(since ?? Infinity, record.reportedDownSince ?? record.lastHeartbeat)
  if (maintenance !== undefined) since = Math.min(since ?? Infinity, maintenance.since)
  return since
}

// Timestamps repeat across reads (lists, panels, streams) and a heartbeat asks for two of them
// (when the instance registered, and now): the text up to the second is made once per second,
// from a small cache, and the milliseconds are added to it. `toISOString` per call costs more
// than the rest of the view.
const secondsCache = new Map<number, string>()
let lastSecond = Number.NaN
let lastSecondText = ''
const MILLISECONDS = Array.from({ length: 1000 }, (_, ms) => '.' + String(ms).padStart(3, '0') + 'Z')

/** `ms` as an ISO 8601 timestamp. */
export function iso (ms: number): string {
  // A clock may tell fractions of a millisecond; the text has none.
  const whole = Math.floor(ms)
  const second = Math.floor(whole / 1000)
  if (second !== lastSecond) {
    let text = secondsCache.get(second)
    if (text === undefined) {
      if (secondsCache.size >= 4096) secondsCache.clear()
      // `.000Z` off the end, whatever the length of the year.
      text = new Date(second * 1000).toISOString().slice(0, -5)
      secondsCache.set(second, text)
    }
    lastSecond = second
    lastSecondText = text
  }
  return lastSecondText + MILLISECONDS[whole - second * 1000]!
}

/**
 * The view of a record, its fields in the schema's order: one literal per shape (with a
 * description or without), so every view has one of two shapes and `JSON.stringify` takes its
 * fast path.
 */
export function instanceView (record: Readonly<InstanceRecord>, now: number, live: Liveness): InstanceView {
  const { instanceId, name, description, version, url, balancerOptions, metadata } = record
  const status = statusOf(record, now, live)
  const reportedStatus = record.status
  const registeredAt = iso(record.registeredAt)
  const lastHeartbeat = iso(record.lastHeartbeat)
  const view: InstanceView = description === undefined
    ? { instanceId, name, version, url, status, reportedStatus, balancerOptions, metadata, registeredAt, lastHeartbeat }
    : { instanceId, name, description, version, url, status, reportedStatus, balancerOptions, metadata, registeredAt, lastHeartbeat }
  // Rare (an instance that is DOWN): left out of the literals.
  if (status === 'DOWN') {
    const maintenance = live.maintenance.get(instanceId)
    const since = downSince(record, now, live, maintenance)
    if (since !== undefined) view.downSince = iso(since)
    if (maintenance !== undefined) view.maintenance = { reason: maintenance.reason, since: iso(maintenance.since) }
  }
  return view
}

/** The views of `records`, in their order, each made when it is reached. */
export function * instanceViews (records: ReadonlyArray<Readonly<InstanceRecord>>, now: number, live: Liveness): Generator<InstanceView> {
  for (const record of records) yield instanceView(record, now, live)
}

/** A service's description: that of its most recently registered instance that has one, else `''`. */
export function latestDescription (records: Iterable<Readonly<Pick<InstanceRecord, 'description' | 'registeredAt' | 'instanceId'>>>): string {
  let latest: Readonly<Pick<InstanceRecord, 'description' | 'registeredAt' | 'instanceId'>> | undefined
  for (const record of records) {
    if (record.description === undefined || record.description === '') continue
    if (latest === undefined || record.registeredAt > latest.registeredAt ||
      (record.registeredAt === latest.registeredAt && record.instanceId < latest.instanceId)) {
      latest = record
    }
  }
  return latest?.description ?? ''
}

/** A service as a list writes it: its figures, then its instances' views, made one at a time. */
export interface ServiceListing extends Omit<ServiceView, 'instances'> {
  instances: Iterable<InstanceView>
}

/** A service's figures, and its instances (`records`, sorted by id) as views made when read. */
export function serviceListing (name: string, records: ReadonlyArray<Readonly<InstanceRecord>>, now: number, live: Liveness): ServiceListing {
  let instancesOnline = 0
  for (const record of records) if (statusOf(record, now, live) === 'OK') instancesOnline++
  return {
    name,
    description: latestDescription(records),
    status: instancesOnline > 0 ? 'UP' : 'DOWN',
    instancesOnline,
    instancesTotal: records.length,
    instances: instanceViews(records, now, live)
  }
}

/** A service listing with its views made, as one literal: every service view has one shape. */
export function materialise (service: ServiceListing): ServiceView {
  const { name, description, status, instancesOnline, instancesTotal } = service
  return { name, description, status, instancesOnline, instancesTotal, instances: [...service.instances] }
}
