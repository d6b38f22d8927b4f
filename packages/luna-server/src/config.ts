import { isIP } from 'node:net'
import { parseArgs } from 'node:util'
import { balancerKind, BALANCER_KINDS, isHostname, parseDuration, type BalancerKind } from 'luna-registry'

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

export type Config =
  | { action: 'help' }
  | { action: 'version' }
  | { action: 'start', settings: ServerSettings }

export type Env = Record<string, string | undefined>

/** A setting or an argument that stops the server from starting; the message is one line. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

interface Source {
  env: string
  /** Other variables read when `env` is not set, in order: the original Luna's names. */
  aliases?: string[]
  flag: string
  placeholder: string
  fallback: string
  help: string
}

const SOURCES: Record<keyof ServerSettings, Source> = {
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
    'auth; GET /healthz answers {"status":"ok"} without auth. Flags override environment variables.',
    'The gateway forwards /gateway/services/{name}/… to an OK instance of {name}.',
    '',
    `  ${['option', 'environment', 'default'].map((title, column) => title.padEnd(widths[column] ?? 0)).join('  ')}`,
    ...lines,
    ''
  ].join('\n')
}

/** The `--help` text: every flag with its environment variable and default. */
export const HELP = helpText()

const OPTIONS = {
  ...Object.fromEntries(Object.values(SOURCES).map((source) => [source.flag, { type: 'string' as const }])),
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' }
} as const

function isParseArgsError (error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code
  return error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')
}

function parseFlags (argv: string[]): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values
  } catch (error) {
    if (!isParseArgsError(error)) throw error
    // Node words some of these over several lines; the contract wants one.
    throw new ConfigError(`${error.message.replace(/\s*\n\s*/g, ' ')} (see --help)`)
  }
}

interface Rule<T> {
  rule: string
  /** The value, or `undefined` when `raw` breaks the rule. */
  parse: (raw: string) => T | undefined
  /** How a bad value is shown in the error; by default, quoted whole. */
  show?: (raw: string) => string
}

/** A store URL with its password, if any, masked: it goes into error messages. */
function maskPassword (raw: string): string {
  return raw.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@')
}

/** Node's timers take at most 2^31 - 1 ms (24.8 days); a longer one fires at once. */
const LONGEST = 86_400_000

// The password has no rule, so no error message can ever carry it.
type Checked = Exclude<keyof ServerSettings, 'password'>

const ON_OFF: Rule<boolean> = {
  rule: 'must be on or off',
  parse: (raw) => raw === 'on' ? true : raw === 'off' ? false : undefined
}

const BYTE_UNITS: Record<string, number> = { '': 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }

/** The `scheme://host[:port]` of an http(s) URL given as exactly that, or `undefined`. */
function origin (raw: string): string | undefined {
  if (!URL.canParse(raw)) return undefined
  const url = new URL(raw)
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === raw.replace(/\/$/, '') ? url.origin : undefined
}

