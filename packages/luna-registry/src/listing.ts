import type { InstanceStatus } from './events.js'
import type { InstanceView } from './schemas.js'
import { matchesMetadata, type MetadataFilter } from './metadata-filter.js'
import type { InstanceRecord } from './store.js'
import { nextTurn } from './turns.js'
import { instanceViews, serviceListing, statusOf, type Liveness, type ServiceListing } from './views.js'

export type ServiceStatus = 'UP' | 'DOWN'

export interface InstanceFilter {
  service?: string | undefined
  status?: InstanceStatus | undefined
  /** Only the instances whose metadata has all these entries. */
  metadata?: MetadataFilter | undefined
}

export interface ServiceFilter {
  status?: ServiceStatus | undefined
  /** Only the service of this name. */
  service?: string | undefined
  /** Only the instances whose metadata has all these entries (and the services that have any). */
  metadata?: MetadataFilter | undefined
}

/** The records whose metadata has every entry of `filter`: `records` itself when there is no filter. */
export function withMetadata (records: Records, filter: MetadataFilter | undefined): Records {
  return filter === undefined ? records : records.filter((record) => matchesMetadata(record.metadata, filter))
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

type Records = ReadonlyArray<Readonly<InstanceRecord>>

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function byId (a: Readonly<InstanceRecord>, b: Readonly<InstanceRecord>): number {
  return compare(a.instanceId, b.instanceId)
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

/** Records grouped between two turns of the event loop: a large registry is grouped in several. */
const GROUPED_PER_TURN = 4096

/**
 * The records of each service, in arrays of their exact size: a list written to a slow reader
 * keeps them until it is done, and arrays grown by `push` hold half as much again. A registry of
 * many thousand instances is grouped over several turns (`nextTurn`), so that lists asked for at
 * once take turns with each other and with every other request rather than queue them all.
 */
async function groupByName (records: Records): Promise<Map<string, Array<Readonly<InstanceRecord>>>> {
  const counts = new Map<string, number>()
  for (let i = 0; i < records.length; i++) {
    if (i > 0 && i % GROUPED_PER_TURN === 0) await nextTurn()
    const { name } = records[i]!
    counts.set(name, (counts.get(name) ?? 0) + 1)
  }
  const groups = new Map<string, Array<Readonly<InstanceRecord>>>()
  for (const [name, count] of counts) groups.set(name, new Array<Readonly<InstanceRecord>>(count))
  // `counts` now counts down the records of each service still to be placed.
  for (let i = 0; i < records.length; i++) {
    if (i > 0 && i % GROUPED_PER_TURN === 0) await nextTurn()
    const record = records[i]!
    const left = counts.get(record.name)!
    counts.set(record.name, left - 1)
    groups.get(record.name)![left - 1] = record
  }
  return groups
}

/** A page of the instances among `listed` (a store's list), sorted by id, filtered by status. */
export function instancePage (listed: Records, filter: InstanceFilter, page: Page, now: number, live: Liveness): Listing<InstanceView> {
  const matching = withMetadata(listed, filter.metadata)
  // Our own array, sorted in place.
  const records = filter.status === undefined ? matching.slice() : matching.filter((record) => statusOf(record, now, live) === filter.status)
  records.sort(byId)
  const start = page.after === undefined ? 0 : firstAfter(records, page.after, (record) => record.instanceId)
  const end = page.limit === undefined ? records.length : Math.min(records.length, start + page.limit)
  const next = end < records.length && end > start ? records[end - 1]!.instanceId : undefined
  // A page keeps only its own records, not the whole list's.
  const shown = start === 0 && end === records.length ? records : records.slice(start, end)
  return { items: instanceViews(shown, now, live), next }
}

/** A page of the services among `listed` (a store's list), sorted by name, filtered by status. */
export async function servicePage (listed: Records, filter: ServiceFilter, page: Page, now: number, live: Liveness): Promise<Listing<ServiceListing>> {
  const byName = await groupByName(withMetadata(listed, filter.metadata))
  const names = [...byName.keys()].sort(compare)
  const matches = (name: string): boolean => filter.status === undefined ||
    (byName.get(name)!.some((record) => statusOf(record, now, live) === 'OK') ? 'UP' : 'DOWN') === filter.status
  const shown: string[] = []
  let i = page.after === undefined ? 0 : firstAfter(names, page.after, (name) => name)
  for (; i < names.length && (page.limit === undefined || shown.length < page.limit); i++) {
    if (matches(names[i]!)) shown.push(names[i]!)
  }
  let next: string | undefined
  if (page.limit !== undefined && shown.length > 0) {
    for (; i < names.length && next === undefined; i++) if (matches(names[i]!)) next = shown.at(-1)
  }
  const groups = shown.map((name) => byName.get(name)!)
  return { items: services(groups, now, live), next }
}

/** Each group of records (one service's, ours to sort) as a service, made when it is reached. */
function * services (groups: Array<Array<Readonly<InstanceRecord>>>, now: number, live: Liveness): Generator<ServiceListing> {
  for (const records of groups) yield serviceListing(records[0]!.name, records.sort(byId), now, live)
}
