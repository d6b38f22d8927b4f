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
  /** Where instances are kept. Default: a new `MemoryStore`. */
  store?: RegistryStore
  /** Serve the HTML panel to browsers. Default `true`. */
  panel?: boolean
  /** The clock, in epoch milliseconds. Default `Date.now`; tests pass their own. */
  now?: () => number
}

export interface LunaRegistrySettings {
  prefix: string
  auth: Required<LunaAuthOptions> | false
  heartbeatTimeout: number
  store: RegistryStore
  panel: boolean
  now: () => number
}

export const DEFAULT_PREFIX = '/registry/v1'
export const DEFAULT_HEARTBEAT_TIMEOUT = 30_000
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
  const heartbeatTimeout = options.heartbeatTimeout === undefined
    ? DEFAULT_HEARTBEAT_TIMEOUT
    : parseDuration(options.heartbeatTimeout)
  if (heartbeatTimeout === undefined || heartbeatTimeout <= 0) {
    fail('heartbeatTimeout', `must be a positive number of milliseconds or a duration such as "30s", got ${describe(options.heartbeatTimeout)}`)
  }
  if (options.panel !== undefined && typeof options.panel !== 'boolean') {
    fail('panel', `must be a boolean, got ${describe(options.panel)}`)
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    fail('now', `must be a function returning epoch milliseconds, got ${describe(options.now)}`)
  }
  return {
    prefix: normalisePrefix(options.prefix),
    auth: normaliseAuth(options.auth),
    heartbeatTimeout,
    store: normaliseStore(options.store),
    panel: options.panel ?? true,
    now: options.now ?? Date.now
  }
}
