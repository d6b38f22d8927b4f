import { LunaError } from './errors.js'
import { Registration } from './registration.js'
import type { RegisterOptions } from './registration-options.js'
import { Transport, type TransportOptions } from './transport.js'
import type { InstanceInfo, InstanceStatus, InstanceView, ServiceStatus, ServiceView } from './types.js'
import { Watcher, type WatchListener, type WatchOptions } from './watch.js'

export interface LunaClientOptions {
  /**
   * Where the registry is: `http://admin:secret@host:4000`. Credentials in the URL are sent as
   * basic auth; a URL that already ends with the prefix is used as it is.
   */
  url: string | URL
  /** The registry's prefix. Default `'/registry/v1'`; `''` when it is mounted at the root. */
  prefix?: string
  /** Credentials, instead of (and winning over) those in the URL. */
  auth?: { username: string, password?: string }
  /** The `fetch` to use. Default: the global one. */
  fetch?: typeof globalThis.fetch
  /** Milliseconds to wait for each answer. Default `5000`. */
  timeout?: number
  /**
   * Certificates (PEM) of the authorities to trust for an `https:` registry, instead of the
   * system's: a registry with a certificate of your own. Not with `fetch`.
   */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>
}

export interface InstanceQuery {
  service?: string
  status?: InstanceStatus
}

function query (params: Record<string, string | undefined>): string {
  const defined = Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined)
  return defined.length === 0 ? '' : `?${new URLSearchParams(defined).toString()}`
}

/** A 404 with `code` means "no such thing"; any other 404 (a wrong prefix) is an error. */
function absent (error: unknown, code: string): boolean {
  return error instanceof LunaError && error.statusCode === 404 && error.code === code
}

/** One registry: registration handles, discovery, and watchers over its event stream. */
export class LunaClient {
  /** The registry's base URL, prefix included, without credentials. */
  readonly url: string
  readonly #transport: Transport
  readonly #registrations = new Set<Registration>()
  readonly #watchers = new Set<Watcher>()

  constructor (options: LunaClientOptions) {
    this.#transport = new Transport(options satisfies TransportOptions)
    this.url = this.#transport.base
  }

  /**
   * Registers the instance and keeps it registered: heartbeats, registers again after the
   * registry lost it, backs off while it is unreachable. Returns at once; see `ready()`.
   */
  register (info: InstanceInfo, options: RegisterOptions = {}): Registration {
    const registration = new Registration(this.#transport, info, options)
    this.#registrations.add(registration)
    registration.once('deregistered', () => { this.#registrations.delete(registration) })
    return registration
  }

  /** Every service, sorted by name; `status` keeps those `UP` or `DOWN`. */
  async services (filter: { status?: ServiceStatus } = {}): Promise<ServiceView[]> {
    return (await this.#transport.request<ServiceView[]>('GET', `/services${query({ status: filter.status })}`)).body
  }

  /** The service, or `undefined` when it has no instances. */
  async service (name: string): Promise<ServiceView | undefined> {
    try {
      return (await this.#transport.request<ServiceView>('GET', `/services/${encodeURIComponent(name)}`)).body
    } catch (error) {
      if (absent(error, 'FST_LUNA_SERVICE_NOT_FOUND')) return undefined
      throw error
    }
  }

  /** Instances sorted by id, optionally of one service and with one effective status. */
  async instances (filter: InstanceQuery = {}): Promise<InstanceView[]> {
    return (await this.#transport.request<InstanceView[]>('GET', `/instances${query({ service: filter.service, status: filter.status })}`)).body
  }

  /** The instance, or `undefined` when it is not registered. */
  async instance (instanceId: string): Promise<InstanceView | undefined> {
    try {
      return (await this.#transport.request<InstanceView>('GET', `/instances/${encodeURIComponent(instanceId)}`)).body
    } catch (error) {
      if (absent(error, 'FST_LUNA_INSTANCE_NOT_FOUND')) return undefined
      throw error
    }
  }

  /**
   * One `OK` instance of the service, chosen by the registry by weighted round-robin. Throws a
   * `LunaError`: 404 `FST_LUNA_SERVICE_NOT_FOUND`, 503 `FST_LUNA_NO_INSTANCE_AVAILABLE`.
   */
  async pick (name: string): Promise<InstanceView> {
    return (await this.#transport.request<InstanceView>('GET', `/services/${encodeURIComponent(name)}/pick`)).body
  }

  /**
   * Follows the registry's changes: the listener gets the whole list (of every service, or of
   * `service` only) after each snapshot and each change. Close the watcher to stop.
   */
  watch (listener?: WatchListener, options?: WatchOptions): Watcher
  watch (service: string | undefined, listener?: WatchListener, options?: WatchOptions): Watcher
  watch (first?: string | WatchListener, second?: WatchListener | WatchOptions, third?: WatchOptions): Watcher {
    const service = typeof first === 'function' ? undefined : first
    const listener = typeof first === 'function' ? first : second as WatchListener | undefined
    const options = typeof first === 'function' ? second as WatchOptions | undefined : third
    const watcher = new Watcher(this.#transport, service, options)
    if (listener !== undefined) watcher.on('change', listener)
    this.#watchers.add(watcher)
    return watcher
  }

  /** Closes every watcher and deregisters every instance this client registered. */
  async close (): Promise<void> {
    for (const watcher of this.#watchers) watcher.close()
    this.#watchers.clear()
    await Promise.all([...this.#registrations].map(async (registration) => await registration.deregister()))
  }
}

/** A client for the registry at `url` (`http://admin:secret@host:4000`), or with options. */
export function createLunaClient (options: LunaClientOptions | string | URL): LunaClient {
  return new LunaClient(typeof options === 'string' || options instanceof URL ? { url: options } : options)
}
