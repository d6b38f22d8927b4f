import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import lunaRegistry, { type InstanceInfo, type LunaRegistryOptions } from 'luna-registry'
import type { AddressInfo } from 'node:net'

export interface AppOptions {
  /** Fastify's logger option. Default `false`. */
  logger?: FastifyServerOptions['logger']
  /** Options for the registry plugin: `auth`, `prefix`, `heartbeatTimeout`, `store`, `panel`. */
  registry?: LunaRegistryOptions
  /** How the app lists itself in its own registry. Default `orders`. */
  serviceName?: string
  /** Milliseconds between the app's own heartbeats. Default `10000`. */
  heartbeatInterval?: number
}

const orders = [
  { id: 1, item: 'telescope', quantity: 1 },
  { id: 2, item: 'star chart', quantity: 3 }
]

/** An ordinary Fastify app with the Luna registry mounted beside its own routes. */
export async function buildApp (options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false })
  const serviceName = options.serviceName ?? 'orders'

  // The app's own routes: the registry's basic auth is encapsulated and never reaches them.
  app.get('/', async () => ({ service: serviceName, routes: ['/orders'] }))
  app.get('/orders', async () => orders)

  await app.register(lunaRegistry, options.registry ?? {})

  registerItself(app, serviceName, options.heartbeatInterval ?? 10_000)
  return app
}

/**
 * In-process use of the registry: once listening, the app lists itself through
 * `app.lunaRegistry` (no HTTP, no credentials), keeps its heartbeat fresh and leaves on close.
 */
function registerItself (app: FastifyInstance, serviceName: string, interval: number): void {
  let timer: NodeJS.Timeout | undefined
  let instanceId: string | undefined

  app.addHook('onListen', async () => {
    const address = app.server.address() as AddressInfo
    const host = advertisedHost(address.address)
    const id = `${serviceName}:${host}:${address.port}`
    const info: InstanceInfo = {
      name: serviceName,
      version: '1.0.0',
      status: 'OK',
      url: `http://${host}:${address.port}/`,
      description: 'Takes orders; hosts the Luna registry'
    }
    await app.lunaRegistry.register(id, info)
    instanceId = id
    app.log.info({ instanceId }, 'registered in its own registry')

    timer = setInterval(() => {
      // Someone may have deregistered the app over HTTP: a heartbeat never resurrects, so register again.
      const beat = async (): Promise<void> => {
        if (await app.lunaRegistry.heartbeat(id, info) === undefined) await app.lunaRegistry.register(id, info)
      }
      beat().catch((err: unknown) => { app.log.error({ err }, 'heartbeat to its own registry failed') })
    }, interval)
    // The heartbeat alone must not keep the process alive.
    timer.unref()
  })

  // Added after the plugin, so it runs before the plugin's own onClose closes the store.
  app.addHook('onClose', async () => {
    clearInterval(timer)
    if (instanceId === undefined) return
    await app.lunaRegistry.deregister(instanceId)
    app.log.info({ instanceId }, 'deregistered from its own registry')
  })
}

/** The domain for the instance id: a wildcard address is no use to clients, IPv6 goes in brackets. */
function advertisedHost (address: string): string {
  if (address === '0.0.0.0' || address === '::') return 'localhost'
  return address.includes(':') ? `[${address}]` : address
}
