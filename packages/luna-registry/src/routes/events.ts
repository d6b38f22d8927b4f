import type { ServerResponse } from 'node:http'
import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { RegistryEvent } from '../events.js'
import { drained, PIECE_SIZE } from '../json-stream.js'
import { nextTurn } from '../turns.js'
import type { LunaRegistry, ServiceListing, ServiceSummary } from '../registry.js'
import type { DropReason, RegistryMetrics } from '../metrics.js'
import { serviceListJson } from '../view-json.js'
import { matchesMetadata, metadataFilterOf, type MetadataFilter } from '../metadata-filter.js'
import { ErrorResponses, EventsQuerySchema, type InstanceView } from '../schemas.js'

export interface EventRoutesOptions {
  registry: LunaRegistry
  /** Writes an instance view's JSON. */
  writeView: (view: InstanceView) => string
  /** Milliseconds between keep-alive comments. */
  keepAlive: number
  /** Unread bytes after which a subscriber is dropped. */
  maxBuffer: number
  /** Milliseconds a subscriber has to read its snapshot before it is dropped. */
  snapshotTimeout: number
  metrics?: RegistryMetrics | undefined
}

async function getOrSet<K, V> (map: Map<K, Promise<V>>, key: K, make: () => Promise<V>): Promise<V> {
  let value = map.get(key)
  if (value === undefined) {
    value = make()
    map.set(key, value)
  }
  return await value
}

