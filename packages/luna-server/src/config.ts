import { statSync } from 'node:fs'
import { isIP } from 'node:net'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { balancerKind, BALANCER_KINDS, isHostname, parseDuration } from 'luna-registry'
import { loadTemplate, parseRenderSpec, splitRenderList, TemplateError, type RenderSpec } from 'luna-render'

import { LOG_LEVELS, SOURCES, STORE_URL_PARAMETERS, type ServerSettings } from './settings.js'

export { HELP, LOG_LEVELS, type LogLevel, type ServerSettings } from './settings.js'

export type Config =
  | { action: 'help' }
  | { action: 'version' }
  | { action: 'hash-password' }
  | { action: 'start', settings: ServerSettings }

export type Env = Record<string, string | undefined>

/** A setting or an argument that stops the server from starting; the message is one line. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

const OPTIONS = {
  ...Object.fromEntries(Object.values(SOURCES).map((source) => [source.flag, { type: 'string' as const, multiple: source.multiple === true }])),
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' }
} as const

function isParseArgsError (error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code
  return error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')
}

function parseFlags (argv: string[]): Record<string, string | string[] | boolean | undefined> {
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
  return raw.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@')
}

/** Node's timers take at most 2^31 - 1 ms (24.8 days); a longer one fires at once. */
const LONGEST = 86_400_000

// The password has no rule, so no error message can ever carry it; `render` is a list.
type Checked = Exclude<keyof ServerSettings, 'password' | 'render'>

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

/** Why Luna could not write `path`, or `undefined` when its directory exists and it is no directory itself. */
function unwritable (path: string): string | undefined {
  const directory = statSync(dirname(path), { throwIfNoEntry: false })
  if (directory?.isDirectory() !== true) return `its directory ${dirname(path)} does not exist`
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true ? 'it is a directory' : undefined
}

/** `8080`, `127.0.0.1:8080`, `[::1]:8080` or `localhost:8080`, as nginx's `listen` takes them. */
function listenAddress (raw: string): string | undefined {
  const match = /^(?:(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):)?([1-9]\d{0,4})$/.exec(raw)
  if (match === null || Number(match[2]) > 65535) return undefined
  const host = match[1]
  if (host === undefined || (host.startsWith('[') ? isIP(host.slice(1, -1)) === 6 : isIP(host) === 4 || isHostname(host))) return raw
  return undefined
}

