import type { FastifyBaseLogger } from 'fastify'
import { createLunaClient, type ServiceView, type Watcher, type WatchEvent, type WatchOptions } from 'luna-client'
import { matchesMetadata, type LunaRegistry, type MetadataFilter } from 'luna-registry'

/** An instance the gateway may send traffic to: `OK`, with a weight above 0. */
export interface Routable {
  instanceId: string
  url: string
  weight: number
  metadata: Readonly<Record<string, string>>
}

/** Who is routable, service by service. */
export interface RoutingTable {
  /** Whether the table knows the registry's contents; a follower does not before its first snapshot. */
  readonly synchronised: boolean
  /**
   * The routable instances of `service` (with `metadata`, only those whose metadata has all its
   * entries), sorted by instance id; `[]` when it has instances but none routable, `undefined`
   * when it has none at all.
   */
  routable: (service: string, metadata?: MetadataFilter) => Promise<Routable[] | undefined>
  close: () => void
}

/**
 * The registry in this process, read on every request: the status is computed from the last
 * heartbeat there and then, so an instance past its deadline gets no traffic even before the
 * sweeper announces it (a table kept from the change events could not know: a heartbeat that
 * changes nothing emits none).
 */
export class RegistryTable implements RoutingTable {
  readonly synchronised = true
  readonly #registry: LunaRegistry

  constructor (registry: LunaRegistry) {
    this.#registry = registry
  }

  async routable (service: string, metadata?: MetadataFilter): Promise<Routable[] | undefined> {
    const records = await this.#registry.routable(service, metadata)
    return records?.map((record) => ({ instanceId: record.instanceId, url: record.url, weight: record.balancerOptions.weight, metadata: record.metadata }))
  }

  close (): void {}
}

export interface FollowerOptions {
  /** The registry, credentials included: `http://admin:secret@registry:4000`. */
  url: string | URL
  /** The registry's prefix. Default `/registry/v1`. */
  prefix?: string
  watch?: WatchOptions
  log: FastifyBaseLogger
}

function routableOf (view: ServiceView): Routable[] {
  const routable: Routable[] = []
  // The registry sends instances sorted by id.
  for (const instance of view.instances) {
    const weight = instance.balancerOptions.weight
    if (weight > 0 && instance.status === 'OK') routable.push({ instanceId: instance.instanceId, url: instance.url, weight, metadata: instance.metadata })
  }
  return routable
}

/**
 * A remote registry, followed over its event stream (luna-client's watch): a snapshot on every
 * connection, then each change. A missed deadline is known here when the registry's sweeper
 * announces it. While the stream is down the last list is kept, and the watcher reconnects and
 * resynchronises from a fresh snapshot.
 */
export class FollowerTable implements RoutingTable {
  readonly #services = new Map<string, Routable[]>()
  readonly #watcher: Watcher
  readonly #log: FastifyBaseLogger
  #synchronised = false

  constructor (options: FollowerOptions) {
    this.#log = options.log
    const client = createLunaClient({ url: options.url, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) })
    this.#watcher = client.watch(undefined, (services, event) => { this.#apply(services, event) }, options.watch)
    const registry = client.url
    let failing = false
    this.#watcher.on('connected', (services) => {
      failing = false
      this.#log.info({ registry, services: services.length }, 'luna-gateway: following the registry')
    })
    this.#watcher.on('error', (error, { retryIn }) => {
      // Said once per outage, not once per attempt.
      if (!failing) this.#log.warn({ registry, err: error, retryIn }, 'luna-gateway: the registry\'s event stream is unavailable; routing by the last list')
      failing = true
    })
  }

  get synchronised (): boolean {
    return this.#synchronised
  }

  async routable (service: string, metadata?: MetadataFilter): Promise<Routable[] | undefined> {
    const routable = this.#services.get(service)
    return metadata === undefined || routable === undefined ? routable : routable.filter((instance) => matchesMetadata(instance.metadata, metadata))
  }

  close (): void {
    this.#watcher.close()
  }

  #apply (services: ServiceView[], event: WatchEvent): void {
    if (event.type === 'snapshot') {
      this.#services.clear()
      for (const view of services) this.#services.set(view.name, routableOf(view))
      this.#synchronised = true
      return
    }
    // The registry's own state changed, not a service's.
    if (event.type === 'protection') return
    const view = services.find((candidate) => candidate.name === event.service)
    if (view === undefined) this.#services.delete(event.service)
    else this.#services.set(view.name, routableOf(view))
  }
}
