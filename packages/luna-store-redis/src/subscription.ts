import { randomUUID } from 'node:crypto'
import { Cluster } from 'ioredis'
import type { SharedEvent } from 'luna-registry'
import { closeConnection, type Client, type OutageWatch, type StoreLogger } from './connection.js'
import type { Keys } from './keys.js'
import type { Scripts } from './scripts.js'

/** Milliseconds `start` waits for the subscription before it lets a registry start without it. */
const FIRST_CONNECTION_WAIT = 2000

export interface SubscriptionOptions {
  /** The store's own connection: the marker is read on it, and its reconnections looked at. */
  redis: Client & Scripts
  keys: Keys
  checkInterval: number
  outages: OutageWatch
  log: StoreLogger | undefined
  listener: (message: SharedEvent) => void
  resync: (() => void) | undefined
}

/**
 * The registry's change events as they arrive over pub/sub, and the watch that tells the
 * registry to resync when the shared state may have changed unannounced: messages were missed
 * while the subscription was down, or Redis lost the registry's keys (a flush, or a restart
 * without them), which the marker key tells.
 */
export class Subscription {
  readonly #redis: Client & Scripts
  /** A connection in subscriber mode can do nothing else: it is one of its own. */
  readonly #subscriber: Client
  readonly #markerKey: string
  readonly #channel: string
  readonly #log: StoreLogger | undefined
  readonly #resync: (() => void) | undefined
  readonly #timer: NodeJS.Timeout
  /** The marker's value when last read; `undefined` before the first read. */
  #marker: string | undefined
  /** Whether the subscription is in place: no message published since was missed. */
  #subscribed = false
  /** Whether messages may have been missed since the registry was last told to resync. */
  #missed = false
  #checking: Promise<void> | undefined
  #checkAgain = false

  constructor (options: SubscriptionOptions) {
    this.#redis = options.redis
    this.#markerKey = options.keys.marker
    this.#channel = options.keys.channel
    this.#log = options.log
    this.#resync = options.resync
    const subscriber = this.#subscriber = options.redis.duplicate()
    options.outages.watch(subscriber)
    const { listener } = options
    subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.#channel) return
      // Anything may be published on a channel: what is not one of ours is dropped, not thrown
      // inside the connection's data handler.
      let message: SharedEvent
      try {
        message = JSON.parse(text) as SharedEvent
      } catch {
        return
      }
      if (typeof message?.origin === 'string' && typeof message.event?.type === 'string') listener(message)
    })
    // What is published while the subscriber is away is lost to it.
    subscriber.on('close', () => {
      if (this.#subscribed) this.#missed = true
      this.#subscribed = false
    })
    // On a cluster, ioredis moves the subscription to another node by itself, without a word,
    // when the node it was on goes away; messages may be missed meanwhile. A node that goes away
    // is seen by whichever connection was using it: either may tell.
    for (const connection of [subscriber, this.#redis]) {
      if (connection instanceof Cluster) {
        connection.on('-node', () => {
          if (!this.#subscribed) return
          this.#missed = true
          this.#check()
        })
      }
    }
    // Joined again on every connection: a subscription that failed while Redis was away is
    // not one ioredis would restore by itself.
    subscriber.on('ready', () => this.#join())
    // A reconnection of the other connection may be the one that brings back a Redis that lost
    // the keys: looked at as soon as it is ready.
    this.#redis.on('ready', () => { this.#check() })
    this.#timer = setInterval(() => { this.#check() }, options.checkInterval).unref()
  }

  /** Resolves once the subscription stands or, if Redis is away, in a moment. */
  async start (): Promise<void> {
    // Events published before the subscription stands would be missed: wait for it, but not
    // for ever, so that a registry whose Redis is away still starts.
    if (this.#subscriber.status !== 'ready') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FIRST_CONNECTION_WAIT)
        this.#subscriber.once('ready', () => { clearTimeout(timer); resolve() })
      })
    }
    await this.#join()
    // Started without a subscription: whatever was published until it stands is missed.
    if (!this.#subscribed) this.#missed = true
  }

  async close (): Promise<void> {
    clearInterval(this.#timer)
    await closeConnection(this.#subscriber)
  }

  async #join (): Promise<void> {
    try {
      await this.#subscriber.subscribe(this.#channel)
    } catch {
      return
    }
    this.#subscribed = true
    this.#check()
  }

  /**
   * Reads the marker (writing it if it is missing) and tells the registry to resync when it
   * changed or when messages were missed. Only once both connections are ready: a resync is
   * read from the store, and told only once no message can be missed any more.
   */
  #check (): void {
    if (this.#checking !== undefined) {
      this.#checkAgain = true
      return
    }
    this.#checking = this.#checkMarker().finally(() => {
      this.#checking = undefined
      if (this.#checkAgain) {
        this.#checkAgain = false
        this.#check()
      }
    })
  }

  async #checkMarker (): Promise<void> {
    if (!this.#subscribed || this.#redis.status !== 'ready') return
    const missed = this.#missed
    this.#missed = false
    let marker: string
    try {
      marker = await this.#redis.lunaMarker(this.#markerKey, randomUUID())
    } catch {
      // Looked at again on the next tick or connection.
      this.#missed ||= missed
      return
    }
    const lost = this.#marker !== undefined && marker !== this.#marker
    this.#marker = marker
    if (lost) this.#log?.warn({}, 'luna-store-redis: Redis lost the registry\'s keys; what was registered must register again')
    if (!lost && !missed) return
    try {
      this.#resync?.()
    } catch (error) {
      // Thrown inside a timer or a connection's handler, it would take the process down.
      this.#log?.warn({ err: error }, 'luna-store-redis: the resync callback failed')
    }
  }
}