const COMMAND: Rule<string> = {
  rule: 'must be one line (blank: not run)',
  parse: (raw) => /[\r\n]/.test(raw) ? undefined : raw.trim()
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
  usersFile: { rule: 'must be a path', parse: (raw) => raw },
  maxFailures: {
    rule: 'must be 0 (no limit) or an integer from 1 to 1000000',
    parse: (raw) => /^\d{1,7}$/.test(raw) && Number(raw) <= 1_000_000 ? Number(raw) : undefined
  },
  tlsCert: { rule: 'must be a path', parse: (raw) => raw },
  tlsKey: { rule: 'must be a path', parse: (raw) => raw },
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
  protectionThreshold: {
    rule: 'must be a number from 0 (never) up to, not including, 1, such as 0.5',
    parse: (raw) => /^(0|0?\.\d+)$/.test(raw) ? Number(raw) : undefined
  },
  protectionMaxDuration: {
    rule: 'must be a positive duration up to 1d such as 30s, 15m, 1h',
    parse: (raw) => {
      const ms = parseDuration(raw)
      return ms === undefined || ms <= 0 || ms > LONGEST ? undefined : ms
    }
  },
  store: {
    rule: 'must be memory or a redis://, redis+sentinel:// or redis+cluster:// URL (rediss… for TLS)',
    parse: (raw) => {
      if (raw === 'memory') return raw
      // Several hosts (Sentinel, Cluster) are no URL host the URL class reads: the shape is checked here.
      return /^rediss?(?:\+sentinel|\+cluster)?:\/\/(?:[^@/?#]*@)?[^@/?#]+(?:[/?#]|$)/i.test(raw) ? raw : undefined
    },
    show: maskPassword
  },
  storePrefix: {
    rule: 'must be 1-64 characters without spaces or braces',
    parse: (raw) => /^[^\s{}]{1,64}$/.test(raw) ? raw : undefined
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
  metrics: ON_OFF,
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
  },
  nginxConfig: {
    rule: 'must be blank or a file in an existing directory',
    parse: (raw) => raw === '' ? raw : unwritable(resolve(raw)) === undefined ? resolve(raw) : undefined
  },
  nginxListen: {
    rule: 'must be a port from 1 to 65535, or host:port',
    parse: listenAddress
  },
  nginxTest: COMMAND,
  nginxReload: COMMAND
}

/** Each `TEMPLATE:OUTPUT[:COMMAND]`, its template compiled once to find its mistakes now. */
function renderSpecs (entries: string[], from: string): RenderSpec[] {
  return entries.map((entry) => {
    const fail = (problem: string): never => { throw new ConfigError(`${from} (--render) entry ${JSON.stringify(entry)} ${problem}`) }
    const spec = parseRenderSpec(entry)
    if (typeof spec === 'string') return fail(spec)
    const template = resolve(spec.template)
    const output = resolve(spec.output)
    try {
      loadTemplate(template)
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error
      fail(`names a template that cannot be used: ${error.message}`)
    }
    const problem = unwritable(output)
    if (problem !== undefined) fail(`cannot be written: ${problem}`)
    return { ...spec, template, output }
  })
}

/**
 * What to do, from the command line and the environment. Flags win over variables, variables
 * over defaults; the first bad value throws a `ConfigError` naming the variable and the flag.
 */
export function parseConfig (argv: string[], env: Env): Config {
  if (argv[0] === 'hash-password') {
    if (argv.length > 1) throw new ConfigError('hash-password takes no arguments: it reads the password on standard input')
    return { action: 'hash-password' }
  }
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

  // Whatever else a store URL carries would reach the Redis client unchecked: refused by name.
  const store = read('store')
  const query = store.indexOf('?')
  for (const name of query === -1 ? [] : new URLSearchParams(store.slice(query + 1).replace(/#.*$/, '')).keys()) {
    if (!(STORE_URL_PARAMETERS as readonly string[]).includes(name)) {
      throw new ConfigError(`${given('store').from} (--store) has an unknown parameter ${JSON.stringify(name)}: accepted are ${STORE_URL_PARAMETERS.join(', ')}`)
    }
  }

  // A gateway-only replica serves the gateway and nothing else.
  if (read('registryUrl') !== '' && !read('gateway')) {
    throw new ConfigError('LUNA_REGISTRY_URL (--registry-url) runs a gateway-only replica: it cannot be used with LUNA_GATEWAY=off (--gateway off)')
  }

  const renderFlags = flags[SOURCES.render.flag]
  const render = Array.isArray(renderFlags) && renderFlags.length > 0
    ? renderSpecs(renderFlags, SOURCES.render.env)
    : renderSpecs(splitRenderList(raw('render')), SOURCES.render.env)
  const nginxConfig = read('nginxConfig')
  if (read('registryUrl') !== '' && (nginxConfig !== '' || render.length > 0)) {
    throw new ConfigError('LUNA_NGINX_CONFIG (--nginx-config) and LUNA_RENDER (--render) render the registry of this process: they cannot be used with LUNA_REGISTRY_URL (--registry-url)')
  }
  const outputs = [nginxConfig, ...render.map((spec) => spec.output)].filter((output) => output !== '')
  const twice = outputs.find((output, i) => outputs.indexOf(output) !== i)
  if (twice !== undefined) throw new ConfigError(`LUNA_NGINX_CONFIG (--nginx-config) and LUNA_RENDER (--render) write ${twice} twice: each file has one template`)

  if ((read('tlsCert') === '') !== (read('tlsKey') === '')) {
    throw new ConfigError('LUNA_TLS_CERT (--tls-cert) and LUNA_TLS_KEY (--tls-key) go together: give both files, or neither')
  }
  if (read('usersFile') !== '' && read('gatewayAuth')) {
    throw new ConfigError('LUNA_GATEWAY_AUTH=on (--gateway-auth on) checks LUNA_AUTH_USERNAME and LUNA_AUTH_PASSWORD, which LUNA_USERS_FILE (--users-file) replaces: use one or the other')
  }

  return {
    action: 'start',
    settings: {
      port: read('port'),
      host: read('host'),
      username: read('username'),
      password: raw('password'),
      usersFile: read('usersFile'),
      maxFailures: read('maxFailures'),
      tlsCert: read('tlsCert'),
      tlsKey: read('tlsKey'),
      heartbeatTimeout: read('heartbeatTimeout'),
      evictAfter: read('evictAfter'),
      protectionThreshold: read('protectionThreshold'),
      protectionMaxDuration: read('protectionMaxDuration'),
      store,
      storePrefix: read('storePrefix'),
      requestTimeout: read('requestTimeout'),
      closeTimeout: read('closeTimeout'),
      logLevel: read('logLevel'),
      metrics: read('metrics'),
      gateway: read('gateway'),
      gatewayBalancer: read('gatewayBalancer'),
      gatewayTimeout: read('gatewayTimeout'),
      gatewayBodyLimit: read('gatewayBodyLimit'),
      gatewayAttempts: read('gatewayAttempts'),
      gatewayCoolDown: read('gatewayCoolDown'),
      gatewayAuth: read('gatewayAuth'),
      registryUrl: read('registryUrl'),
      corsOrigin: read('corsOrigin'),
      nginxConfig,
      nginxListen: read('nginxListen'),
      nginxTest: read('nginxTest'),
      nginxReload: read('nginxReload'),
      render
    }
  }
}
