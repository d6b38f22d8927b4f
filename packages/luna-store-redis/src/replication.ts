import calculateSlot from 'cluster-key-slot'
import { Cluster } from 'ioredis'
import type { Client } from './connection.js'
import type { Bucket } from './keys.js'

/** How registrations and deregistrations are confirmed before they are acknowledged. */
export interface WaitSettings {
  /**
   * How many replicas must have the write: `'auto'` is one when the master has any replica,
   * none when it has none (nothing could take its place with less than it has).
   */
  replicas: number | 'auto'
  /** Milliseconds to wait for them before the write answers 503. */
  timeout: number
}

/**
 * How many replicas a write must reach before it is acknowledged, as the masters are now. A
 * master's replicas are read from ROLE when the connection is ready and every `interval` ms;
 * a cluster's from the client's own map of the slots, kept up to date by ioredis.
 */
export class Replication {
  readonly #client: Client
  readonly #settings: WaitSettings
  readonly #timer: NodeJS.Timeout | undefined
  /** The replicas a master that is not a cluster's last said it had. */
  #replicas = 0

  constructor (client: Client, settings: WaitSettings, interval: number) {
    this.#client = client
    this.#settings = settings
    if (settings.replicas !== 'auto' || client instanceof Cluster) return
    client.on('ready', () => { this.look() })
    this.#timer = setInterval(() => { this.look() }, interval).unref()
  }

  get timeout (): number {
    return this.#settings.timeout
  }

  /** The replicas a write to `bucket` must reach; 0 when it needs none. */
  for (bucket: Bucket): number {
    const { replicas } = this.#settings
    if (replicas !== 'auto') return replicas
    const client = this.#client
    if (client instanceof Cluster) return (client.slots[calculateSlot(bucket.ids)]?.length ?? 0) > 1 ? 1 : 0
    return Math.min(this.#replicas, 1)
  }

  close (): void {
    clearInterval(this.#timer)
  }

  /** Reads how many replicas the master has now; never rejects. */
  async look (): Promise<void> {
    if (this.#settings.replicas !== 'auto' || this.#client instanceof Cluster || this.#client.status !== 'ready') return
    try {
      const role = await this.#client.role()
      this.#replicas = role[0] === 'master' && Array.isArray(role[2]) ? role[2].length : 0
    } catch {
      // Looked at again on the next tick; what was known stays meanwhile.
    }
  }
}
