/**
 * The registry's wire types, written out by hand so that the client never loads Fastify or
 * luna-registry; `test/types.test.ts` checks that they stay assignable to the registry's own, both ways.
 */

/** What an instance says about itself. */
export type ReportedStatus = 'OK' | 'DOWN'
/** The effective status: `DOWN` when reported so or when the last heartbeat is too old. */
export type InstanceStatus = 'OK' | 'DOWN'
/** `UP` while at least one instance of the service is `OK`. */
export type ServiceStatus = 'UP' | 'DOWN'

/** `weight` (integer 0–1000, default 1; 0 sends no traffic) and any keys of your own. */
export interface BalancerOptions {
  weight?: number
  [key: string]: unknown
}

/** The body of a registration (POST) and of a heartbeat (PUT). */
export interface InstanceInfo {
  /** If present, must equal the id the instance registers under. */
  instanceId?: string
  /** The service name; must equal the first part of the instance id. */
  name: string
  description?: string
  version: string
  status: ReportedStatus
  /** Where the instance answers: an absolute `http:` or `https:` URL. */
  url: string
  balancerOptions?: BalancerOptions
  metadata?: Record<string, string>
}

/** An instance as the registry reports it. Timestamps are ISO 8601 strings. */
export interface InstanceView {
  instanceId: string
  name: string
  description?: string
  version: string
  url: string
  status: InstanceStatus
  reportedStatus: ReportedStatus
  balancerOptions: { weight: number, [key: string]: unknown }
  metadata: Record<string, string>
  registeredAt: string
  lastHeartbeat: string
  /** Since when the status has been `DOWN`; absent while it is `OK`. */
  downSince?: string
  /** Set while an operator holds the instance in maintenance: it is `DOWN` whatever it reports. */
  maintenance?: { reason: string, since: string }
}

/** A service: the instances sharing a name, sorted by id. */
export interface ServiceView {
  name: string
  /** That of the most recently registered instance that has one, else `''`. */
  description: string
  status: ServiceStatus
  instancesOnline: number
  instancesTotal: number
  instances: InstanceView[]
}

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
/** A heartbeat changed the instance's info. */
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
/** Removed after being `DOWN` for a missed heartbeat for longer than the registry's `evictAfter`. */
export interface EvictedEvent extends EventBase { type: 'evicted', instance: InstanceView }

/** An operator put the instance in maintenance or lifted it. */
export interface MaintenanceEvent extends EventBase { type: 'maintenance', active: boolean, instance: InstanceView }
/** Mass-expiry protection turned on or off: the registry's, so it has no service or instance. */
export interface ProtectionEvent {
  type: 'protection'
  id: number
  time: string
  active: boolean
  since?: string
  reason: string
  timedOut?: number
  of?: number
}

/** A change, as sent on the event stream after the snapshot. */
export type RegistryEvent = RegisteredEvent | UpdatedEvent | StatusEvent | DeregisteredEvent | EvictedEvent | MaintenanceEvent | ProtectionEvent
export type RegistryEventType = RegistryEvent['type']

export const EVENT_TYPES: readonly RegistryEventType[] = ['registered', 'updated', 'status', 'deregistered', 'evicted', 'maintenance', 'protection']

/** The registry's error body, Fastify's shape. */
export interface ErrorBody {
  statusCode: number
  code: string
  error: string
  message: string
}
