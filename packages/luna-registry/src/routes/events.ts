import type { ServerResponse } from 'node:http'
import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { RegistryEvent } from '../events.js'
import type { LunaRegistry } from '../registry.js'
import { EventsQuerySchema } from '../schemas.js'

export interface EventRoutesOptions {
  registry: LunaRegistry
  /** Milliseconds between keep-alive comments. */
  keepAlive: number
  /** Unread bytes after which a subscriber is dropped. */
  maxBuffer: number
}

function frame (type: string, id: number, data: unknown): string {
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`
}

/**
 * `GET /events`: Server-Sent Events. Each connection gets a `snapshot` of the service views,
 * then every change as it happens, optionally only those of `?service=name`.
 */
export const eventRoutes: FastifyPluginAsync<EventRoutesOptions> = async (fastify, { registry, keepAlive, maxBuffer }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const streams = new Set<ServerResponse>()

  // A slow reader is dropped rather than buffered for without bound.
  const send = (res: ServerResponse, chunk: string): void => {
    if (res.destroyed) return
    res.write(chunk)
    if (res.writableLength > maxBuffer) {
      fastify.log.warn({ unread: res.writableLength }, 'luna-registry: dropping an event subscriber that does not keep up')
      res.destroy()
    }
  }

  const timer = setInterval(() => {
    for (const res of streams) send(res, ': keep-alive\n\n')
  }, keepAlive).unref()

  // Streams never end by themselves: end them, or the server would wait for them when closing.
  fastify.addHook('preClose', async () => {
    clearInterval(timer)
    for (const res of streams) res.end()
    streams.clear()
  })

  app.get('/events', { schema: { querystring: EventsQuerySchema } }, async (request, reply) => {
    const { service } = request.query
    const res = reply.raw
    // Changes made while the snapshot is read wait for it, so none is lost or sent first.
    let queued: RegistryEvent[] | undefined = []
    const onEvent = (event: RegistryEvent): void => {
      if (service !== undefined && event.service !== service) return
      if (queued !== undefined) queued.push(event)
      else send(res, frame(event.type, event.id, event))
    }
    registry.on('event', onEvent)
    const snapshotId = registry.lastEventId
    let services
    try {
      services = service === undefined
        ? await registry.listServices()
        : [await registry.getService(service)].filter((view) => view !== undefined)
    } catch (error) {
      // Not hijacked yet: the error handler answers as for any other route.
      registry.off('event', onEvent)
      throw error
    }

    reply.hijack()
    const close = (): void => {
      registry.off('event', onEvent)
      streams.delete(res)
    }
    if (res.destroyed) return close()
    res.on('close', close)
    streams.add(res)
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no'
    })
    send(res, `retry: 2000\n${frame('snapshot', snapshotId, services)}`)
    for (const event of queued) send(res, frame(event.type, event.id, event))
    queued = undefined
  })
}
