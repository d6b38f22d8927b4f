import { InstanceIdMismatchError, InvalidInstanceIdError } from './errors.js'
import { parseInstanceId } from './instance-id.js'
import type { InstanceInfo } from './schemas.js'
import type { BalancerOptions, InstanceRecord, InstanceUpdate } from './store.js'

/** A record's metadata when its body had none: one frozen object, so it can be told by identity. */
export const NO_METADATA: Readonly<Record<string, string>> = Object.freeze({})
/** A record's balancer options when its body had none. */
export const DEFAULT_BALANCER_OPTIONS: Readonly<BalancerOptions> = Object.freeze({ weight: 1 })

/**
 * The instance id each checked info was found to agree with. Infos are frozen, and the checks
 * are functions of the info and the id alone: an info sent again to the same id (a remembered
 * body, handed back as the same object) is not checked again.
 */
const agreesWith = new WeakMap<object, string>()

function checkAgainstId (instanceId: string, info: Readonly<InstanceInfo>): void {
  if (agreesWith.get(info) === instanceId) return
  const parsed = parseInstanceId(instanceId)
  if (!parsed.ok) throw new InvalidInstanceIdError(instanceId, parsed.reason)
  if (info.instanceId !== undefined && info.instanceId !== instanceId) {
    throw new InstanceIdMismatchError('instanceId', 'the instance id', info.instanceId)
  }
  if (info.name !== parsed.parts.serviceName) {
    throw new InstanceIdMismatchError('name', `the service name "${parsed.parts.serviceName}"`, info.name)
  }
  agreesWith.set(info, instanceId)
}

function balancerOptionsOf (info: Readonly<InstanceInfo>): BalancerOptions {
  if (info.balancerOptions === undefined) return DEFAULT_BALANCER_OPTIONS
  if (info.balancerOptions.weight !== undefined) return info.balancerOptions as BalancerOptions
  return Object.freeze({ ...info.balancerOptions, weight: 1 })
}

/**
 * The record to store for a checked, frozen `info` sent to `instanceId`: the id is checked part
 * by part, the info must agree with it, and only the known fields are kept. The record holds the
 * info's own objects: they are frozen, so the store may keep them.
 */
export function recordFrom (instanceId: string, info: Readonly<InstanceInfo>, now: number): InstanceUpdate {
  checkAgainstId(instanceId, info)
  const { name, description, version, url, status } = info
  const balancerOptions = balancerOptionsOf(info)
  const metadata = info.metadata ?? NO_METADATA
  // One literal per shape, as the memory store's records and the views.
  const record: InstanceUpdate = description === undefined
    ? { instanceId, name, version, url, status, balancerOptions, metadata, lastHeartbeat: now }
    : { instanceId, name, version, url, status, balancerOptions, metadata, description, lastHeartbeat: now }
  if (status === 'DOWN') record.reportedDownSince = now
  return record
}

function sameEntries (a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  if (a === b) return true
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((key) => key in b && (a[key] === b[key] || JSON.stringify(a[key]) === JSON.stringify(b[key])))
}

/** Whether two records say the same about an instance, timestamps aside. */
export function sameInfo (a: Readonly<InstanceRecord>, b: Readonly<InstanceRecord>): boolean {
  return a.version === b.version && a.url === b.url && a.status === b.status &&
    a.description === b.description &&
    sameEntries(a.metadata, b.metadata) && sameEntries(a.balancerOptions, b.balancerOptions)
}
