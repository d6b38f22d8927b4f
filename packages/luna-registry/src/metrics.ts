import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client'
import type { LunaRegistry } from './registry.js'
import type { StatusEvent } from './events.js'

interface Figures {
  instances: Record<string, number>
  services: Record<string, number>
}

/** Why an event-stream subscriber was dropped. */
export type DropReason = 'slow' | 'snapshot_timeout' | 'snapshot_overflow'

/**
 * Request durations, from well under a millisecond (a heartbeat) to the seconds a large list
 * may take to stream.
 */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

interface Series {
  labels: { method: string, route: string, status_code: string }
  /** Observations per bucket, not cumulative; the last is above every bound. */
  counts: number[]
  sum: number
  count: number
}

/**
 * A histogram of request durations, counted in plain arrays on the request path and written out
 * in prom-client's form when scraped. prom-client's own `Histogram.observe` checks and hashes its
 * labels on every call, which costs a heartbeat more than the rest of its counting together.
 */
class RequestDurations {
  readonly name = 'luna_http_request_duration_seconds'
  readonly help = 'Time to answer a request, by method, route (as declared, never the raw URL) and status code'
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  /**
   * By route, method and status: strings the router and the parser hand over as the same
   * objects every time, whose hashes are kept, and a number; no key is built per request.
   */
  readonly #series = new Map<string, Map<string, Map<number, Series>>>()

  observe (method: string, route: string, statusCode: number, seconds: number): void {
    let byMethod = this.#series.get(route)
    if (byMethod === undefined) this.#series.set(route, byMethod = new Map())
    let byStatus = byMethod.get(method)
    if (byStatus === undefined) byMethod.set(method, byStatus = new Map())
    let series = byStatus.get(statusCode)
    if (series === undefined) {
      series = { labels: { method, route, status_code: String(statusCode) }, counts: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0, count: 0 }
      byStatus.set(statusCode, series)
    }
    let bucket = 0
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket++
    series.counts[bucket]!++
    series.sum += seconds
    series.count++
  }

  * #all (): Generator<Series> {
    for (const byMethod of this.#series.values()) for (const byStatus of byMethod.values()) yield * byStatus.values()
  }

