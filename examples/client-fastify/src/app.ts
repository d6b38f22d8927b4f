import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { LunaClientOptions } from 'luna-client'
import lunaClient from 'luna-client/fastify'

export interface AppOptions {
  /** The registry: `http://admin:secret@host:4000`, or client options. */
  registry: string | LunaClientOptions
  /** Fastify's logger option. Default `false`. */
  logger?: FastifyServerOptions['logger']
  /** The service name. Default `catalog`. */
  serviceName?: string
  /** Milliseconds between heartbeats. Default `10000`. */
  heartbeatInterval?: number
  /** The host other services reach this one at. Default: the address it listens on. */
  host?: string
}

const items = [
  { sku: 'TEL-1', name: 'telescope', price: 349 },
  { sku: 'MAP-3', name: 'star chart', price: 12 }
]

/** A small catalog service that lists itself in Luna, and asks Luna about its peers. */
export async function buildApp (options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false })
  const serviceName = options.serviceName ?? 'catalog'

  await app.register(lunaClient, {
    registry: options.registry,
    service: serviceName,
    version: '1.0.0',
    description: 'Lists what we sell',
    metadata: { runtime: `node ${process.version}` },
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.heartbeatInterval === undefined ? {} : { heartbeatInterval: options.heartbeatInterval })
  })

  app.get('/', async () => ({ service: serviceName, instanceId: app.lunaRegistration?.instanceId ?? null }))
  app.get('/items', async () => items)

  // Discovery: every instance of this service the registry knows, with its status.
  app.get('/peers', async () => {
    const instances = await app.lunaClient.instances({ service: serviceName })
    return instances.map(({ instanceId, status, url }) => ({ instanceId, status, url }))
  })

  // Out of rotation and back without leaving the registry, e.g. while a dependency is away.
  app.put<{ Body: { status: 'OK' | 'DOWN' } }>('/status', {
    schema: {
      body: {
        type: 'object',
        properties: { status: { type: 'string', enum: ['OK', 'DOWN'] } },
        required: ['status'],
        additionalProperties: false
      }
    }
  }, async (request, reply) => {
    const registration = app.lunaRegistration
    if (registration === null) return await reply.code(409).send({ error: 'not listening yet' })
    const instance = await registration.setStatus(request.body.status)
    // The registry could not be told now; the next heartbeat will carry the status.
    if (instance === undefined) return await reply.code(202).send({ status: request.body.status, registry: 'unreachable' })
    return { status: instance.status }
  })

  return app
}
