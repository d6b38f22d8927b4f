import { InvalidPathError } from './errors.js'

/** Where a request to the gateway goes, read from its URL once, before anything else. */
export interface GatewayTarget {
  service: string
  /**
   * The path below the service, as the client wrote it (its percent-encoding kept), without a
   * leading `/`: `items/1` for `/gateway/services/orders/items/1`, `''` for `…/orders/`, and
   * `undefined` for `…/orders`, the service's root.
   */
  rest: string | undefined
  /** `?` and the query string, byte for byte, or `''`. */
  query: string
}

// `%2e` is a dot, `%2f` a slash, `%5c` a backslash; `%25` followed by one of them is the same,
// encoded twice, for an upstream that decodes twice.
const ENCODED_SEPARATOR = /%(?:2f|5c|00)/i
const DOUBLE_ENCODED = /%25(?:2e|2f|5c|00)/i
const MALFORMED_ESCAPE = /%(?![0-9a-f]{2})/i
const SUSPECT = /[.%]/

function refuse (problem: string): never {
  throw new InvalidPathError(problem)
}

/** The segment with its escapes decoded, or a 400 when they are not UTF-8. */
function decode (segment: string): string {
  if (!segment.includes('%')) return segment
  try {
    return decodeURIComponent(segment)
  } catch {
    return refuse(`segment ${JSON.stringify(segment)} is not valid UTF-8 once percent-decoded`)
  }
}

/**
 * Refuses a segment that could take the path out of the instance's base path, however an
 * upstream reads it: dot segments (`..`, `.`, `%2e%2e`), a segment that begins or ends with
 * `..` (which some servers still resolve), an encoded slash, backslash or NUL, and any of these
 * encoded twice. Browsers and HTTP clients resolve dot segments before they send a request, so
 * only a probe sends one.
 */
function check (segment: string): void {
  if (MALFORMED_ESCAPE.test(segment)) refuse(`segment ${JSON.stringify(segment)} has a "%" that does not start an escape`)
  if (ENCODED_SEPARATOR.test(segment)) refuse(`segment ${JSON.stringify(segment)} holds an encoded slash, backslash or NUL, which could leave the instance's base path`)
  if (DOUBLE_ENCODED.test(segment)) refuse(`segment ${JSON.stringify(segment)} holds a twice-encoded dot, slash, backslash or NUL`)
  const decoded = decode(segment)
  if (decoded === '.' || decoded.startsWith('..') || decoded.endsWith('..')) {
    refuse(`segment ${JSON.stringify(segment)} is refused: dot segments could leave the instance's base path`)
  }
}

/**
 * A reader of request targets such as `/gateway/services/orders/items/1?x=1` under `prefix`.
 * It returns `undefined` for what is not a service address under the prefix (a 404 for the
 * router's fallback) and throws `FST_LUNA_INVALID_PATH` (400) for a path that could leave the
 * instance's base path.
 */
export function targetParser (prefix: string): (url: string) => GatewayTarget | undefined {
  // The prefix and `services`, compared decoded: the router matched them decoded.
  const head = prefix === '' ? ['services'] : [...prefix.slice(1).split('/'), 'services']
  const nameAt = head.length + 1
  return (url) => {
    const mark = url.indexOf('?')
    const path = mark === -1 ? url : url.slice(0, mark)
    const query = mark === -1 ? '' : url.slice(mark)
    if (path.includes('\\')) refuse('holds a backslash, which some servers read as a slash')
    if (path.includes('#')) refuse('holds a "#": a fragment is never sent to a server')
    const segments = path.split('/')
    if (segments[0] !== '' || segments.length <= nameAt) return undefined
    for (let i = 0; i < head.length; i++) {
      if (decode(segments[i + 1]!) !== head[i]) return undefined
    }
    const rawName = segments[nameAt]!
    // Without a dot or an escape, no segment can be refused: most paths skip the checks.
    const suspect = SUSPECT.test(path)
    if (suspect) check(rawName)
    const service = decode(rawName)
    if (service === '') return undefined
    const below = segments.slice(nameAt + 1)
    if (suspect) for (const segment of below) check(segment)
    return { service, rest: below.length === 0 ? undefined : below.join('/'), query }
  }
}

/** `targetParser(prefix)(url)`, for one URL. */
export function parseTarget (url: string, prefix: string): GatewayTarget | undefined {
  return targetParser(prefix)(url)
}

interface Base {
  origin: string
  /** The instance URL's path, ending with `/`, for what is appended below it. */
  directory: string
  /** The instance URL's path as registered, for a request to the service's root. */
  path: string
}

// Instances keep their URL between heartbeats: each is parsed once. Bounded, because URLs come
// and go with instances.
const bases = new Map<string, Base>()
const MAX_BASES = 10_000

function baseOf (instanceUrl: string): Base {
  let base = bases.get(instanceUrl)
  if (base === undefined) {
    const parsed = new URL(instanceUrl)
    const path = parsed.pathname
    base = { origin: parsed.origin, path, directory: path.endsWith('/') ? path : `${path}/` }
    if (bases.size >= MAX_BASES) bases.clear()
    bases.set(instanceUrl, base)
  }
  return base
}

/**
 * The upstream URL, without its query: the instance's URL (its origin and path; a query or
 * fragment registered with it is not used) with `rest` appended below its path, a `/` inserted
 * where needed. `http://10.0.0.7:8080/api` and `items/1` give `http://10.0.0.7:8080/api/items/1`.
 */
export function upstreamUrl (instanceUrl: string, rest: string | undefined): string {
  const base = baseOf(instanceUrl)
  return rest === undefined ? base.origin + base.path : base.origin + base.directory + rest
}
