import { lunaRegistry } from './plugin.js'

export default lunaRegistry
export { lunaRegistry }
export { LunaRegistry } from './registry.js'
export type { InstanceFilter, InstanceStatus, RegisterOutcome, ServiceStatus } from './registry.js'
export type { LunaAuthOptions, LunaRegistryOptions, LunaRegistrySettings } from './options.js'
export { DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_PREFIX, DEFAULT_USERNAME, normaliseOptions } from './options.js'
export { MemoryStore } from './stores/memory-store.js'
export type {
  BalancerOptions,
  InstanceRecord,
  InstanceUpdate,
  ListFilter,
  RegisterResult,
  RegistryStore,
  ReportedStatus
} from './store.js'
export * from './errors.js'
export * from './schemas.js'
export { parseInstanceId, isServiceName, type InstanceIdParts } from './instance-id.js'
export { parseDuration, formatDuration } from './duration.js'