const RULES: { [K in Checked]: Rule<ServerSettings[K]> } = {
  port: {
    rule: 'must be an integer from 0 to 65535',
    parse: (raw) => /^\d{1,5}$/.test(raw) && Number(raw) <= 65535 ? Number(raw) : undefined
  },
  host: {
    rule: 'must be an IP address or a hostname',
    parse: (raw) => isIP(raw) !== 0 || isHostname(raw) ? raw : undefined
  },
  username: {
    rule: 'must be non-empty and must not contain ":"',
    parse: (raw) => raw === '' || raw.includes(':') ? undefined : raw
  },
  heartbeatTimeout: {
    rule: 'must be a positive number of milliseconds or a duration such as 500ms, 30s, 2m, 1h, 1d',
    parse: (raw) => {
      const ms = parseDuration(raw)
      return ms === undefined || ms <= 0 ? undefined : ms
    }
  },
  evictAfter: {
    rule: 'must be 0 (never) or a number of milliseconds or a duration such as 30s, 2m, 1h, 1d',
    parse: (raw) => parseDuration(raw)
  },
  store: {
    rule: 'must be memory or a redis:// or rediss:// URL',
    parse: (raw) => {
      if (raw === 'memory') return raw
      try {
        const url = new URL(raw)
        return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '' ? raw : undefined
      } catch {
        return undefined
      }
    },
    show: maskPassword
  },
  storePrefix: {
    rule: 'must be 1-64 characters without spaces',
    parse: (raw) => /^\S{1,64}$/.test(raw) ? raw : undefined
  },
  requestTimeout: {
    rule: 'must be a duration from 1 ms to 1d such as 500ms, 30s, 2m',
    parse: (raw) => {
      const ms = parseDuration(raw)
      return ms === undefined || ms <= 0 || ms > LONGEST ? undefined : ms
    }
  },
  closeTimeout: {
    rule: 'must be 0 (close at once) or a duration up to 1d such as 500ms, 10s, 2m',
    parse: (raw) => {
      const ms = parseDuration(raw)
      return ms === undefined || ms > LONGEST ? undefined : ms
    }
  },
  logLevel: {
    rule: `must be one of ${LOG_LEVELS.join(', ')}`,
    parse: (raw) => LOG_LEVELS.find((level) => level === raw.toLowerCase())
  },
  gateway: ON_OFF,
  gatewayBalancer: {
    rule: `must be one of ${BALANCER_KINDS.join(', ')} (or WeightedRoundRobin, RoundRobin, None)`,
    parse: (raw) => balancerKind(raw)
  },
  gatewayTimeout: {
    rule: 'must be a positive number of milliseconds or a duration such as 500ms, 30s, 2m',
    parse: (raw) => {
      const ms = parseDuration(raw)
      return ms === undefined || ms <= 0 ? undefined : ms
    }
  },
  gatewayBodyLimit: {
    rule: 'must be a positive number of bytes, or one with KiB, MiB or GiB, such as 100MiB',
    parse: (raw) => {
      const match = /^(\d{1,15})\s*(|KiB|MiB|GiB)$/i.exec(raw)
      const bytes = match === null ? 0 : Number(match[1]) * BYTE_UNITS[match[2]!.toLowerCase()]!
      return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined
    }
  },
  gatewayAttempts: {
    rule: 'must be an integer from 1 to 100',
    parse: (raw) => /^\d{1,3}$/.test(raw) && Number(raw) >= 1 && Number(raw) <= 100 ? Number(raw) : undefined
  },
  gatewayCoolDown: {
    rule: 'must be 0 (never) or a number of milliseconds or a duration such as 500ms, 10s, 1m',
    parse: (raw) => parseDuration(raw)
  },
  gatewayAuth: ON_OFF,
  registryUrl: {
    rule: 'must be blank or an http:// or https:// URL',
    parse: (raw) => {
      if (raw === '') return raw
      if (!URL.canParse(raw)) return undefined
      const url = new URL(raw)
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? raw : undefined
    },
    show: maskPassword
  },
  corsOrigin: {
    rule: 'must be blank, * or comma-separated origins such as https://app.example.com',
    parse: (raw) => {
      const text = raw.trim()
      if (text === '' || text === '*') return text
      const origins = text.split(',').map((entry) => origin(entry.trim()))
      return origins.every((entry) => entry !== undefined) ? origins.join(',') : undefined
    }
  }
}

/**
 * What to do, from the command line and the environment. Flags win over variables, variables
 * over defaults; the first bad value throws a `ConfigError` naming the variable and the flag.
 */
export function parseConfig (argv: string[], env: Env): Config {
  const flags = parseFlags(argv)
  if (flags['help'] === true) return { action: 'help' }
  if (flags['version'] === true) return { action: 'version' }

  /** The value and where it came from: the flag, the variable or an alias of it, or the default. */
  function given (key: keyof ServerSettings): { value: string, from: string } {
    const source = SOURCES[key]
    const flag = flags[source.flag]
    if (typeof flag === 'string') return { value: flag, from: source.env }
    for (const name of [source.env, ...(source.aliases ?? [])]) {
      const value = env[name]
      if (value !== undefined) return { value, from: name }
    }
    return { value: source.fallback, from: source.env }
  }

  function raw (key: keyof ServerSettings): string {
    return given(key).value
  }

  function read<K extends Checked> (key: K): ServerSettings[K] {
    const { rule, parse, show = (value: string) => value } = RULES[key]
    const { value: text, from } = given(key)
    const value = parse(text)
    if (value === undefined) {
      // JSON quoting keeps the message on one line whatever the value holds.
      throw new ConfigError(`${from} (--${SOURCES[key].flag}) ${rule}, got ${JSON.stringify(show(text))}`)
    }
    return value
  }

  // A gateway-only replica serves the gateway and nothing else.
  if (read('registryUrl') !== '' && !read('gateway')) {
    throw new ConfigError('LUNA_REGISTRY_URL (--registry-url) runs a gateway-only replica: it cannot be used with LUNA_GATEWAY=off (--gateway off)')
  }

  return {
    action: 'start',
    settings: {
      port: read('port'),
      host: read('host'),
      username: read('username'),
      password: raw('password'),
      heartbeatTimeout: read('heartbeatTimeout'),
      evictAfter: read('evictAfter'),
      store: read('store'),
      storePrefix: read('storePrefix'),
      requestTimeout: read('requestTimeout'),
      closeTimeout: read('closeTimeout'),
      logLevel: read('logLevel'),
      gateway: read('gateway'),
      gatewayBalancer: read('gatewayBalancer'),
      gatewayTimeout: read('gatewayTimeout'),
      gatewayBodyLimit: read('gatewayBodyLimit'),
      gatewayAttempts: read('gatewayAttempts'),
      gatewayCoolDown: read('gatewayCoolDown'),
      gatewayAuth: read('gatewayAuth'),
      registryUrl: read('registryUrl'),
      corsOrigin: read('corsOrigin')
    }
  }
}
