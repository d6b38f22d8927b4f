import type { BalancerKind } from 'luna-registry'
import type { RenderSpec } from 'luna-render'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

/** The query parameters a store URL may carry: luna-store-redis's own, as it reads them. */
export const STORE_URL_PARAMETERS = ['commandTimeout', 'waitReplicas', 'waitTimeout', 'sentinelPassword'] as const

/** Everything luna-server needs to start, validated. */
export interface ServerSettings {
  /** 0–65535; 0 lets the system pick a free port. */
  port: number
  host: string
  username: string
  password: string
  /** A JSON file of users with roles, replacing `username` and `password` (`''`: none). */
  usersFile: string
  /** Failed authentications one address may make in a minute before it gets 429s; 0 no limit. */
  maxFailures: number
  /** PEM certificate chain and private key files: HTTPS on the port (`''`: HTTP). */
  tlsCert: string
  tlsKey: string
  /** Milliseconds after the last heartbeat at which an instance counts as DOWN. */
  heartbeatTimeout: number
  /** Milliseconds an instance may stay DOWN for a missed heartbeat before it is removed; 0 never. */
  evictAfter: number
  /** The share (0 up to 1) of instances timing out together that turns mass-expiry protection on; 0 never. */
  protectionThreshold: number
  /** Milliseconds protection may stay on before evictions resume. */
  protectionMaxDuration: number
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
  /** nginx mode: the file Luna writes for nginx's `http {}` context (`''`: off), and its commands. */
  nginxConfig: string
  /** Where that file's server listens: a port, or `host:port`. */
  nginxListen: string
  /** Run after each write (`''`: none); when it fails the previous file is put back. */
  nginxTest: string
  /** Run once the test passed (`''`: none); when it fails the next change tries again. */
  nginxReload: string
  /** Templates rendered to files with the live services, as nginx mode is. */
  render: RenderSpec[]
}

export interface Source {
  env: string
  /** Other variables read when `env` is not set, in order: the original Luna's names. */
  aliases?: string[]
  flag: string
  placeholder: string
  fallback: string
  help: string
  /** A flag that may be given more than once. */
  multiple?: boolean
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
  usersFile: {
    env: 'LUNA_USERS_FILE',
    flag: 'users-file',
    placeholder: '<path>',
    fallback: '',
    help: 'JSON file of users with roles, instead of username and password; reread on SIGHUP'
  },
  maxFailures: {
    env: 'LUNA_AUTH_MAX_FAILURES',
    flag: 'auth-max-failures',
    placeholder: '<count>',
    fallback: '10',
    help: 'failed logins per client address per minute before 429s; 0 no limit'
  },
  tlsCert: {
    env: 'LUNA_TLS_CERT',
    flag: 'tls-cert',
    placeholder: '<path>',
    fallback: '',
    help: 'PEM certificate (chain) file: serve HTTPS; reread on SIGHUP'
  },
  tlsKey: {
    env: 'LUNA_TLS_KEY',
    flag: 'tls-key',
    placeholder: '<path>',
    fallback: '',
    help: 'PEM private key file of --tls-cert; reread on SIGHUP'
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
  protectionThreshold: {
    env: 'LUNA_PROTECTION_THRESHOLD',
    flag: 'protection-threshold',
    placeholder: '<share>',
    fallback: '0.5',
    help: 'evict nothing while more than this share of instances timed out together (at least 5); 0 never'
  },
  protectionMaxDuration: {
    env: 'LUNA_PROTECTION_MAX_DURATION',
    flag: 'protection-max-duration',
    placeholder: '<duration>',
    fallback: '15m',
    help: 'longest that protection stays on before evictions resume'
  },
  store: {
    env: 'LUNA_STORE',
    flag: 'store',
    placeholder: '<store>',
    fallback: 'memory',
    help: 'memory, or a redis://, redis+sentinel:// or redis+cluster:// URL to share the registry'
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
  },
  nginxConfig: {
    env: 'LUNA_NGINX_CONFIG',
    flag: 'nginx-config',
    placeholder: '<file>',
    fallback: '',
    help: 'nginx mode: keep this file (for nginx\'s http {}) in step with the registry'
  },
  nginxListen: {
    env: 'LUNA_NGINX_LISTEN',
    flag: 'nginx-listen',
    placeholder: '<[host:]port>',
    fallback: '8080',
    help: 'where the nginx server in that file listens'
  },
  nginxTest: {
    env: 'LUNA_NGINX_TEST',
    flag: 'nginx-test',
    placeholder: '<command>',
    fallback: 'nginx -t',
    help: 'run after each write; a failure puts the previous file back'
  },
  nginxReload: {
    env: 'LUNA_NGINX_RELOAD',
    flag: 'nginx-reload',
    placeholder: '<command>',
    fallback: 'nginx -s reload',
    help: 'run once the test passed'
  },
  render: {
    env: 'LUNA_RENDER',
    flag: 'render',
    placeholder: '<template:output[:command]>',
    fallback: '',
    help: 'render an Eta template with the services to a file, then run the command; repeatable (";" between entries in the variable)',
    multiple: true
  }
}

function helpText (): string {
  const rows = Object.values(SOURCES).map((source) => [
    `--${source.flag} ${source.placeholder}`,
    [source.env, ...(source.aliases ?? [])].join(', '),
    source.fallback === '' ? '(blank)' : source.fallback,
    source.help
  ])
  rows.push(
    ['-h, --help', '', '', 'print this help and exit'],
    ['-v, --version', '', '', 'print the version and exit'],
    ['hash-password', '', '', 'read a password on standard input, print its hash for a users file']
  )
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]!.length)))
  const lines = rows.map((row) => `  ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}`.trimEnd())
  return [
    'Usage: luna-server [options]',
    '       luna-server hash-password < password.txt',
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
