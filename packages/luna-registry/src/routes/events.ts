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
interface Subscriber {
  res: ServerResponse
  service: string | undefined
  /** Events that arrived while the snapshot was read; `undefined` once it is sent. */
  queued: RegistryEvent[] | undefined
  /** Bytes of the snapshot still unread: a large registry's snapshot is not a slow reader. */
  allowance: number
  /** Set when a resync came while the first snapshot was read: that one may be out of date. */
  stale?: boolean
}

export const eventRoutes: FastifyPluginAsync<EventRoutesOptions> = async (fastify, { registry, keepAlive, maxBuffer }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const subscribers = new Set<Subscriber>()

  // A slow reader is dropped rather than buffered for without bound.
  const send = ({ res, allowance }: Subscriber, chunk: string): void => {
    if (res.destroyed) return
    res.write(chunk)
    if (res.writableLength > maxBuffer + allowance) {
      fastify.log.warn({ unread: res.writableLength }, 'luna-registry: dropping an event subscriber that does not keep up')
      res.destroy()
    }
  }

  // One listener for every subscriber, and each event serialised once however many there are.
  // It is attached only while someone subscribes: with no listener the registry builds no events.
  const onEvent = (event: RegistryEvent): void => {
    let chunk: string | undefined
    for (const subscriber of subscribers) {
      if (subscriber.service !== undefined && subscriber.service !== event.service) continue
      if (subscriber.queued !== undefined) subscriber.queued.push(event)
      else send(subscriber, chunk ??= frame(event.type, event.id, event))
    }
  }
  const join = (subscriber: Subscriber): void => {
    if (subscribers.size === 0) registry.on('event', onEvent)
    subscribers.add(subscriber)
  }
  const leave = (subscriber: Subscriber): void => {
    if (subscribers.delete(subscriber) && subscribers.size === 0) registry.off('event', onEvent)
  }

  // The shared store may have lost events or data: every subscriber gets a fresh snapshot, read
  // once for all of them; events arriving meanwhile wait for it, as they wait for the first.
  // Resyncs that come while one is read are served by a single read after it.
  let resyncing: Promise<void> | undefined
  let again = false
  const resync = (): void => {
    if (resyncing !== undefined) {
      again = true
      return
    }
    resyncing = resnapshot().finally(() => {
      resyncing = undefined
      if (again) {
        again = false
        resync()
      }
    })
  }
  const resnapshot = async (): Promise<void> => {
    const live: Subscriber[] = []
    for (const subscriber of subscribers) {
      if (subscriber.queued === undefined) {
        subscriber.queued = []
        subscriber.stale = false
        live.push(subscriber)
      } else {
        subscriber.stale = true
      }
    }
    if (live.length === 0) return
    const snapshotId = registry.lastEventId
    let services
    try {
      services = await registry.listServices()
    } catch (error) {
      // Events already sent would stay unrepaired: end the streams, and their clients reconnect to
      // a snapshot of their own (or a 503 while the store is away).
      fastify.log.warn({ err: error }, 'luna-registry: could not read a fresh snapshot; ending the event streams')
      for (const subscriber of live) {
        subscriber.res.end()
        leave(subscriber)
      }
      return
    }
    let whole: string | undefined
    for (const subscriber of live) {
      if (!subscribers.has(subscriber)) continue
      const { res, service } = subscriber
      const snapshot = service === undefined
        ? whole ??= frame('snapshot', snapshotId, services)
        : frame('snapshot', snapshotId, services.filter((view) => view.name === service))
      // Added to what an earlier snapshot may still have unread; only a write that filled the
      // buffer is followed by a drain.
      subscriber.allowance += Buffer.byteLength(snapshot)
      send(subscriber, snapshot)
      if (res.writableNeedDrain) res.once('drain', () => { subscriber.allowance = 0 })
      else subscriber.allowance = 0
      for (const event of subscriber.queued!) send(subscriber, frame(event.type, event.id, event))
      subscriber.queued = undefined
    }
  }
  registry.on('resync', resync)

  const timer = setInterval(() => {
    for (const subscriber of subscribers) send(subscriber, ': keep-alive\n\n')
  }, keepAlive).unref()

  // Streams never end by themselves: end them, or the server would wait for them when closing.
  fastify.addHook('preClose', async () => {
    clearInterval(timer)
    registry.off('resync', resync)
    for (const subscriber of subscribers) {
      subscriber.res.end()
      leave(subscriber)
    }
  })

  app.get('/events', { schema: { querystring: EventsQuerySchema } }, async (request, reply) => {
    const { service } = request.query
    const res = reply.raw
    // Changes made while the snapshot is read wait for it, so none is lost or sent first.
    const subscriber: Subscriber = { res, service, queued: [], allowance: 0 }
    join(subscriber)
    const snapshotId = registry.lastEventId
    let services
    try {
      services = service === undefined
        ? await registry.listServices()
        : [await registry.getService(service)].filter((view) => view !== undefined)
    } catch (error) {
      // Not hijacked yet: the error handler answers as for any other route.
      leave(subscriber)
      throw error
    }

    reply.hijack()
    if (res.destroyed) return leave(subscriber)
    res.on('close', () => leave(subscriber))
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no'
    })
    const snapshot = `retry: 2000\n${frame('snapshot', snapshotId, services)}`
    subscriber.allowance = Buffer.byteLength(snapshot)
    res.once('drain', () => { subscriber.allowance = 0 })
    send(subscriber, snapshot)
    for (const event of subscriber.queued!) send(subscriber, frame(event.type, event.id, event))
    subscriber.queued = undefined
    if (subscriber.stale === true) resync()
  })
}
