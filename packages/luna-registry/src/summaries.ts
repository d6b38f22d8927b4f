import { versionsOf, type VersionCount } from '../public/luna-format.js'
import type { ServiceStatus } from './listing.js'
import type { InstanceRecord } from './store.js'
import { downSince, iso, latestDescription, statusOf, type Liveness } from './views.js'

/**
 * A service in a few figures, without its instances: what an overview of many services shows,
 * and its stream (`GET /events?view=summary`) sends. Its size follows the number of versions,
 * not of instances.
 */
export interface ServiceSummary {
  name: string
  status: ServiceStatus
  /** Instances OK. */
  online: number
  /** Instances registered; `0` in the summary of a service that has just lost its last one. */
  total: number
  /** Each version its instances run, in natural order, with how many run it. */
  versions: VersionCount[]
  /** The description of its most recently registered instance that has one, else `''`. */
  description: string
  /** For a DOWN service: when the last of its instances went down. */
  downSince?: string
}

/** The summary of `name` made of `records` (all of its instances), reading each record once. */
export function serviceSummary (name: string, records: ReadonlyArray<Readonly<InstanceRecord>>, now: number, live: Liveness): ServiceSummary {
  let online = 0
  for (const record of records) if (statusOf(record, now, live) === 'OK') online++
  const summary: ServiceSummary = {
    name,
    status: online > 0 ? 'UP' : 'DOWN',
    online,
    total: records.length,
    versions: versionsOf(records),
    description: latestDescription(records)
  }
  if (online === 0 && records.length > 0) {
    // Every instance is DOWN: the service went DOWN when the last of them did.
    let latest: number | undefined
    for (const record of records) {
      const since = downSince(record, now, live, live.maintenance.get(record.instanceId))
      if (since !== undefined && (latest === undefined || since > latest)) latest = since
    }
    if (latest !== undefined) summary.downSince = iso(latest)
  }
  return summary
}

/** The summaries of the services among `records`, sorted by name. */
export function serviceSummaries (records: ReadonlyArray<Readonly<InstanceRecord>>, now: number, live: Liveness): ServiceSummary[] {
  const byName = new Map<string, Array<Readonly<InstanceRecord>>>()
  for (const record of records) {
    const group = byName.get(record.name)
    if (group === undefined) byName.set(record.name, [record])
    else group.push(record)
  }
  const names = [...byName.keys()].sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
  return names.map((name) => serviceSummary(name, byName.get(name)!, now, live))
}
