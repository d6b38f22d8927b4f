import { isIP } from 'node:net'
import { isHostname, isServiceName, type ServiceView } from 'luna-registry'

/** One instance in an upstream: every field checked, safe to write into a configuration file. */
export interface RouteServer {
  /** `serviceName:domain:port`, as the registry checked it. */
  instanceId: string
  /** A hostname (RFC 1123), an IPv4 address, or an IPv6 address in brackets. */
  host: string
  port: number
  /** 1–1000. */
  weight: number
}

/** A routable instance that a route leaves out, and why. */
export interface LeftOut {
  instanceId: string
  reason: string
}

/**
 * A service with at least one routable instance (`OK`, weight above 0), as a proxy needs it:
 * where to send `/gateway/services/{name}/…`. Every string is made of characters that no
 * configuration language reads as syntax (see `configValue`).
 */
export interface Route {
  /** The service's name: `A-Z a-z 0-9 . _ -`. */
  name: string
  /** A name for its upstream, unique in the file even to a reader that ignores case (nginx). */
  upstream: string
  scheme: 'http' | 'https'
  /** The instances' base path, percent-encoded: where a request for the service's root goes. */
  path: string
  /** `path` ending with `/`: what is below the service goes below it. */
  directory: string
  servers: RouteServer[]
  /** Routable instances left out: a URL with another base path or scheme, or a host not safe to write. */
  leftOut: LeftOut[]
}

/** What a template sees beside the services themselves. */
export interface Routes {
  /** Services with at least one instance that can be written, sorted by name. */
  routes: Route[]
  /** Services that have instances but none routable (or none that can be written): a 503, as the gateway answers. */
  unavailable: string[]
}

// What is left as it is in a path: RFC 3986's unreserved characters and the sub-delimiters that
// no configuration language takes for syntax. Everything else, `;`, `{`, `}`, `$`, quotes,
// spaces and `#` among them, is percent-encoded.
const PATH_SAFE = /^[A-Za-z0-9\-._~!&=+,*:@/]$/
const ESCAPE = /^%[0-9A-Fa-f]{2}/

/** `pathname`, with every character outside the safe set percent-encoded (a valid `%XX` kept). */
export function encodePath (pathname: string): string {
  let encoded = ''
  for (let i = 0; i < pathname.length; i++) {
    const char = pathname[i]!
    if (PATH_SAFE.test(char)) encoded += char
    else if (char === '%' && ESCAPE.test(pathname.slice(i, i + 3))) encoded += char
    else {
      const code = pathname.codePointAt(i)!
      const whole = String.fromCodePoint(code)
      if (whole.length === 2) i++
      for (const byte of Buffer.from(whole)) encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
    }
  }
  return encoded
}

interface Target {
  scheme: 'http' | 'https'
  host: string
  port: number
  path: string
}

/** The parts of an instance URL a proxy needs, or why it cannot be given one safely. */
export function parseInstanceUrl (url: string): Target | string {
  if (!URL.canParse(url)) return `url ${JSON.stringify(url)} is not a URL`
  const parsed = new URL(url)
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `url ${JSON.stringify(url)} is not http or https`
  const scheme = parsed.protocol === 'https:' ? 'https' : 'http'
  const host = parsed.hostname
  // URL accepts `;`, `{`, `}`, `$` and quotes in a host name: only what a name server could answer passes.
  const safe = host.startsWith('[') ? isIP(host.slice(1, -1)) === 6 : isIP(host) === 4 || isHostname(host)
  if (!safe) return `host ${JSON.stringify(host)} is not a hostname or an IP address`
  const port = parsed.port === '' ? (scheme === 'https' ? 443 : 80) : Number(parsed.port)
  return { scheme, host, port, path: encodePath(parsed.pathname) }
}

interface Group { scheme: 'http' | 'https', path: string, servers: RouteServer[], weight: number }

/**
 * The routes for `services` (the services JSON). A proxy sends one address to one upstream, and
 * an upstream has one base path: when a service's instances disagree on scheme or base path, the
 * group of them with the largest total weight is routed (the first, by instance id, on a tie)
 * and the others are listed in `leftOut`.
 */
export function routesOf (services: readonly ServiceView[]): Routes {
  const routes: Route[] = []
  const unavailable: string[] = []
  for (const service of services) {
    // The registry allows nothing else; a name that is not one would not be written anyway.
    if (!isServiceName(service.name)) continue
    const groups = new Map<string, Group>()
    const leftOut: LeftOut[] = []
    for (const instance of service.instances) {
      const weight = instance.balancerOptions.weight
      if (instance.status !== 'OK' || !(weight > 0)) continue
      const target = parseInstanceUrl(instance.url)
      if (typeof target === 'string') {
        leftOut.push({ instanceId: instance.instanceId, reason: target })
        continue
      }
      const key = `${target.scheme} ${target.path}`
      let group = groups.get(key)
      if (group === undefined) {
        group = { scheme: target.scheme, path: target.path, servers: [], weight: 0 }
        groups.set(key, group)
      }
      group.servers.push({ instanceId: instance.instanceId, host: target.host, port: target.port, weight })
      group.weight += weight
    }
    let chosen: Group | undefined
    for (const group of groups.values()) if (chosen === undefined || group.weight > chosen.weight) chosen = group
    if (chosen === undefined) {
      unavailable.push(service.name)
      continue
    }
    for (const group of groups.values()) {
      if (group === chosen) continue
      for (const server of group.servers) {
        leftOut.push({ instanceId: server.instanceId, reason: `base path ${group.scheme}://…${group.path} differs from the service's ${chosen.scheme}://…${chosen.path}` })
      }
    }
    routes.push({
      name: service.name,
      upstream: `luna_${routes.length + 1}_${service.name}`,
      scheme: chosen.scheme,
      path: chosen.path,
      directory: chosen.path.endsWith('/') ? chosen.path : `${chosen.path}/`,
      servers: chosen.servers,
      leftOut
    })
  }
  return { routes, unavailable }
}
