export { RedisStore, type RedisStoreOptions } from './redis-store.js'
export type { StoreLogger } from './connection.js'
export { parseRedisUrl, STORE_URL_PARAMETERS, STORE_URL_SCHEMES, type ParsedRedisUrl, type RedisNode, type RedisTarget, type StoreUrlParameters } from './url.js'
export type { WaitSettings } from './replication.js'
