import type { WatchOptions } from 'luna-client'
import { balancerKind, BALANCER_KINDS, describeValue, durationOption, type BalancerKind, type LunaRegistry } from 'luna-registry'
import { InvalidGatewayOptionError } from './errors.js'

export interface LunaGatewayAuth {
  /** Required, non-empty. */
  username: string
  /** Blank by default. */
  password?: string
}

export interface LunaGatewayOptions {
  /** The registry in this process. Default: `fastify.lunaRegistry`, when the app has one. */
  registry?: LunaRegistry
  /** Follow a remote registry instead: `http://user:pass@registry:4000`. */
  registryUrl?: string | URL
  /** The remote registry's prefix. Default `/registry/v1`. */
  registryPrefix?: string
  /** How the follower reconnects (luna-client's watch options). */
  watch?: WatchOptions
  /** Where the gateway lives. Default `/gateway`; `''` mounts it at the root. */
  prefix?: string
  /** `weighted-round-robin` (default), `round-robin`, `random` or `first`, or the original's `WeightedRoundRobin`, `RoundRobin`, `None`. */
  balancer?: BalancerKind | string
  /** Milliseconds, or a duration such as `'30s'`, to wait for an instance's response headers. Default `30s`. */
  timeout?: number | string
  /** Milliseconds, or a duration, to wait for a connection to an instance. Default `5s`. */
  connectTimeout?: number | string
  /** Instances tried for one request, the first included. Default `3`. */
  attempts?: number
  /** How long an instance that refused a connection is skipped; `0` never skips. Default `10s`. */
  coolDown?: number | string
  /** Bytes a request body may carry. Default 100 MiB. */
  bodyLimit?: number
  /** Send the client's `Host` header upstream rather than the instance's. Default `false`. */
  preserveHost?: boolean
  /** Basic auth in front of the gateway, or `false` (default): services do their own auth. */
  auth?: LunaGatewayAuth | false
  /** The clock of the cool-down, in epoch milliseconds. Default `Date.now`. */
  now?: () => number
}

export interface LunaGatewaySettings {
  source: { registry: LunaRegistry } | { registryUrl: string | URL, registryPrefix: string | undefined, watch: WatchOptions | undefined } | undefined
  prefix: string
  balancer: BalancerKind
  timeout: number
  connectTimeout: number
  attempts: number
  coolDown: number
  bodyLimit: number
  preserveHost: boolean
  auth: Required<LunaGatewayAuth> | false
  now: () => number
}

export const DEFAULT_GATEWAY_PREFIX = '/gateway'
export const DEFAULT_GATEWAY_TIMEOUT = 30_000
export const DEFAULT_CONNECT_TIMEOUT = 5_000
export const DEFAULT_ATTEMPTS = 3
export const DEFAULT_COOL_DOWN = 10_000
export const DEFAULT_BODY_LIMIT = 100 * 1024 * 1024

function fail (option: string, problem: string): never {
  throw new InvalidGatewayOptionError(option, problem)
}

const describe = describeValue

function duration (option: string, value: unknown, fallback: number, sign: 'positive' | 'zero or positive'): number {
  return durationOption(option, value, fallback, sign, fail)
}

function positiveInteger (option: string, value: unknown, fallback: number, unit: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) fail(option, `must be a positive integer ${unit}, got ${describe(value)}`)
  return value
}

function normalisePrefix (value: unknown): string {
  if (value === undefined) return DEFAULT_GATEWAY_PREFIX
  if (typeof value !== 'string') fail('prefix', `must be a string, got ${describe(value)}`)
  const prefix = value.replace(/\/+$/, '')
  if (prefix !== '' && (!prefix.startsWith('/') || /[\s?#%\\]|\/\//.test(prefix))) {
    fail('prefix', `must be '' or a path starting with "/" without spaces, "?", "#", "%", "\\" or "//", got ${describe(value)}`)
  }
  return prefix
}

function normaliseAuth (value: unknown): Required<LunaGatewayAuth> | false {
  if (value === undefined || value === false) return false
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('auth', `must be { username, password } or false, got ${describe(value)}`)
  const { username, password = '' } = value as Record<string, unknown>
  if (typeof username !== 'string' || username === '' || username.includes(':')) {
    fail('auth.username', `must be a non-empty string without ":", got ${describe(username)}`)
  }
  if (typeof password !== 'string') fail('auth.password', `must be a string, got ${describe(password)}`)
  return { username, password }
}

function normaliseSource (options: LunaGatewayOptions): LunaGatewaySettings['source'] {
  const { registry, registryUrl } = options
  if (registry !== undefined && registryUrl !== undefined) fail('registryUrl', 'cannot be given with registry: the gateway follows one or the other')
  if (registry !== undefined) {
    if (registry === null || typeof registry !== 'object' || typeof registry.routable !== 'function') {
      fail('registry', `must be a LunaRegistry (fastify.lunaRegistry), got ${describe(registry)}`)
    }
    return { registry }
  }
  if (registryUrl !== undefined) {
    const text = String(registryUrl)
    const url = URL.canParse(text) ? new URL(text) : undefined
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      // The URL may carry a password: the message never repeats it.
      fail('registryUrl', 'must be an absolute http: or https: URL')
    }
    if (options.registryPrefix !== undefined && typeof options.registryPrefix !== 'string') {
      fail('registryPrefix', `must be a string, got ${describe(options.registryPrefix)}`)
    }
    return { registryUrl, registryPrefix: options.registryPrefix, watch: options.watch }
  }
  return undefined
}

/** Checks every option and returns fresh settings; the caller's object is never modified. */
export function normaliseGatewayOptions (options: LunaGatewayOptions): LunaGatewaySettings {
  let balancer: BalancerKind = 'weighted-round-robin'
  if (options.balancer !== undefined) {
    const kind = typeof options.balancer === 'string' ? balancerKind(options.balancer) : undefined
    if (kind === undefined) {
      fail('balancer', `must be one of ${BALANCER_KINDS.join(', ')} (or WeightedRoundRobin, RoundRobin, None), got ${describe(options.balancer)}`)
    }
    balancer = kind
  }
  if (options.preserveHost !== undefined && typeof options.preserveHost !== 'boolean') {
    fail('preserveHost', `must be a boolean, got ${describe(options.preserveHost)}`)
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    fail('now', `must be a function returning epoch milliseconds, got ${describe(options.now)}`)
  }
  return {
    source: normaliseSource(options),
    prefix: normalisePrefix(options.prefix),
    balancer,
    timeout: duration('timeout', options.timeout, DEFAULT_GATEWAY_TIMEOUT, 'positive'),
    connectTimeout: duration('connectTimeout', options.connectTimeout, DEFAULT_CONNECT_TIMEOUT, 'positive'),
    attempts: positiveInteger('attempts', options.attempts, DEFAULT_ATTEMPTS, 'number of instances'),
    coolDown: duration('coolDown', options.coolDown, DEFAULT_COOL_DOWN, 'zero or positive'),
    bodyLimit: positiveInteger('bodyLimit', options.bodyLimit, DEFAULT_BODY_LIMIT, 'number of bytes'),
    preserveHost: options.preserveHost ?? false,
    auth: normaliseAuth(options.auth),
    now: options.now ?? Date.now
  }
}
