/**
 * The names of a registry's keys and channel under one prefix, written once: several registries
 * can share a Redis, each under a prefix of its own. The service sets and instance hashes are
 * named from a prefix the scripts complete, since the scripts read the names from the store.
 */
export class Keys {
  /** The set of every instance id. */
  readonly ids: string
  /** Instance ids scored by last heartbeat, not yet announced as timed out. */
  readonly live: string
  /** Instance ids announced as timed out, waiting for a heartbeat or eviction. */
  readonly timedOut: string
  /** The pub/sub channel of the registry's change events. */
  readonly channel: string
  /** The marker that tells a Redis that lost the registry's keys. */
  readonly marker: string
  /** Written by readiness checks, beside the registry's keys. */
  readonly ready: string
  /** The prefix of an instance's hash; the id follows. */
  readonly instancePrefix: string
  /** The prefix of a service's set of ids; the name follows. */
  readonly servicePrefix: string

  constructor (prefix: string) {
    this.ids = `${prefix}ids`
    this.live = `${prefix}live`
    this.timedOut = `${prefix}timedout`
    this.channel = `${prefix}events`
    this.marker = `${prefix}marker`
    this.ready = `${prefix}ready`
    this.instancePrefix = `${prefix}i:`
    this.servicePrefix = `${prefix}s:`
  }

  instance (id: string): string { return this.instancePrefix + id }
  service (name: string): string { return this.servicePrefix + name }
}
