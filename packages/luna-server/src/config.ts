import { isIP } from 'node:net'
import { parseArgs } from 'node:util'
import { isHostname, parseDuration } from 'luna-registry'

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
  }
}

function helpText (): string {
  const rows = Object.values(SOURCES).map((source) => [
    `--${source.flag} ${source.placeholder}`,
    source.env,
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

  function raw (key: keyof ServerSettings): string {
    const source = SOURCES[key]
    const flag = flags[source.flag]
    return typeof flag === 'string' ? flag : env[source.env] ?? source.fallback
  }

  function read<K extends Checked> (key: K): ServerSettings[K] {
    const { rule, parse, show = (value: string) => value } = RULES[key]
    const given = raw(key)
    const value = parse(given)
    if (value === undefined) {
      const source = SOURCES[key]
      // JSON quoting keeps the message on one line whatever the value holds.
      throw new ConfigError(`${source.env} (--${source.flag}) ${rule}, got ${JSON.stringify(show(given))}`)
    }
    return value
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
      logLevel: read('logLevel')
    }
  }
}
