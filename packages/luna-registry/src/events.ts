import type { InstanceView } from './schemas.js'

export type InstanceStatus = 'OK' | 'DOWN'

/** Why an instance's effective status changed. */
export type StatusReason = 'timeout' | 'reported' | 'heartbeat' | 'maintenance'

interface EventBase {
  /** Increases by one with every event a registry emits. */
  id: number
  /** When the registry emitted it, ISO 8601. */
  time: string
  service: string
  instanceId: string
}

/** An instance registered (`created`) or registered again, replacing its registration. */
export interface RegisteredEvent extends EventBase { type: 'registered', created: boolean, instance: InstanceView }
/** A heartbeat changed the instance's info (a heartbeat that changes nothing emits nothing). */
export interface UpdatedEvent extends EventBase { type: 'updated', instance: InstanceView }
/** The instance's effective status changed. */
export interface StatusEvent extends EventBase {
  type: 'status'
  previous: InstanceStatus
  status: InstanceStatus
  reason: StatusReason
  instance: InstanceView
}
export interface DeregisteredEvent extends EventBase { type: 'deregistered' }
/** Removed after being DOWN for a missed heartbeat for longer than `evictAfter`. */
export interface EvictedEvent extends EventBase { type: 'evicted', instance: InstanceView }

/** An operator put the instance in maintenance (`instance.maintenance` says why) or lifted it. */
export interface MaintenanceEvent extends EventBase { type: 'maintenance', active: boolean, instance: InstanceView }

/**
 * Mass-expiry protection turned on or off: the registry's, not an instance's, so it carries no
 * service or instance id, and every subscriber gets it whatever its filter.
 */
export interface ProtectionEvent {
  type: 'protection'
  id: number
  time: string
  active: boolean
  /** While active: when it turned on, ISO 8601. */
  since?: string
  /** Why it turned on, or off. */
  reason: string
  /** When it turned on: instances that timed out, and of how many that were OK or timed out. */
  timedOut?: number
  of?: number
}

export type RegistryEvent = RegisteredEvent | UpdatedEvent | StatusEvent | DeregisteredEvent | EvictedEvent | MaintenanceEvent | ProtectionEvent
export type RegistryEventType = RegistryEvent['type']

/**
 * `registry.on('status', (event) => …)`: each event type, and `event` for all of them. `resync`
 * is no change event: the shared store may have lost events or data, so what was built from the
 * events so far may be wrong and is to be read afresh.
 */
export interface RegistryEventMap {
  registered: [RegisteredEvent]
  updated: [UpdatedEvent]
  status: [StatusEvent]
  deregistered: [DeregisteredEvent]
  evicted: [EvictedEvent]
  maintenance: [MaintenanceEvent]
  protection: [ProtectionEvent]
  event: [RegistryEvent]
  resync: []
}

export const EVENT_TYPES: readonly RegistryEventType[] = ['registered', 'updated', 'status', 'deregistered', 'evicted', 'maintenance', 'protection']
