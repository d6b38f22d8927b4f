import { parseDuration } from './duration.js'
import { InvalidOptionError } from './errors.js'
import { STORE_METHODS, type RegistryStore } from './store.js'
import { MemoryStore } from './stores/memory-store.js'

export interface LunaAuthOptions {
  /** Required, non-empty. */
  username: string
  /** Blank by default. */
  password?: string
}

export interface LunaRegistryOptions {
  /** Where the routes live. Default `/registry/v1`; `''` mounts them at the root. */
  prefix?: string
  /** Basic auth credentials, or `false` when the host app protects the routes itself. Default `{ username: 'admin', password: '' }`. */
  auth?: LunaAuthOptions | false
  /** Milliseconds, or a duration such as `'30s'`, after the last heartbeat at which an instance is DOWN. Default `30s`. */
  heartbeatTimeout?: number | string
  /** How long an instance may stay DOWN for a missed heartbeat before it is removed; `0` never. Default `24h`. */
  evictAfter?: number | string
  /** How often to look for missed heartbeats. Default `250ms`, so DOWN is announced well within a second of the deadline. */
  sweepInterval?: number | string
  /** The event stream at `{prefix}/events`. */
  events?: LunaEventsOptions
  /** Where instances are kept. Default: a new `MemoryStore`, closed with the app; a store passed in is yours to close. */
  store?: RegistryStore
  /** Serve the HTML panel to browsers. Default `true`. */
  panel?: boolean
  /** Count and serve Prometheus metrics at `{prefix}/metrics`. Default `true`. */
  metrics?: boolean
  /** The clock, in epoch milliseconds. Default `Date.now`; tests pass their own. */
  now?: () => number
}

export interface LunaEventsOptions {
  /** How often an idle stream gets a keep-alive comment. Default `15s`. */
  keepAlive?: number | string
  /** Bytes a subscriber may leave unread before it is dropped. Default 1 MiB. */
  maxBuffer?: number
  /** How long a subscriber has to read its snapshot before it is dropped. Default `30s`. */
  snapshotTimeout?: number | string
}

export interface LunaRegistrySettings {
  prefix: string
  auth: Required<LunaAuthOptions> | false
  heartbeatTimeout: number
  evictAfter: number
  sweepInterval: number
  events: { keepAlive: number, maxBuffer: number, snapshotTimeout: number }
  store: RegistryStore
  /** Whether the registry made the store, and so closes it: a store passed in is the caller's. */
  ownsStore: boolean
  panel: boolean
  metrics: boolean
  now: () => number
}

export const DEFAULT_PREFIX = '/registry/v1'
export const DEFAULT_HEARTBEAT_TIMEOUT = 30_000
export const DEFAULT_EVICT_AFTER = 24 * 3_600_000
export const DEFAULT_SWEEP_INTERVAL = 250
export const DEFAULT_KEEP_ALIVE = 15_000
export const DEFAULT_MAX_BUFFER = 1024 * 1024
export const DEFAULT_SNAPSHOT_TIMEOUT = 30_000
export const DEFAULT_USERNAME = 'admin'

function fail (option: string, problem: string): never {
  throw new InvalidOptionError(option, problem)
}

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}

function duration (option: string, value: unknown, fallback: number, sign: 'positive' | 'zero or positive'): number {
  if (value === undefined) return fallback
  const ms = parseDuration(value)
  if (ms === undefined || (sign === 'positive' && ms <= 0)) {
    fail(option, `must be a ${sign} number of milliseconds or a duration such as "30s", got ${describe(value)}`)
  }
  return ms
}

function normalisePrefix (value: unknown): string {
  if (value === undefined) return DEFAULT_PREFIX
  if (typeof value !== 'string') fail('prefix', `must be a string, got ${describe(value)}`)
  const prefix = value.replace(/\/+$/, '')
  if (prefix !== '' && (!prefix.startsWith('/') || /[\s?#]/.test(prefix))) {
    fail('prefix', `must be '' or a path starting with "/" without spaces, "?" or "#", got ${describe(value)}`)
  }
  return prefix
}

function normaliseAuth (value: unknown): Required<LunaAuthOptions> | false {
  if (value === undefined) return { username: DEFAULT_USERNAME, password: '' }
  if (value === false) return false
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail('auth', `must be { username, password } or false, got ${describe(value)}`)
  }
  const { username, password = '' } = value as Record<string, unknown>
  if (typeof username !== 'string' || username === '') {
    fail('auth.username', `must be a non-empty string, got ${describe(username)}`)
  }
  if (username.includes(':')) fail('auth.username', 'must not contain ":" (basic auth separates it from the password with one)')
  if (typeof password !== 'string') fail('auth.password', `must be a string, got ${describe(password)}`)
  return { username, password }
}

function normaliseStore (value: unknown): RegistryStore {
  if (value === undefined) return new MemoryStore()
  if (value === null || typeof value !== 'object') fail('store', `must be a store object, got ${describe(value)}`)
  const missing = STORE_METHODS.filter((method) => typeof (value as Record<string, unknown>)[method] !== 'function')
  if (missing.length > 0) fail('store', `must implement ${STORE_METHODS.join(', ')}; missing ${missing.join(', ')}`)
  return value as RegistryStore
}

/** Checks every option and returns fresh settings; the caller's object is never modified. */
export function normaliseOptions (options: LunaRegistryOptions): LunaRegistrySettings {
  const heartbeatTimeout = duration('heartbeatTimeout', options.heartbeatTimeout, DEFAULT_HEARTBEAT_TIMEOUT, 'positive')
  const evictAfter = duration('evictAfter', options.evictAfter, DEFAULT_EVICT_AFTER, 'zero or positive')
  const sweepInterval = duration('sweepInterval', options.sweepInterval, DEFAULT_SWEEP_INTERVAL, 'positive')
  const events = options.events ?? {}
  if (events === null || typeof events !== 'object') fail('events', `must be an object, got ${describe(events)}`)
  const keepAlive = duration('events.keepAlive', events.keepAlive, DEFAULT_KEEP_ALIVE, 'positive')
  const maxBuffer = events.maxBuffer ?? DEFAULT_MAX_BUFFER
  const snapshotTimeout = duration('events.snapshotTimeout', events.snapshotTimeout, DEFAULT_SNAPSHOT_TIMEOUT, 'positive')
  if (!Number.isSafeInteger(maxBuffer) || maxBuffer <= 0) fail('events.maxBuffer', `must be a positive integer number of bytes, got ${describe(maxBuffer)}`)
  if (options.panel !== undefined && typeof options.panel !== 'boolean') {
    fail('panel', `must be a boolean, got ${describe(options.panel)}`)
  }
  if (options.metrics !== undefined && typeof options.metrics !== 'boolean') {
    fail('metrics', `must be a boolean, got ${describe(options.metrics)}`)
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    fail('now', `must be a function returning epoch milliseconds, got ${describe(options.now)}`)
  }
  return {
    prefix: normalisePrefix(options.prefix),
    auth: normaliseAuth(options.auth),
    heartbeatTimeout,
    evictAfter,
    sweepInterval,
    events: { keepAlive, maxBuffer, snapshotTimeout },
    store: normaliseStore(options.store),
    ownsStore: options.store === undefined,
    panel: options.panel ?? true,
    metrics: options.metrics ?? true,
    now: options.now ?? Date.now
  }
}
