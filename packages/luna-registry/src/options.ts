import type { FastifyRequest } from 'fastify'
import type { LunaAccess, LunaRole } from './access.js'
import { describeValue, durationOption } from './duration.js'
import { InvalidOptionError } from './errors.js'
import { MemoryFailureStore, type AuthFailureStore } from './failures.js'
import { LunaUsers, usersProblem, type LunaUser } from './users.js'
import { STORE_METHODS, type RegistryStore } from './store.js'
import { MemoryStore } from './stores/memory-store.js'

/**
 * Decides who a request's user is: their role (`read`, `admin`, or `{ role: 'register',
 * services }`), or `undefined` to refuse them. Called for every request whose credentials are
 * not the fast path's: cache in it what is slow to look up.
 */
export type LunaVerify = (username: string, password: string, request: FastifyRequest) =>
  LunaRole | LunaAccess | undefined | Promise<LunaRole | LunaAccess | undefined>

/** Who may use the registry: one admin (`username`, `password`), a `users` list, or `verify`. */
export interface LunaAuthOptions {
  /** The one user, an admin; required unless `users` or `verify` is given. */
  username?: string
  /** The admin's password; blank by default. */
  password?: string
  /** Users with hashed passwords and roles; a `LunaUsers` may be replaced while the registry runs. */
  users?: readonly LunaUser[] | LunaUsers
  /** Your own user store. */
  verify?: LunaVerify
  /** Failed authentications one client address may make in a minute before it gets 429s; `0` no limit. Default 10. */
  maxFailures?: number
  /** Where the failures are counted. Default: in memory; give a shared one to count across replicas. */
  failureStore?: AuthFailureStore
}

export type AuthCheck =
  | { kind: 'credentials', username: string, password: string }
  | { kind: 'users', users: LunaUsers }
  | { kind: 'verify', verify: LunaVerify }

export interface AuthSettings {
  check: AuthCheck
  maxFailures: number
  failureStore: AuthFailureStore
}

export interface LunaRegistryOptions {
  /** Where the routes live. Default `/registry/v1`; `''` mounts them at the root. */
  prefix?: string
  /**
   * Basic auth: one admin, a users list, or a function of your own (alone or as `verify`); `false`
   * when the host app protects the routes itself. Default `{ username: 'admin', password: '' }`.
   */
  auth?: LunaAuthOptions | LunaVerify | false
  /** Milliseconds, or a duration such as `'30s'`, after the last heartbeat at which an instance is DOWN. Default `30s`. */
  heartbeatTimeout?: number | string
  /** How long an instance may stay DOWN for a missed heartbeat before it is removed; `0` never. Default `24h`. */
  evictAfter?: number | string
  /** How often to look for missed heartbeats. Default `250ms`, so DOWN is announced well within a second of the deadline. */
  sweepInterval?: number | string
  /**
   * The share (0–1) of the instances that must time out within one `heartbeatTimeout`, at least
   * 5 of them, to turn mass-expiry protection on: nothing is evicted while it is on. `0` never.
   * Default `0.5`.
   */
  protectionThreshold?: number
  /** How long protection may stay on before evictions resume. Default `15m`. */
  protectionMaxDuration?: number | string
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
  auth: AuthSettings | false
  heartbeatTimeout: number
  evictAfter: number
  sweepInterval: number
  protectionThreshold: number
  protectionMaxDuration: number
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
export const DEFAULT_PROTECTION_THRESHOLD = 0.5
export const DEFAULT_PROTECTION_MAX_DURATION = 15 * 60_000
export const DEFAULT_KEEP_ALIVE = 15_000
export const DEFAULT_MAX_BUFFER = 1024 * 1024
export const DEFAULT_SNAPSHOT_TIMEOUT = 30_000
export const DEFAULT_USERNAME = 'admin'
export const DEFAULT_MAX_FAILURES = 10

function fail (option: string, problem: string): never {
  throw new InvalidOptionError(option, problem)
}

const describe = describeValue

function duration (option: string, value: unknown, fallback: number, sign: 'positive' | 'zero or positive'): number {
  return durationOption(option, value, fallback, sign, fail)
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

function normaliseCheck (auth: Record<string, unknown>): AuthCheck {
  const { username, password = '', users, verify } = auth
  const given = [username, users, verify].filter((value) => value !== undefined).length
  if (given > 1) fail('auth', 'takes one of username (with password), users or verify')
  if (users instanceof LunaUsers) return { kind: 'users', users }
  if (users !== undefined) {
    const problem = usersProblem(users)
    if (problem !== undefined) fail(`auth.${problem.path}`, problem.problem)
    return { kind: 'users', users: new LunaUsers(users as LunaUser[]) }
  }
  if (verify !== undefined) {
    if (typeof verify !== 'function') fail('auth.verify', `must be a function, got ${describe(verify)}`)
    return { kind: 'verify', verify: verify as LunaVerify }
  }
  if (typeof username !== 'string' || username === '') {
    fail('auth.username', `must be a non-empty string, got ${describe(username)}`)
  }
  if (username.includes(':')) fail('auth.username', 'must not contain ":" (basic auth separates it from the password with one)')
  if (typeof password !== 'string') fail('auth.password', `must be a string, got ${describe(password)}`)
  return { kind: 'credentials', username, password }
}

function normaliseAuth (value: unknown, now: () => number): AuthSettings | false {
  if (value === false) return false
  const auth = typeof value === 'function' ? { verify: value } : value ?? { username: DEFAULT_USERNAME }
  if (auth === null || typeof auth !== 'object' || Array.isArray(auth)) {
    fail('auth', `must be { username, password }, { users }, { verify }, a function or false, got ${describe(value)}`)
  }
  const { maxFailures = DEFAULT_MAX_FAILURES, failureStore } = auth as Record<string, unknown>
  if (!Number.isSafeInteger(maxFailures) || (maxFailures as number) < 0) {
    fail('auth.maxFailures', `must be 0 (no limit) or a positive integer, got ${describe(maxFailures)}`)
  }
  const store = failureStore as AuthFailureStore | undefined
  if (store !== undefined && (typeof store?.get !== 'function' || typeof store.add !== 'function')) {
    fail('auth.failureStore', `must be an object with get(key) and add(key, window), got ${describe(store)}`)
  }
  return {
    check: normaliseCheck(auth as Record<string, unknown>),
    maxFailures: maxFailures as number,
    failureStore: store ?? new MemoryFailureStore(now)
  }
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
  const protectionMaxDuration = duration('protectionMaxDuration', options.protectionMaxDuration, DEFAULT_PROTECTION_MAX_DURATION, 'positive')
  const protectionThreshold = options.protectionThreshold ?? DEFAULT_PROTECTION_THRESHOLD
  if (typeof protectionThreshold !== 'number' || !(protectionThreshold >= 0 && protectionThreshold < 1)) {
    fail('protectionThreshold', `must be a number from 0 (never) up to, not including, 1, got ${describe(protectionThreshold)}`)
  }
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
    auth: normaliseAuth(options.auth, options.now ?? Date.now),
    heartbeatTimeout,
    evictAfter,
    sweepInterval,
    protectionThreshold,
    protectionMaxDuration,
    events: { keepAlive, maxBuffer, snapshotTimeout },
    store: normaliseStore(options.store),
    ownsStore: options.store === undefined,
    panel: options.panel ?? true,
    metrics: options.metrics ?? true,
    now: options.now ?? Date.now
  }
}
