import type { BalancerKind } from 'luna-registry'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

/** Everything luna-server needs to start, validated. */
export interface ServerSettings {
  /** 0–65535; 0 lets the system pick a free port. */
  port: number
  host: string
  username: string
  password: string
  /** Milliseconds after the last heartbeat at which an instance counts as DOWN. */
  heartbeatTimeout: number
  /** Milliseconds an instance may stay DOWN for a missed heartbeat before it is removed; 0 never. */
  evictAfter: number
  /** `memory`, or a `redis://` / `rediss://` URL. */
  store: string
  /** Prepended to every Redis key, so several registries can share one Redis. */
  storePrefix: string
  /**
   * Milliseconds a request may take to arrive whole (headers and body), and a connection may stay
   * idle between requests; the event stream, once answered, is not cut by it.
   */
  requestTimeout: number
  /** Milliseconds requests in flight get to finish on SIGTERM or SIGINT; open connections are then closed. */
  closeTimeout: number
  logLevel: LogLevel
  /** Count and serve Prometheus metrics at /registry/v1/metrics. */
  metrics: boolean
  /** Serve the gateway at /gateway/services/… beside the registry. */
  gateway: boolean
  gatewayBalancer: BalancerKind
  /** Milliseconds the gateway waits for an instance's response headers. */
  gatewayTimeout: number
  /** Bytes a request body through the gateway may carry. */
  gatewayBodyLimit: number
  /** Instances one gateway request tries, the first included. */
  gatewayAttempts: number
  /** Milliseconds an instance that refused a connection is skipped; 0 never. */
  gatewayCoolDown: number
  /** Put the gateway behind the registry's basic auth. */
  gatewayAuth: boolean
  /** Follow this registry as a gateway-only replica (`''`: run the registry here). */
  registryUrl: string
  /** `''` (no CORS headers), `*`, or the origins allowed, comma-separated. */
  corsOrigin: string
}

export interface Source {
  env: string
  /** Other variables read when `env` is not set, in order: the original Luna's names. */
  aliases?: string[]
  flag: string
  placeholder: string
  fallback: string
  help: string
}

