import { lunaRegistry } from './plugin.js'

export default lunaRegistry
export { lunaRegistry }
export { LunaRegistry } from './registry.js'
export type { InstanceFilter, InstanceStatus, LunaRegistryConfig, RegisterOutcome, ServiceFilter, ServiceStatus } from './registry.js'
export type {
  DeregisteredEvent,
  EvictedEvent,
  RegisteredEvent,
  RegistryEvent,
  RegistryEventMap,
  RegistryEventType,
  StatusEvent,
  StatusReason,
  UpdatedEvent
} from './events.js'
export { EVENT_TYPES } from './events.js'
export type { LunaAuthOptions, LunaEventsOptions, LunaRegistryOptions, LunaRegistrySettings } from './options.js'
export {
  DEFAULT_EVICT_AFTER,
  DEFAULT_HEARTBEAT_TIMEOUT,
  DEFAULT_KEEP_ALIVE,
  DEFAULT_MAX_BUFFER,
  DEFAULT_PREFIX,
  DEFAULT_SNAPSHOT_TIMEOUT,
  DEFAULT_SWEEP_INTERVAL,
  DEFAULT_USERNAME,
  normaliseOptions
} from './options.js'
export { BALANCER_KINDS, balancerKind, createBalancer, type Balancer, type BalancerCandidate, type BalancerKind, type CreateBalancerOptions } from './balancer.js'
export { MemoryStore } from './stores/memory-store.js'
export type {
  BalancerOptions,
  HeartbeatResult,
  InstanceRecord,
  InstanceUpdate,
  ListFilter,
  RegisterResult,
  RegistryStore,
  ReportedStatus,
  SharedEvent,
  SharedStore
} from './store.js'
export { STORE_METHODS, isSharedStore } from './store.js'
export * from './errors.js'
export * from './schemas.js'
export { parseInstanceId, isHostname, isServiceName, type InstanceIdParts } from './instance-id.js'
export { parseDuration, formatDuration } from './duration.js'
export { withoutUserinfo } from './userinfo.js'
