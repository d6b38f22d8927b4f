/** What a user may do: read everything; read and change instances of some services; anything. */
export const ROLES = ['read', 'register', 'admin'] as const
export type LunaRole = typeof ROLES[number]

/** A role, and for `register` the services whose instances it may change. */
export interface LunaAccess {
  role: LunaRole
  /** For `register`: service names, each exact or with `*` standing for any characters. */
  services?: readonly string[]
}

/** An authenticated user's rights, as the routes check them. */
export interface Grant {
  readonly username: string
  readonly role: LunaRole
  readonly services: readonly string[]
  /** Whether the user signed in with a blank password: the seed's default. */
  readonly blankPassword: boolean
  /** Whether `register` may change instances of `service`; `admin` always may, `read` never. */
  readonly mayChange: (service: string) => boolean
}

/** Characters a pattern may hold: those of service names, and `*`. */
const PATTERN = /^[A-Za-z0-9._*-]{1,128}$/

/** Why `pattern` is not a service pattern, or `undefined` when it is one. */
export function patternProblem (pattern: unknown): string | undefined {
  if (typeof pattern === 'string' && PATTERN.test(pattern)) return undefined
  return 'must be a service name of A-Z a-z 0-9 . _ - in which * stands for any characters, 1-128 long'
}

/** One expression for all of `patterns`: `*` stands for any characters, anything else for itself. */
function matcher (patterns: readonly string[]): (service: string) => boolean {
  if (patterns.length === 0) return () => false
  const source = patterns.map((pattern) => pattern.split('*').map((part) => part.replace(/[.]/g, '\\.')).join('.*'))
  const expression = new RegExp(`^(?:${source.join('|')})$`)
  return (service) => expression.test(service)
}

/** The rights of `username` with `access`; the patterns must have been checked. */
export function grant (username: string, access: LunaAccess, blankPassword = false): Grant {
  const services = access.role === 'register' ? Object.freeze([...access.services ?? []]) : []
  const mayChange = access.role === 'admin' ? () => true : access.role === 'read' ? () => false : matcher(services)
  return Object.freeze({ username, role: access.role, services, blankPassword, mayChange })
}

/** Methods that only read: anything else changes something, or may in a later version. */
const READS = new Set(['GET', 'HEAD'])

/** What the access rule needs to know of a request, all of it known before its body is read. */
export interface RouteRequest {
  method: string
  /** The pattern of the route that matched (`/registry/v1/instances/*`), or `undefined` for none. */
  route: string | undefined
  params: unknown
}

/**
 * The instance id a route under `{prefix}/instances/` acts on, read from the parameter that holds
 * its first path segment after that (a wildcard or a named parameter), as the route itself reads
 * it; `undefined` for a route that acts on no single instance.
 */
function instanceOf (instances: string, { route, params }: RouteRequest): string | undefined {
  if (route === undefined || !route.startsWith(instances)) return undefined
  const segment = route.slice(instances.length).split('/')[0]!
  const values = (params ?? {}) as Record<string, unknown>
  const value = segment === '*' ? values['*'] : segment.startsWith(':') ? values[segment.slice(1)] : undefined
  if (typeof value !== 'string') return undefined
  return segment === '*' ? value.split('/')[0] : value
}

/** The service of an instance id: what precedes its first `:` (the registry checks the rest). */
function serviceOf (instanceId: string): string {
  const colon = instanceId.indexOf(':')
  return colon === -1 ? instanceId : instanceId.slice(0, colon)
}

/**
 * Why `grant` may not make `request`, or `undefined` when it may. Every role reads; a request
 * with any other method changes something: on one instance (`{prefix}/instances/{id}` and
 * anything under it) it needs `admin` or a `register` role naming the instance's service, on
 * anything else `admin`. A request that matched no route changes nothing and is let through to
 * its 404. The rule goes by method and route alone, so routes added later are covered as well.
 */
export function refusal (grant: Grant, prefix: string, request: RouteRequest): string | undefined {
  if (grant.role === 'admin' || READS.has(request.method) || request.route === undefined) return undefined
  const instanceId = instanceOf(`${prefix}/instances/`, request)
  const who = `user "${grant.username}" has role ${grant.role}`
  if (instanceId === undefined) return `${request.method} ${request.route} needs role admin; ${who}`
  const service = serviceOf(instanceId)
  if (grant.mayChange(service)) return undefined
  const which = grant.role === 'register' ? `, for services ${grant.services.join(', ')}` : ''
  return `${who}${which}: it may not change instances of service "${service}"`
}