export const SOURCES: Record<keyof ServerSettings, Source> = {
  port: {
    env: 'LUNA_PORT',
    flag: 'port',
    placeholder: '<port>',
    fallback: '4000',
    help: 'port to listen on; 0 picks a free one'
  },
  host: {
    env: 'LUNA_HOST',
    flag: 'host',
    placeholder: '<host>',
    fallback: '0.0.0.0',
    help: 'address to listen on'
  },
  username: {
    env: 'LUNA_AUTH_USERNAME',
    flag: 'username',
    placeholder: '<name>',
    fallback: 'admin',
    help: 'basic auth username'
  },
  password: {
    env: 'LUNA_AUTH_PASSWORD',
    flag: 'password',
    placeholder: '<password>',
    fallback: '',
    help: 'basic auth password; the variable keeps it out of `ps`'
  },
  heartbeatTimeout: {
    env: 'LUNA_HEARTBEAT_TIMEOUT',
    flag: 'heartbeat-timeout',
    placeholder: '<duration>',
    fallback: '30s',
    help: 'DOWN this long after the last heartbeat: ms, 500ms, 30s, 2m, 1h, 1d'
  },
  evictAfter: {
    env: 'LUNA_EVICT_AFTER',
    flag: 'evict-after',
    placeholder: '<duration>',
    fallback: '24h',
    help: 'remove an instance DOWN this long for a missed heartbeat; 0 never'
  },
  store: {
    env: 'LUNA_STORE',
    flag: 'store',
    placeholder: '<store>',
    fallback: 'memory',
    help: 'memory, or redis://[:password@]host:port/db to share the registry'
  },
  storePrefix: {
    env: 'LUNA_STORE_PREFIX',
    flag: 'store-prefix',
    placeholder: '<prefix>',
    fallback: 'luna:',
    help: 'prefix of every Redis key'
  },
  requestTimeout: {
    env: 'LUNA_REQUEST_TIMEOUT',
    flag: 'request-timeout',
    placeholder: '<duration>',
    fallback: '30s',
    help: 'longest a request may take to arrive, and a connection stay idle'
  },
  closeTimeout: {
    env: 'LUNA_CLOSE_TIMEOUT',
    flag: 'close-timeout',
    placeholder: '<duration>',
    fallback: '10s',
    help: 'on SIGTERM or SIGINT, longest wait for requests in flight'
  },
  logLevel: {
    env: 'LUNA_LOG_LEVEL',
    flag: 'log-level',
    placeholder: '<level>',
    fallback: 'info',
    help: LOG_LEVELS.join(', ')
  },
  metrics: {
    env: 'LUNA_METRICS',
    flag: 'metrics',
    placeholder: '<on|off>',
    fallback: 'on',
    help: 'count and serve Prometheus metrics at /registry/v1/metrics'
  },
  gateway: {
    env: 'LUNA_GATEWAY',
    flag: 'gateway',
    placeholder: '<on|off>',
    fallback: 'on',
    help: 'serve the gateway at /gateway/services/{name}/…'
  },
  gatewayBalancer: {
    env: 'LUNA_GATEWAY_BALANCER',
    aliases: ['LOAD_BALANCER_TYPE'],
    flag: 'gateway-balancer',
    placeholder: '<name>',
    fallback: 'weighted-round-robin',
    help: 'weighted-round-robin, round-robin, random, first (or WeightedRoundRobin, RoundRobin, None)'
  },
  gatewayTimeout: {
    env: 'LUNA_GATEWAY_TIMEOUT',
    flag: 'gateway-timeout',
    placeholder: '<duration>',
    fallback: '30s',
    help: '504 when an instance sends no response headers within this'
  },
  gatewayBodyLimit: {
    env: 'LUNA_GATEWAY_BODY_LIMIT',
    flag: 'gateway-body-limit',
    placeholder: '<bytes>',
    fallback: '100MiB',
    help: 'largest request body through the gateway: bytes, or 512KiB, 100MiB, 1GiB'
  },
  gatewayAttempts: {
    env: 'LUNA_GATEWAY_ATTEMPTS',
    flag: 'gateway-attempts',
    placeholder: '<count>',
    fallback: '3',
    help: 'instances tried for one request when connections fail'
  },
  gatewayCoolDown: {
    env: 'LUNA_GATEWAY_COOL_DOWN',
    flag: 'gateway-cool-down',
    placeholder: '<duration>',
    fallback: '10s',
    help: 'skip an instance that refused a connection this long; 0 never'
  },
  gatewayAuth: {
    env: 'LUNA_GATEWAY_AUTH',
    flag: 'gateway-auth',
    placeholder: '<on|off>',
    fallback: 'off',
    help: 'put the gateway behind the registry\'s basic auth'
  },
  registryUrl: {
    env: 'LUNA_REGISTRY_URL',
    flag: 'registry-url',
    placeholder: '<url>',
    fallback: '',
    help: 'run as a gateway-only replica following http://user:pass@registry:4000'
  },
  corsOrigin: {
    env: 'LUNA_CORS_ORIGIN',
    flag: 'cors-origin',
    placeholder: '<origins>',
    fallback: '',
    help: '* or comma-separated origins allowed by CORS; blank: no CORS headers'
  }
}

function helpText (): string {
  const rows = Object.values(SOURCES).map((source) => [
    `--${source.flag} ${source.placeholder}`,
    [source.env, ...(source.aliases ?? [])].join(', '),
    source.fallback === '' ? '(blank)' : source.fallback,
    source.help
  ])
  rows.push(['-h, --help', '', '', 'print this help and exit'], ['-v, --version', '', '', 'print the version and exit'])
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]!.length)))
  const lines = rows.map((row) => `  ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}`.trimEnd())
  return [
    'Usage: luna-server [options]',
    '',
    'Runs a Luna service registry. The API and the panel live under /registry/v1/ behind basic',
    'auth; GET /healthz, /livez and /readyz answer {"status":"ok"} without auth. Flags override',
    'environment variables.',
    'The gateway forwards /gateway/services/{name}/… to an OK instance of {name}.',
    '',
    `  ${['option', 'environment', 'default'].map((title, column) => title.padEnd(widths[column] ?? 0)).join('  ')}`,
    ...lines,
    ''
  ].join('\n')
}

/** The `--help` text: every flag with its environment variable and default. */
export const HELP = helpText()
