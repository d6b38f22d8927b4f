import type { LunaClientError } from './errors.js'
import type { InstanceInfo, InstanceView } from './types.js'

export const DEFAULT_HEARTBEAT_INTERVAL = 10_000
export const DEFAULT_JITTER = 0.1

export interface RegisterOptions {
  /** Default: `name:host:port` from `info.name` and `info.url` (port 80 or 443 when the URL has none). */
  instanceId?: string
  /** Milliseconds between heartbeats. Default `10000`; keep it well under the registry's heartbeat timeout (30 s). */
  heartbeatInterval?: number
  /** Each wait is shortened by a random fraction of up to `jitter` (0 ≤ jitter < 1). Default `0.1`. */
  jitter?: number
  /** Retries after a network error or a 5xx: doubling from `initialDelay` to `maxDelay`. */
  backoff?: {
    /** Default: a tenth of `heartbeatInterval` (1 s). */
    initialDelay?: number
    /** Default: `heartbeatInterval`, so that the instance is back within one interval of the registry. */
    maxDelay?: number
  }
  /** `true` calls `stopOnSignals()`; an object calls it with those options. Default `false`. */
  stopOnSignals?: boolean | StopOnSignalsOptions
}

export interface StopOnSignalsOptions {
  /** Default `['SIGTERM', 'SIGINT']`. */
  signals?: NodeJS.Signals[]
  /**
   * Whether to end the process once deregistered. Default `true`. `false` when the application
   * handles the signal itself and exits when it is done (call `await handle.deregister()` there,
   * or leave it to this handler).
   */
  exit?: boolean
}

/** What a failure was doing, and when the handle tries again (`undefined`: it will not). */
export interface FailureDetails {
  operation: 'register' | 'heartbeat' | 'deregister'
  retryIn: number | undefined
}

export interface RegistrationEvents {
  /** Registered (`created`: it was new to the registry) — at first, and after the registry lost it. */
  registered: [instance: InstanceView, details: { created: boolean }]
  /** A heartbeat was accepted. */
  heartbeat: [instance: InstanceView]
  /** A request failed. Never thrown when nobody listens: the handle retries on its own. */
  error: [error: LunaClientError, details: FailureDetails]
  /** Deregistered: `removed` is false when the registry could not be told. */
  deregistered: [details: { removed: boolean }]
}

/** `name:host:port` from the info's URL; the URL keeps IPv6 hosts in brackets, as ids want them. */
export function instanceIdFor (info: InstanceInfo): string {
  if (typeof info.url !== 'string' || !URL.canParse(info.url)) {
    throw new TypeError('luna-client: info.url must be an absolute URL, or pass options.instanceId')
  }
  const url = new URL(info.url)
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80'
  return `${info.name}:${url.hostname}:${port}`
}
