import type { InstanceRecord, InstanceUpdate } from 'luna-registry'

/**
 * An instance as the scripts read it from its hash: the info as JSON, the two times, and
 * reportedDownSince (null or '' when it has none).
 */
export type Fields = [string, string, string, string | null]

export function toRecord ([json, registeredAt, lastHeartbeat, reportedDownSince]: Fields): InstanceRecord {
  const record = JSON.parse(json) as InstanceRecord
  record.registeredAt = Number(registeredAt)
  record.lastHeartbeat = Number(lastHeartbeat)
  if (reportedDownSince !== null && reportedDownSince !== '') record.reportedDownSince = Number(reportedDownSince)
  return record
}

/** `[id, fields, id, fields, …]` as records, skipping ids whose instance vanished meanwhile. */
export function toRecords (flat: Array<string | Fields>): InstanceRecord[] {
  const records: InstanceRecord[] = []
  for (let i = 1; i < flat.length; i += 2) {
    const fields = flat[i] as Fields
    if (fields[0] !== null) records.push(toRecord(fields))
  }
  return records
}

/**
 * The record of `update`'s info with the given times, built field by field: a spread followed by
 * a `delete` would leave V8's fast object shapes behind.
 */
export function recordOf (update: InstanceUpdate, registeredAt: number, lastHeartbeat: number, reportedDownSince: string | null): InstanceRecord {
  const { instanceId, name, version, url, status, balancerOptions, metadata, description } = update
  const record: InstanceRecord = description === undefined
    ? { instanceId, name, version, url, status, balancerOptions, metadata, registeredAt, lastHeartbeat }
    : { instanceId, name, version, url, status, balancerOptions, metadata, description, registeredAt, lastHeartbeat }
  if (reportedDownSince !== null && reportedDownSince !== '') record.reportedDownSince = Number(reportedDownSince)
  return record
}

/**
 * The info as stored in JSON: everything the scripts do not keep in fields of their own, in the
 * order the registry builds a record (the heartbeat script tells a repeated info by its text).
 */
function writeInfo (update: InstanceUpdate): string {
  const { instanceId, name, version, url, status, balancerOptions, metadata, description } = update
  return JSON.stringify({ instanceId, name, version, url, status, balancerOptions, metadata, description })
}

/** A JSON text kept with the values it was written from, to be told by identity. */
interface Written {
  update: InstanceUpdate
  json: string
}

function sameInfo (a: InstanceUpdate, b: InstanceUpdate): boolean {
  return a.metadata === b.metadata && a.balancerOptions === b.balancerOptions && a.instanceId === b.instanceId &&
    a.name === b.name && a.version === b.version && a.url === b.url && a.status === b.status && a.description === b.description
}

/**
 * The info's JSON, written once for each info the registry hands over again and again. Inputs
 * are deeply frozen (luna-registry's store rule), so objects that are the same by identity are
 * the same by value, and a text written from them stays right. Every heartbeat that repeats a
 * remembered body brings the same metadata object: the text is kept with it, weakly, so it goes
 * when the body is forgotten.
 */
const written = new WeakMap<object, Written>()
export function infoJson (update: InstanceUpdate): string {
  const known = written.get(update.metadata)
  if (known !== undefined && sameInfo(known.update, update)) return known.json
  const json = writeInfo(update)
  written.set(update.metadata, { update, json })
  return json
}
