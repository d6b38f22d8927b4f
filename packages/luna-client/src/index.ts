export { createLunaClient, LunaClient, type InstanceQuery, type LunaClientOptions } from './client.js'
export { LunaError, LunaNetworkError, type LunaClientError } from './errors.js'
export { Registration } from './registration.js'
export {
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_JITTER,
  type FailureDetails,
  type RegisterOptions,
  type RegistrationEvents,
  type StopOnSignalsOptions
} from './registration-options.js'
export { DEFAULT_PREFIX, DEFAULT_TIMEOUT } from './transport.js'
export { Watcher, type SnapshotEvent, type WatchEvent, type WatcherEvents, type WatchListener, type WatchOptions } from './watch.js'
export * from './types.js'