  async get (): Promise<{ name: string, help: string, type: string, aggregator: string, values: Array<{ labels: Record<string, string | number>, value: number, metricName: string }> }> {
    const values = []
    for (const { labels, counts, sum, count } of this.#all()) {
      let cumulative = 0
      for (let bucket = 0; bucket < counts.length; bucket++) {
        cumulative += counts[bucket]!
        values.push({ labels: { le: DURATION_BUCKETS[bucket] ?? '+Inf', ...labels }, value: cumulative, metricName: `${this.name}_bucket` })
      }
      values.push({ labels, value: sum, metricName: `${this.name}_sum` }, { labels, value: count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset (): void {
    this.#series.clear()
  }
}

let processMetrics: Registry | undefined

/**
 * The process's own metrics (memory, CPU, event-loop lag, GC), collected once per process
 * whatever the number of registries in it: their collectors are never stopped, and describe the
 * process rather than a registry. Each registry's `Registry` lists the same metric objects.
 */
function processRegistry (): Registry {
  if (processMetrics === undefined) {
    processMetrics = new Registry()
    collectDefaultMetrics({ register: processMetrics })
  }
  return processMetrics
}

/**
 * One registry's Prometheus metrics, in a prom-client `Registry` of its own (never prom-client's
 * global one: two registries in one process, or a host app's own metrics, never collide).
 *
 * What the registry holds is read when Prometheus scrapes, not kept up to date on every heartbeat;
 * the changes are counted from the registry's events, which with a shared store include the other
 * processes' (so, like the gauges, they describe the whole registry); heartbeats, requests and
 * the rest are this process's own. Another feature adds its metrics to `register`.
 */
export class RegistryMetrics {
  readonly register = new Registry()
  readonly #registry: LunaRegistry
  /** Counted as a plain number on the heartbeat path, handed to the counter when scraped. */
  #heartbeats = 0
  #heartbeatsCounted = 0
  readonly #subscriberCounts = new Set<() => number>()
  readonly #subscribersDropped: Counter<'reason'>
  readonly #storeErrors: Counter
  readonly #authFailures: Counter
  readonly #requests = new RequestDurations()
  readonly #listeners: Array<() => void> = []

  constructor (registry: LunaRegistry) {
    this.#registry = registry
    const add = <T extends Metric>(metric: T): T => {
      this.register.registerMetric(metric)
      return metric
    }
    const shared = processRegistry()
    for (const { name } of shared.getMetricsAsArray()) add(shared.getSingleMetric(name)!)

    // Both gauges come from one look at the store per scrape: prom-client collects them together.
    let reading: Promise<Figures | undefined> | undefined
    const read = async (): Promise<Figures | undefined> => {
      reading ??= this.#figures().finally(() => { reading = undefined })
      return await reading
    }
    const gauge = (name: string, help: string, pick: (figures: Figures) => Record<string, number>): void => {
      add(new Gauge({
        name,
        help,
        labelNames: ['status'],
        registers: [],
        async collect () {
          this.reset()
          const figures = await read()
          if (figures === undefined) return
          for (const [status, count] of Object.entries(pick(figures))) this.set({ status }, count)
        }
      }))
    }
    gauge('luna_instances', 'Registered instances, by effective status (OK or DOWN)', (figures) => figures.instances)
    gauge('luna_services', 'Services with instances, by status (UP or DOWN)', (figures) => figures.services)

    const heartbeats = (): number => {
      const fresh = this.#heartbeats - this.#heartbeatsCounted
      this.#heartbeatsCounted = this.#heartbeats
      return fresh
    }
    add(new Counter({
      name: 'luna_heartbeats_total',
      help: 'Heartbeats accepted from registered instances',
      registers: [],
      collect () { this.inc(heartbeats()) }
    }))
    this.#countEvents(add)

    add(new Gauge({
      name: 'luna_protection_active',
      help: 'Whether mass-expiry protection is on (1): nothing is evicted while it is',
      registers: [],
      collect () { this.set(registry.protection.active ? 1 : 0) }
    }))

    const subscribers = this.#subscriberCounts
    add(new Gauge({
      name: 'luna_event_subscribers',
      help: 'Clients following the event stream',
      registers: [],
      collect () {
        let total = 0
        for (const count of subscribers) total += count()
        this.set(total)
      }
    }))
    this.#subscribersDropped = add(new Counter({
      name: 'luna_event_subscribers_dropped_total',
      help: 'Event-stream subscribers dropped: slow (left too much unread), snapshot_timeout or snapshot_overflow',
      labelNames: ['reason'],
      registers: []
    }))
    this.#storeErrors = add(new Counter({
      name: 'luna_store_errors_total',
      help: 'Requests and scrapes that failed because the store was unavailable',
      registers: []
    }))
    this.#authFailures = add(new Counter({
      name: 'luna_auth_failures_total',
      help: 'Requests refused for missing or wrong credentials (401)',
      registers: []
    }))
    // A metric of prom-client's shape, not one of its classes: see RequestDurations.
    this.register.registerMetric(this.#requests as unknown as Metric)
  }

  /** One heartbeat accepted. */
  heartbeat (): void {
    this.#heartbeats++
  }

  /** Counts the subscribers `count` reports, at every scrape. */
  countSubscribers (count: () => number): void {
    this.#subscriberCounts.add(count)
  }

  subscriberDropped (reason: DropReason): void {
    this.#subscribersDropped.inc({ reason })
  }

  storeError (): void {
    this.#storeErrors.inc()
  }

  authFailure (): void {
    this.#authFailures.inc()
  }

  /** A request answered; `route` is the route as declared (`/registry/v1/instances/*`). */
  request (method: string, route: string, statusCode: number, seconds: number): void {
    this.#requests.observe(method, route, statusCode, seconds)
  }

  /** Stops counting the registry's events. */
  close (): void {
    for (const remove of this.#listeners.splice(0)) remove()
  }

  /** The registry's figures now; `undefined`, counted as a store error, when the store fails. */
  async #figures (): Promise<Figures | undefined> {
    const registry = this.#registry
    let records
    try {
      records = await registry.store.list()
    } catch {
      // No figures rather than a failed scrape: the process's other metrics still go out.
      this.storeError()
      return undefined
    }
    const now = registry.now()
    const instances = { OK: 0, DOWN: 0 }
    const up = new Set<string>()
    const names = new Set<string>()
    for (const record of records) {
      const status = registry.statusOf(record, now)
      instances[status]++
      names.add(record.name)
      if (status === 'OK') up.add(record.name)
    }
    return { instances, services: { UP: up.size, DOWN: names.size - up.size } }
  }

  #countEvents (add: <T extends Metric>(metric: T) => T): void {
    const registry = this.#registry
    const counter = (name: string, help: string): Counter => add(new Counter({ name, help, registers: [] }))
    const registrations = counter('luna_registrations_total', 'Registrations, new or repeated')
    const deregistrations = counter('luna_deregistrations_total', 'Instances deregistered')
    const timeouts = counter('luna_timeouts_total', 'Instances turned DOWN by a missed heartbeat')
    const evictions = counter('luna_evictions_total', 'Instances evicted after being DOWN for evictAfter')
    const onRegistered = (): void => { registrations.inc() }
    const onDeregistered = (): void => { deregistrations.inc() }
    const onStatus = (event: StatusEvent): void => { if (event.reason === 'timeout') timeouts.inc() }
    const onEvicted = (): void => { evictions.inc() }
    registry.on('registered', onRegistered)
    registry.on('deregistered', onDeregistered)
    registry.on('status', onStatus)
    registry.on('evicted', onEvicted)
    this.#listeners.push(
      () => registry.off('registered', onRegistered),
      () => registry.off('deregistered', onDeregistered),
      () => registry.off('status', onStatus),
      () => registry.off('evicted', onEvicted)
    )
  }
}
