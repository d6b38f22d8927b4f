import type { AddressInfo } from 'node:net'
import { networkInterfaces } from 'node:os'
import type { FastifyPluginAsync } from 'fastify'
import { createLunaClient, LunaClient, type LunaClientOptions } from './client.js'
import type { Registration } from './registration.js'
import type { RegisterOptions } from './registration-options.js'
import type { BalancerOptions, InstanceInfo } from './types.js'

/** Where the app listens, as other services should reach it. */
export interface AdvertisedAddress {
  protocol: 'http' | 'https'
  /** A hostname, an IPv4 address or a bracketed IPv6 address. */
  host: string
  port: number
}

export interface LunaClientPluginOptions extends Pick<RegisterOptions, 'heartbeatInterval' | 'jitter' | 'backoff'> {
  /** The registry: a URL (`http://admin:secret@host:4000`), client options, or a client to share. */
  registry: string | URL | LunaClientOptions | LunaClient
  /** The service name the app registers under. */
  service: string
  /** The app's version, as the registry lists it. */
  version: string
  /**
   * The host others reach the app at. Default: the address it listens on; for a wildcard address
   * (`0.0.0.0`, `::`), the machine's first external IPv4 address.
   */
  host?: string
  /** The instance's URL, or a function building it. Default `{protocol}://{host}:{port}/`. */
  url?: string | ((address: AdvertisedAddress) => string)
  /** Default `{service}:{host}:{port}`. */
  instanceId?: string
  description?: string
  metadata?: Record<string, string>
  balancerOptions?: BalancerOptions
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The plugin's client, for discovery: `app.lunaClient.pick('billing')`. */
    lunaClient: LunaClient
    /** The app's registration once it listens (`setStatus`, events), `null` before. */
    lunaRegistration: Registration | null
  }
}

function bracketed (host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

/** A wildcard address is no use to other services: advertise an address they can reach. */
function advertisedHost (address: string): string {
  if (address !== '0.0.0.0' && address !== '::') return bracketed(address)
  for (const addresses of Object.values(networkInterfaces())) {
    const external = addresses?.find((candidate) => candidate.family === 'IPv4' && !candidate.internal)
    if (external !== undefined) return external.address
  }
  return '127.0.0.1'
}

function required (options: Partial<LunaClientPluginOptions>, name: 'service' | 'version'): string {
  const value = options[name]
  if (typeof value !== 'string' || value === '') throw new TypeError(`luna-client/fastify: option "${name}" must be a non-empty string`)
  return value
}

/**
 * Registers the app with Luna once it listens (with the port it really got) and deregisters it
 * when it closes, before it stops serving. Decorates `lunaClient` and `lunaRegistration`.
 */
const plugin: FastifyPluginAsync<LunaClientPluginOptions> = async (fastify, options) => {
  if (options.registry === undefined) throw new TypeError('luna-client/fastify: option "registry" is required (the registry\'s URL)')
  const service = required(options, 'service')
  const version = required(options, 'version')
  const { registry } = options
  const owned = !(registry instanceof LunaClient)
  const client = registry instanceof LunaClient ? registry : createLunaClient(registry)

  fastify.decorate('lunaClient', client)
  fastify.decorate('lunaRegistration', null)

  fastify.addHook('onListen', async () => {
    const address = fastify.server.address()
    if (address === null || typeof address === 'string') {
      fastify.log.warn('luna-client: listening on a pipe or socket, which other services cannot reach; not registering')
      return
    }
    const { port } = address as AddressInfo
    const host = options.host === undefined ? advertisedHost(address.address) : bracketed(options.host)
    const protocol = fastify.initialConfig.https === undefined || fastify.initialConfig.https === false ? 'http' : 'https'
    const url = typeof options.url === 'function'
      ? options.url({ protocol, host, port })
      : options.url ?? `${protocol}://${host}:${port}/`
    const info: InstanceInfo = { name: service, version, status: 'OK', url }
    if (options.description !== undefined) info.description = options.description
    if (options.metadata !== undefined) info.metadata = options.metadata
    if (options.balancerOptions !== undefined) info.balancerOptions = options.balancerOptions

    const registration = client.register(info, {
      instanceId: options.instanceId ?? `${service}:${host}:${port}`,
      heartbeatInterval: options.heartbeatInterval,
      jitter: options.jitter,
      backoff: options.backoff
    })
    // One warning per outage, and a line when the registry is back, rather than one per retry.
    let failing = false
    // Listened for only while failing: a listener of 'heartbeat' makes every heartbeat bring the
    // registry's view back, which this does not need.
    const recovered = (): void => {
      fastify.log.info({ instanceId: registration.instanceId }, 'luna-client: the registry answers again')
      failing = false
    }
    registration.on('registered', (instance, { created }) => {
      fastify.log.info({ instanceId: instance.instanceId, created, registry: client.url }, 'luna-client: registered')
      registration.off('heartbeat', recovered)
      failing = false
    })
    registration.on('error', (err, details) => {
      const level = failing ? 'debug' : 'warn'
      fastify.log[level]({ err, instanceId: registration.instanceId, ...details }, `luna-client: ${details.operation} failed`)
      if (!failing) registration.once('heartbeat', recovered)
      failing = true
    })
    fastify.lunaRegistration = registration
  })

  // preClose: the registry stops sending traffic while in-flight requests still finish.
  fastify.addHook('preClose', async () => {
    const registration = fastify.lunaRegistration
    if (registration === null) return
    const removed = await registration.deregister()
    if (removed) fastify.log.info({ instanceId: registration.instanceId }, 'luna-client: deregistered')
  })

  // A client passed in belongs to the caller; one built here is closed here (its watchers too).
  if (owned) fastify.addHook('onClose', async () => { await client.close() })
}

// What fastify-plugin would do, without the dependency: no encapsulation, so the decorators and
// hooks belong to the app that registers the plugin.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'luna-client',
  [Symbol.for('plugin-meta')]: { name: 'luna-client', fastify: '5.x' }
})

export const lunaClientPlugin = plugin
export default plugin
export type { LunaClient, LunaClientOptions } from './client.js'
export type { Registration } from './registration.js'
