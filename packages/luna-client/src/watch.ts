import { EventEmitter } from 'node:events'
import { backoff, checkDelay, checkJitter } from './backoff.js'
import { LunaError, LunaNetworkError, type LunaClientError } from './errors.js'
import { notify } from './notify.js'
import { applyEvent } from './service-list.js'
import { SseParser } from './sse.js'
import type { Transport } from './transport.js'
import { EVENT_TYPES, type RegistryEvent, type ServiceView } from './types.js'

/**
 * Sent first on every connection, and again whenever the registry may have missed changes: the
 * whole list, which replaces what the watcher had.
 */
export interface SnapshotEvent {
  type: 'snapshot'
  /** The id of the last event the snapshot includes. */
  id: number
  services: ServiceView[]
}

export type WatchEvent = SnapshotEvent | RegistryEvent

/** Called with the new list and what changed it. */
export type WatchListener = (services: ServiceView[], event: WatchEvent) => void

export interface WatchOptions {
  /** Reconnection: doubling from `initialDelay` (default 500 ms) to `maxDelay` (default 10 s), never sooner than the stream's `retry:` hint. */
  backoff?: { initialDelay?: number, maxDelay?: number }
  /** Each wait is shortened by a random fraction of up to `jitter`. Default `0.1`. */
  jitter?: number
  /** A stream silent for this long (no event, no keep-alive) is taken as dead and reopened. Default `45000`: three of the registry's keep-alives. */
  idleTimeout?: number
}

export interface WatcherEvents {
  /** The list changed: a snapshot (on (re)connection, or a fresh one mid-stream), or a change event. */
  change: [services: ServiceView[], event: WatchEvent]
  /** The first snapshot of a connection arrived: the list is current again. */
  connected: [services: ServiceView[]]
  /** The stream ended or broke; the list is kept as it was. `retryIn`: milliseconds until the next attempt. */
  disconnected: [details: { error: LunaClientError | undefined, retryIn: number }]
  /** Connecting or reading failed. Never thrown when nobody listens: the watcher reconnects on its own. */
  error: [error: LunaClientError, details: { retryIn: number }]
}

const KNOWN_EVENTS = new Set<string>(EVENT_TYPES)

/** A stream that breaks the protocol is reopened: the next snapshot puts the list right. */
function unexpected (message: string): LunaError {
  return new LunaError({ statusCode: 200, code: 'LUNA_CLIENT_UNEXPECTED_RESPONSE', error: 'OK', message })
}

function parse (type: string, data: string): unknown {
  try {
    return JSON.parse(data)
  } catch {
    throw unexpected(`the event stream sent a ${type} event that is not JSON: ${data.slice(0, 200)}`)
  }
}

/**
 * Follows the registry's event stream and keeps the service list it describes: each connection
 * starts from a snapshot, then applies every change. While the registry is away the last
 * known-good list stays, and the watcher reconnects with backoff until `close()`.
 */
export class Watcher extends EventEmitter<WatcherEvents> {
  /** The watched service, or `undefined` for all of them. */
  readonly service: string | undefined
  readonly #transport: Transport
  readonly #initialDelay: number
  readonly #maxDelay: number
  readonly #jitter: number
  readonly #idleTimeout: number
  #services: ServiceView[] = []
  #snapshots = 0
  #connected = false
  #closed = false
  #failures = 0
  #retryHint = 0
  #controller: AbortController | undefined
  #timer: NodeJS.Timeout | undefined
  #waiters: Array<(services: ServiceView[] | undefined) => void> = []

  constructor (transport: Transport, service: string | undefined, options: WatchOptions = {}) {
    super()
    this.#transport = transport
    this.service = service
    this.#maxDelay = checkDelay('backoff.maxDelay', options.backoff?.maxDelay ?? 10_000)
    this.#initialDelay = checkDelay('backoff.initialDelay', options.backoff?.initialDelay ?? Math.min(500, this.#maxDelay))
    this.#jitter = checkJitter(options.jitter ?? 0.1)
    this.#idleTimeout = checkDelay('idleTimeout', options.idleTimeout ?? 45_000)
    this.#connect()
  }

