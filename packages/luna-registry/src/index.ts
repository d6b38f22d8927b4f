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
  LunaRegistryConfig,
  Page,
  RegisterOutcome,
  RegistryLogger,
  ServiceFilter,
  ServiceListing,
  ServiceStatus
} from './registry.js'
export { EVENT_TYPES } from './events.js'
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
export type { InstanceInfo, InstanceView, ServiceView } from './schemas.js'

// Observability: the OpenAPI paths another plugin adds to the registry's document.
export type { OpenApiDocument, OpenApiOperation, OpenApiPaths } from './openapi.js'

// Options.
export type { LunaAuthOptions, LunaEventsOptions, LunaRegistryOptions } from './options.js'
export {
  DEFAULT_EVICT_AFTER,
  DEFAULT_HEARTBEAT_TIMEOUT,
  DEFAULT_KEEP_ALIVE,
  DEFAULT_MAX_BUFFER,
  DEFAULT_PREFIX,
  DEFAULT_SNAPSHOT_TIMEOUT,
  DEFAULT_SWEEP_INTERVAL,
  DEFAULT_USERNAME
} from './options.js'

// Stores.
export { MemoryStore } from './stores/memory-store.js'
export { STORE_METHODS, isSharedStore } from './store.js'
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

// The balancer `pick` uses, for the gateway.
export { BALANCER_KINDS, balancerKind, createBalancer, type Balancer, type BalancerCandidate, type BalancerKind, type CreateBalancerOptions } from './balancer.js'

// Errors, to catch by class or by code.
export {
  BadRequestError,
  BodyTooDeepError,
  InstanceIdMismatchError,
  InstanceNotFoundError,
  InternalError,
  InvalidContentEncodingError,
  InvalidInstanceIdError,
  InvalidInstanceInfoError,
  InvalidOptionError,
  InvalidUtf8Error,
  NoInstanceAvailableError,
  RouteNotFoundError,
  ServiceNotFoundError,
  StoreUnavailableError,
  UnauthorizedError,
  UnsupportedCharsetError,
  UnsupportedContentEncodingError
} from './errors.js'

// The rules of the wire contract, for clients and servers built on Luna.
export { FIELD_MAX_DEPTH, MAX_PAGE_LIMIT } from './schemas.js'
export { parseInstanceId, isHostname, isServiceName, type InstanceIdParts } from './instance-id.js'
export { parseDuration, formatDuration } from './duration.js'
export { withoutUserinfo } from './userinfo.js'