function frame (type: string, id: number, data: unknown): string {
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`
}

/** What the log says of a subscriber dropped for each reason. */
const DROPPED: Record<DropReason, string> = {
  slow: 'does not keep up',
  snapshot_overflow: 'does not read its snapshot while events arrive',
  snapshot_timeout: 'did not read its snapshot in time'
}

const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no'
}

/**
 * `GET /events`: Server-Sent Events. Each connection gets a `snapshot` of the service views,
 * then every change as it happens, optionally only those of `?service=name`.
 */
interface Subscriber {
  res: ServerResponse
  service: string | undefined
  /** Only the changes of instances whose metadata has all these entries. */
  metadata: MetadataFilter | undefined
  /** The frames of the events that arrived while the snapshot was written; `undefined` once it is. */
  queued: string[] | undefined
  /** Their bytes: they count against `maxBuffer` as unread bytes do. */
  queuedBytes: number
  /** Set when a resync came while the first snapshot was read: that one may be out of date. */
  stale?: boolean
  /** Set for a stream of service summaries: the services changed since their last summary was sent. */
  changed?: Set<string>
}

/** Milliseconds a summary stream gathers changes: a burst of them is one summary per service. */
const SUMMARY_DELAY = 100

/** A snapshot of summaries as JSON, in pieces of about `PIECE_SIZE`. */
function * summaryPieces (summaries: readonly ServiceSummary[]): Generator<string> {
  let piece = '['
  for (let i = 0; i < summaries.length; i++) {
    piece += (i === 0 ? '' : ',') + JSON.stringify(summaries[i])
    if (piece.length >= PIECE_SIZE) {
      yield piece
      piece = ''
    }
  }
  yield piece + ']'
}

/**
 * Whether a subscriber wants `event`: every protection event; of the others, those of its
 * service, and of instances whose metadata matches its filter (a deregistration carries no
 * metadata, and is sent to all of them).
 */
function wanted (subscriber: Subscriber, event: RegistryEvent): boolean {
  if (event.type === 'protection') return true
  if (subscriber.service !== undefined && subscriber.service !== event.service) return false
  return event.type === 'deregistered' || matchesMetadata(event.instance.metadata, subscriber.metadata)
}

export const eventRoutes: FastifyPluginAsync<EventRoutesOptions> = async (fastify, { registry, writeView, keepAlive, maxBuffer, snapshotTimeout, metrics }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const subscribers = new Set<Subscriber>()
  metrics?.countSubscribers(() => subscribers.size)

  const drop = ({ res }: Subscriber, reason: DropReason, unread: number): void => {
    fastify.log.warn({ unread }, `luna-registry: dropping an event subscriber that ${DROPPED[reason]}`)
    metrics?.subscriberDropped(reason)
    res.destroy()
  }

  // A slow reader is dropped rather than buffered for without bound.
  const send = (subscriber: Subscriber, chunk: string): void => {
    const { res } = subscriber
    if (res.destroyed) return
    res.write(chunk)
    if (res.writableLength > maxBuffer) drop(subscriber, 'slow', res.writableLength)
  }

  // One listener for every subscriber, and each event serialised once however many there are.
  // It is attached only while someone subscribes: with no listener the registry builds no events.
  const onEvent = (event: RegistryEvent): void => {
    let chunk: string | undefined
    for (const subscriber of subscribers) {
      if (subscriber.changed !== undefined && event.type !== 'protection') {
        // Whether the change moves a figure is for the summary to tell: an instance that stops
        // matching a metadata filter changes it too.
        if (subscriber.service === undefined || subscriber.service === event.service) summaryChanged(subscriber, event.service)
        continue
      }
      if (!wanted(subscriber, event)) continue
      chunk ??= frame(event.type, event.id, event)
      if (subscriber.queued === undefined) {
        send(subscriber, chunk)
        continue
      }
      subscriber.queued.push(chunk)
      subscriber.queuedBytes += Buffer.byteLength(chunk)
      if (subscriber.queuedBytes > maxBuffer) drop(subscriber, 'snapshot_overflow', subscriber.queuedBytes)
    }
  }
  // Summary streams: the services changed meanwhile, summed up once each when the delay ends.
  let summaryTimer: NodeJS.Timeout | undefined
  let summarising: Promise<void> | undefined
  const summaryChanged = (subscriber: Subscriber, name: string): void => {
    subscriber.changed!.add(name)
    if (subscriber.queued === undefined) summariseSoon()
  }
  const summariseSoon = (): void => {
    summaryTimer ??= setTimeout(() => {
      summaryTimer = undefined
      // One pass at a time: changes that arrive during one wait for the next.
      summarising = (summarising ?? Promise.resolve()).then(summarise, summarise)
    }, SUMMARY_DELAY).unref()
  }
  const summarise = async (): Promise<void> => {
    const id = registry.lastEventId
    // Those without a metadata filter share each service's summary.
    const shared = new Map<string, Promise<ServiceSummary>>()
    for (const subscriber of subscribers) {
      const { changed } = subscriber
      if (changed === undefined || changed.size === 0 || subscriber.queued !== undefined) continue
      const names = [...changed]
      changed.clear()
      try {
        // Read side by side: a shared store answers each in a round trip of its own.
        const summaries = await Promise.all(names.map(async (name) => subscriber.metadata === undefined
          ? await getOrSet(shared, name, async () => await registry.serviceSummary(name))
          : await registry.serviceSummary(name, subscriber.metadata)))
        for (const summary of summaries) send(subscriber, frame('summary', id, summary))
      } catch (error) {
        // The store is away: the stream ends, and its client reconnects to a fresh snapshot.
        fastify.log.warn({ err: error }, 'luna-registry: could not read a service summary; ending the summary stream')
        subscriber.res.end()
        leave(subscriber)
      }
    }
  }

  const join = (subscriber: Subscriber): void => {
    if (subscribers.size === 0) registry.on('event', onEvent)
    subscribers.add(subscriber)
  }
  const leave = (subscriber: Subscriber): void => {
    if (subscribers.delete(subscriber) && subscribers.size === 0) registry.off('event', onEvent)
  }

  const timer = setInterval(() => {
    // A stream still writing its snapshot is not idle, and a comment would cut the snapshot.
    for (const subscriber of subscribers) if (subscriber.queued === undefined) send(subscriber, ': keep-alive\n\n')
  }, keepAlive).unref()

  // Streams never end by themselves: end them, or the server would wait for them when closing.
  fastify.addHook('preClose', async () => {
    clearInterval(timer)
    clearTimeout(summaryTimer)
    registry.off('resync', resync)
    for (const subscriber of subscribers) {
      subscriber.res.end()
      leave(subscriber)
    }
  })

  /**
   * Writes the snapshot as the subscriber reads it, a piece at a time, and then what arrived
   * meanwhile. A subscriber that has not read it all within `snapshotTimeout` is dropped: the
   * snapshot of a large registry is many megabytes, and the server holds none of it for a
   * reader that does not read.
   */
  const writeSnapshot = async (subscriber: Subscriber, head: string, pieces: Iterable<string>): Promise<void> => {
    const { res } = subscriber
    const deadline = setTimeout(() => drop(subscriber, 'snapshot_timeout', res.writableLength), snapshotTimeout).unref()
    try {
      let piece = head
      for (const next of pieces) {
        if (res.writableEnded || res.destroyed) return
        // As a list's stream does: none made ahead of the socket, and a turn for each.
        if (!res.write(piece)) await drained(res)
        await nextTurn()
        piece = next
      }
      if (res.writableEnded || res.destroyed) return
      res.write(piece + '\n\n')
    } finally {
      clearTimeout(deadline)
    }
    const queued = subscriber.queued!
    subscriber.queued = undefined
    for (const chunk of queued) send(subscriber, chunk)
    if (subscriber.changed !== undefined && subscriber.changed.size > 0) summariseSoon()
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
        subscriber.queuedBytes = 0
        subscriber.stale = false
        live.push(subscriber)
      } else {
        subscriber.stale = true
      }
    }
    if (live.length === 0) return
    const snapshotId = registry.lastEventId
    let services: ServiceListing[] = []
    try {
      // Walked once per subscriber: a list, not the listing's one-pass iterable. Summary streams
      // read their own, without a view of every instance.
      if (live.some((subscriber) => subscriber.changed === undefined)) services = [...(await registry.servicePage({}, {})).items]
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
    const head = `id: ${snapshotId}\nevent: snapshot\ndata: `
    await Promise.all(live.filter((subscriber) => subscribers.has(subscriber)).map(async (subscriber) => {
      if (subscriber.changed !== undefined) {
        subscriber.changed.clear()
        let summaries
        try {
          summaries = await registry.serviceSummaries({ service: subscriber.service, metadata: subscriber.metadata })
        } catch {
          subscriber.res.end()
          leave(subscriber)
          return
        }
        await writeSnapshot(subscriber, head, summaryPieces(summaries))
        return
      }
      let items: Iterable<ServiceListing> = subscriber.service === undefined ? services : services.filter((view) => view.name === subscriber.service)
      if (subscriber.metadata !== undefined) {
        // A filter by metadata changes the services' figures: read for that subscriber alone.
        try {
          items = (await registry.servicePage({ service: subscriber.service, metadata: subscriber.metadata }, {})).items
        } catch {
          subscriber.res.end()
          leave(subscriber)
          return
        }
      }
      await writeSnapshot(subscriber, head, serviceListJson(items, writeView, PIECE_SIZE))
    }))
  }
  registry.on('resync', resync)

  app.get('/events', {
    config: { lunaStream: true },
    schema: {
      summary: 'Follow changes',
      description: 'Server-Sent Events: a `snapshot` of the service views, then `registered`, `updated`, `status`, `deregistered` and `evicted` events as they happen, optionally of one service. With `view=summary`, a snapshot of service summaries, then a `summary` event per changed service.',
      tags: ['events'],
      querystring: EventsQuerySchema,
      response: { 200: { description: 'The event stream', content: { 'text/event-stream': { schema: Type.String() } } }, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const { service, view } = request.query
    const metadata = metadataFilterOf(request.query)
    const res = reply.raw
    // The headers of a stream, and no stream: nobody would read it.
    if (request.method === 'HEAD') {
      reply.hijack()
      res.writeHead(200, STREAM_HEADERS)
      res.end()
      return
    }
    // Changes made while the snapshot is read wait for it, so none is lost or sent first.
    const subscriber: Subscriber = { res, service, metadata, queued: [], queuedBytes: 0 }
    if (view === 'summary') subscriber.changed = new Set()
    join(subscriber)
    const snapshotId = registry.lastEventId
    let pieces: Iterable<string>
    try {
      await nextTurn()
      pieces = view === 'summary'
        ? summaryPieces(await registry.serviceSummaries({ service, metadata }))
        : serviceListJson((await registry.servicePage({ service, metadata }, {})).items, writeView, PIECE_SIZE)
    } catch (error) {
      // Not hijacked yet: the error handler answers as for any other route.
      leave(subscriber)
      throw error
    }

    reply.hijack()
    if (res.destroyed) return leave(subscriber)
    res.on('close', () => leave(subscriber))
    res.writeHead(200, STREAM_HEADERS)
    const head = `retry: 2000\nid: ${snapshotId}\nevent: snapshot\ndata: `
    await writeSnapshot(subscriber, head, pieces)
    if (subscriber.stale === true) resync()
  })
}