  /** The last known list: current while `connected`, the last known-good one while not. */
  current (): ServiceView[] {
    return this.#services
  }

  /** Whether the stream is open and the list is current. */
  get connected (): boolean {
    return this.#connected
  }

  get closed (): boolean {
    return this.#closed
  }

  /** Resolves with the list once the first snapshot has arrived (at once if it has); rejects if closed first. */
  async ready (): Promise<ServiceView[]> {
    const services = this.#snapshots > 0
      ? this.#services
      : this.#closed ? undefined : await new Promise<ServiceView[] | undefined>((resolve) => { this.#waiters.push(resolve) })
    if (services === undefined) throw new Error('luna-client: the watcher was closed before its first snapshot')
    return services
  }

  /** Ends the stream and stops reconnecting; the list stays readable. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#connected = false
    clearTimeout(this.#timer)
    this.#controller?.abort()
    for (const waiter of this.#waiters.splice(0)) waiter(undefined)
  }

  async #connect (): Promise<void> {
    if (this.#closed) return
    const controller = new AbortController()
    this.#controller = controller
    const path = this.service === undefined ? '/events' : `/events?service=${encodeURIComponent(this.service)}`
    let failure: LunaClientError | undefined
    try {
      await this.#read(await this.#transport.stream(path, controller), controller)
    } catch (error) {
      if (this.#closed) return
      // The idle timer aborts with the error to report, and the read then fails as aborted.
      const reason: unknown = controller.signal.reason
      failure = error instanceof LunaError || error instanceof LunaNetworkError
        ? error
        : reason instanceof LunaNetworkError ? reason : this.#transport.networkError('GET', this.#transport.base + path, error)
    }
    if (this.#closed) return
    const wasConnected = this.#connected
    this.#connected = false
    this.#failures++
    // The stream's `retry:` hint is the registry's wish: never sooner than that.
    const retryIn = Math.max(this.#retryHint, backoff(this.#failures, this.#initialDelay, this.#maxDelay, this.#jitter))
    // Reconnecting is what a watch is for: this timer keeps the process alive until close().
    this.#timer = setTimeout(() => { this.#connect() }, retryIn)
    if (wasConnected) notify(this, 'disconnected', { error: failure, retryIn })
    if (failure !== undefined) notify(this, 'error', failure, { retryIn })
  }

  async #read (body: AsyncIterable<Uint8Array>, controller: AbortController): Promise<void> {
    const decoder = new TextDecoder()
    const parser = new SseParser()
    const idle = setTimeout(() => {
      const message = `GET ${this.#transport.base}/events: the event stream was silent for ${this.#idleTimeout} ms`
      controller.abort(new LunaNetworkError(message, 'LUNA_CLIENT_TIMEOUT', undefined))
    }, this.#idleTimeout).unref()
    try {
      for await (const chunk of body) {
        idle.refresh()
        for (const event of parser.push(decoder.decode(chunk, { stream: true }))) {
          if (parser.retry !== undefined) this.#retryHint = parser.retry
          this.#handle(event.event, event.data, event.id)
        }
      }
    } finally {
      clearTimeout(idle)
      controller.abort()
    }
  }

  #handle (type: string, data: string, id: string | undefined): void {
    if (type === 'snapshot') {
      const services = parse(type, data) as ServiceView[]
      if (!Array.isArray(services)) throw unexpected('the snapshot is not a list of services')
      this.#services = services
      this.#snapshots++
      // A fresh snapshot mid-stream replaces the list as well, on a connection already counted.
      const reconnected = !this.#connected
      this.#connected = true
      this.#failures = 0
      for (const waiter of this.#waiters.splice(0)) waiter(services)
      if (reconnected) notify(this, 'connected', services)
      notify(this, 'change', services, { type: 'snapshot', id: Number(id ?? 0), services })
      return
    }
    // Changes mean something only on top of a snapshot; types added later are skipped.
    if (!this.#connected || !KNOWN_EVENTS.has(type)) return
    const event = parse(type, data) as RegistryEvent
    this.#services = applyEvent(this.#services, event)
    notify(this, 'change', this.#services, event)
  }
}
