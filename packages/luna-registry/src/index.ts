// The public surface, listed one by one: what embedders, store authors and Luna's other packages
// use. Everything else is internal and may change. `test/exports.test.ts` pins this list.
import { lunaRegistry } from './plugin.js'

export default lunaRegistry
export { lunaRegistry }

// The registry, in process (`fastify.lunaRegistry`), and its events.
export { LunaRegistry } from './registry.js'
export type {
  InstanceFilter,
  InstanceStatus,
  Listing,
  LiftOutcome,
  LunaRegistryConfig,
  Page,
  RegisterOutcome,
  RegistryLogger,
  ServiceFilter,
  ServiceListing,
  ServiceStatus,
  ServiceSummary
} from './registry.js'
export { EVENT_TYPES } from './events.js'
export type {
  DeregisteredEvent,
  EvictedEvent,
  MaintenanceEvent,
  ProtectionEvent,
  RegisteredEvent,
  RegistryEvent,
  RegistryEventMap,
  RegistryEventType,
  StatusEvent,
  StatusReason,
  UpdatedEvent
} from './events.js'
export type { InstanceInfo, InstanceView, ProtectionView, ServiceView, Summary } from './schemas.js'

// Observability: the OpenAPI paths another plugin adds to the registry's document.
export type { OpenApiDocument, OpenApiOperation, OpenApiPaths } from './openapi.js'

// Options.
export type { LunaAuthOptions, LunaEventsOptions, LunaRegistryOptions, LunaVerify } from './options.js'
export {
  DEFAULT_MAX_FAILURES,
  DEFAULT_EVICT_AFTER,
  DEFAULT_HEARTBEAT_TIMEOUT,
  DEFAULT_KEEP_ALIVE,
  DEFAULT_MAX_BUFFER,
  DEFAULT_PREFIX,
  DEFAULT_PROTECTION_MAX_DURATION,
  DEFAULT_PROTECTION_THRESHOLD,
  DEFAULT_SNAPSHOT_TIMEOUT,
  DEFAULT_SWEEP_INTERVAL,
  DEFAULT_USERNAME
} from './options.js'

// Users, roles, passwords, and where failed authentications are counted.
export { LunaUsers, type LunaUser } from './users.js'
export { ROLES, type LunaAccess, type LunaRole } from './access.js'
export { hashPassword, PASSWORD_HASH_FORMAT } from './passwords.js'
export { MemoryFailureStore, type AuthFailureStore, type FailureCount } from './failures.js'

// Stores.
export { MemoryStore } from './stores/memory-store.js'
export { GUARD_METHODS, STORE_METHODS, isGuardStore, isSharedStore } from './store.js'
export type {
  BalancerOptions,
  GuardStore,
  HeartbeatResult,
  InstanceRecord,
  InstanceUpdate,
  ListFilter,
  Maintenance,
  ProtectionState,
  ProtectionSwap,
  RecentTimeout,
  RegisterResult,
  RegistryStore,
  ReportedStatus,
  SharedEvent,
  SharedStore
} from './store.js'

// The balancer `pick` uses, for the gateway.
export { BALANCER_KINDS, balancerKind, createBalancer, type Balancer, type BalancerCandidate, type BalancerKind, type CreateBalancerOptions } from './balancer.js'

// Errors, to catch by class or by code.
export {
  BadRequestError,
  BodyTooDeepError,
  ForbiddenError,
  InstanceIdMismatchError,
  InstanceNotFoundError,
  InternalError,
  InvalidContentEncodingError,
  InvalidInstanceIdError,
  InvalidInstanceInfoError,
  InvalidMetadataFilterError,
  InvalidOptionError,
  InvalidUsersError,
  InvalidUtf8Error,
  NoInstanceAvailableError,
  RouteNotFoundError,
  ServiceNotFoundError,
  StoreUnavailableError,
  TooManyFailuresError,
  UnauthorizedError,
  UnsupportedCharsetError,
  UnsupportedContentEncodingError
} from './errors.js'

// The rules of the wire contract, for clients and servers built on Luna.
export { FIELD_MAX_DEPTH, MAINTENANCE_REASON_MAX_LENGTH, MAX_PAGE_LIMIT } from './schemas.js'
export { addMetadataEntry, matchesMetadata, metadataFilterOf, METADATA_FILTER_MAX_ENTRIES, type MetadataFilter } from './metadata-filter.js'
export { PROTECTION_MINIMUM } from './protection.js'
export { parseInstanceId, isHostname, isServiceName, type InstanceIdParts } from './instance-id.js'
export { describeValue, durationOption, formatDuration, parseDuration } from './duration.js'
export { withoutUserinfo } from './userinfo.js'
