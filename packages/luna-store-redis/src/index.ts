export { RedisStore, type RedisStoreOptions } from './redis-store.js'
export type { StoreLogger } from './connection.js'
export { RedisFailureStore, type RedisFailureStoreOptions } from './failure-store.js'
