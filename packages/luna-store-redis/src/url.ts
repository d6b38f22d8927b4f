/** A Redis server's address. */
export interface RedisNode {
  host: string
  port: number
}

/** What a store URL names: one Redis, a master found through Sentinel, or a Cluster. */
export type RedisTarget =
  | { mode: 'single', node: RedisNode, db: number }
  | { mode: 'sentinel', sentinels: RedisNode[], name: string, db: number }
  | { mode: 'cluster', nodes: RedisNode[] }

export interface ParsedRedisUrl {
  target: RedisTarget
  tls: boolean
  username?: string
  password?: string
  /** The URL's query parameters that it may carry, as numbers or text. */
  parameters: StoreUrlParameters
}

export interface StoreUrlParameters {
  commandTimeout?: number
  waitReplicas?: number | 'auto'
  waitTimeout?: number
  sentinelPassword?: string
}

/** The query parameters a store URL may carry; any other is refused, never handed on to ioredis. */
export const STORE_URL_PARAMETERS = ['commandTimeout', 'waitReplicas', 'waitTimeout', 'sentinelPassword'] as const

/** The schemes a store URL may have: with an `s`, over TLS. */
export const STORE_URL_SCHEMES = ['redis', 'rediss', 'redis+sentinel', 'rediss+sentinel', 'redis+cluster', 'rediss+cluster'] as const

const SHAPE = /^([a-z+]+):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i

function fail (message: string): never {
  throw new TypeError(`luna-store-redis: ${message}`)
}

function decode (text: string, what: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return fail(`the store URL's ${what} is not valid percent-encoding`)
  }
}

function parseNode (text: string, defaultPort: number): RedisNode {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(text)
  const port = match?.[2] === undefined ? defaultPort : Number(match[2])
  if (match === null || port < 1 || port > 65535) fail(`"${text}" in the store URL is not a host[:port]`)
  const host = match[1]!.startsWith('[') ? match[1]!.slice(1, -1) : match[1]!
  return { host, port }
}

function parseDb (text: string | undefined): number {
  if (text === undefined || text === '') return 0
  if (!/^\d{1,5}$/.test(text)) fail(`the database in the store URL must be a number, not "${text}"`)
  return Number(text)
}

function positive (name: string, text: string): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) === 0) fail(`the store URL's parameter ${name} must be a positive whole number of milliseconds, not "${text}"`)
  return Number(text)
}

function parseParameters (query: string | undefined, mode: RedisTarget['mode']): StoreUrlParameters {
  const parameters: StoreUrlParameters = {}
  for (const [name, value] of new URLSearchParams(query ?? '')) {
    if (name === 'commandTimeout') parameters.commandTimeout = positive(name, value)
    else if (name === 'waitTimeout') parameters.waitTimeout = positive(name, value)
    else if (name === 'waitReplicas') {
      if (value !== 'auto' && !/^\d{1,2}$/.test(value)) fail(`the store URL's parameter waitReplicas must be auto or a number of replicas, not "${value}"`)
      parameters.waitReplicas = value === 'auto' ? 'auto' : Number(value)
    } else if (name === 'sentinelPassword' && mode === 'sentinel') parameters.sentinelPassword = value
    else fail(`unknown parameter "${name}" in the store URL; accepted: ${STORE_URL_PARAMETERS.filter((known) => known !== 'sentinelPassword' || mode === 'sentinel').join(', ')}`)
  }
  return parameters
}

/**
 * A store URL, read whole and checked: `redis[s]://[[user]:password@]host[:port][/db]`,
 * `redis[s]+sentinel://[[user]:password@]host:port,host:port,…/masterName[/db]`,
 * `redis[s]+cluster://[[user]:password@]host:port,host:port,…`, with the query parameters of
 * `STORE_URL_PARAMETERS`. Throws a `TypeError` naming what is wrong, the password never.
 */
export function parseRedisUrl (url: string): ParsedRedisUrl {
  const match = SHAPE.exec(url)
  const scheme = match?.[1]?.toLowerCase()
  if (match === null || !(STORE_URL_SCHEMES as readonly string[]).includes(scheme!)) {
    fail(`a store URL starts with ${STORE_URL_SCHEMES.map((known) => `${known}://`).join(', ')}`)
  }
  const [, , userinfo, hosts, path = '', query] = match
  const tls = scheme!.startsWith('rediss')
  const mode = scheme!.endsWith('+sentinel') ? 'sentinel' : scheme!.endsWith('+cluster') ? 'cluster' : 'single'
  if (hosts === '') fail('the store URL names no host')
  const nodes = hosts!.split(',').map((text) => parseNode(text, mode === 'sentinel' ? 26379 : 6379))
  if (mode === 'single' && nodes.length > 1) fail('a redis:// URL names one host: several are for redis+sentinel:// or redis+cluster://')
  const segments = path.split('/').slice(1)
  let target: RedisTarget
  if (mode === 'sentinel') {
    const name = segments[0] === undefined ? '' : decode(segments[0], 'master name')
    if (name === '' || segments.length > 2) fail('a redis+sentinel:// URL ends with /masterName or /masterName/db')
    target = { mode, sentinels: nodes, name, db: parseDb(segments[1]) }
  } else if (mode === 'cluster') {
    if (segments.some((segment) => segment !== '')) fail('a redis+cluster:// URL has no path: a cluster has one database')
    target = { mode, nodes }
  } else {
    if (segments.length > 1) fail('a redis:// URL ends with the host or with /db')
    target = { mode, node: nodes[0]!, db: parseDb(segments[0]) }
  }
  const parsed: ParsedRedisUrl = { target, tls, parameters: parseParameters(query, mode) }
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':')
    const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon), 'user name')
    if (username !== '') parsed.username = username
    if (colon !== -1) parsed.password = decode(userinfo.slice(colon + 1), 'password')
  }
  return parsed
}
