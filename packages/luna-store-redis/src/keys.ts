/**
 * How many buckets the instances are spread over. Each bucket's keys share a hash tag, so that a
 * script touches one slot of a Redis Cluster, and the buckets' slots fall on different masters.
 * Fixed: changing it would move every instance to another bucket.
 */
export const BUCKETS = 16

/** The keys of one bucket: its instances and their indexes, all under one hash tag. */
export class Bucket {
  readonly index: number
  /** The set of the bucket's instance ids. */
  readonly ids: string
  /** Ids scored by last heartbeat, not yet announced as timed out. */
  readonly live: string
  /** Ids announced as timed out, waiting for a heartbeat or eviction. */
  readonly timedOut: string
  /** Written by readiness checks, beside the bucket's keys. */
  readonly ready: string
  readonly #instancePrefix: string
  readonly #servicePrefix: string

  constructor (prefix: string, index: number) {
    const tagged = `${prefix}{${index}}:`
    this.index = index
    this.ids = `${tagged}ids`
    this.live = `${tagged}live`
    this.timedOut = `${tagged}timedout`
    this.ready = `${tagged}ready`
    this.#instancePrefix = `${tagged}i:`
    this.#servicePrefix = `${tagged}s:`
  }

  /** An instance's hash. */
  instance (id: string): string { return this.#instancePrefix + id }
  /** The set of the ids of a service's instances in this bucket. */
  service (name: string): string { return this.#servicePrefix + name }
}

/**
 * The names of a registry's keys and channel under one prefix, written once: several registries
 * can share a Redis, each under a prefix of its own. An instance lives in the bucket its id hashes
 * to, beside the indexes that list it.
 */
export class Keys {
  readonly buckets: readonly Bucket[]
  /** The pub/sub channel of the registry's change events. */
  readonly channel: string
  /** The marker that tells a Redis that lost the registry's keys. */
  readonly marker: string

  constructor (prefix: string) {
    if (/[{}]/.test(prefix)) throw new TypeError(`luna-store-redis: keyPrefix must not contain { or }: they would change the keys' hash tags, got ${JSON.stringify(prefix)}`)
    this.buckets = Array.from({ length: BUCKETS }, (_, index) => new Bucket(prefix, index))
    this.channel = `${prefix}events`
    this.marker = `${prefix}marker`
  }

  /** The bucket of `id`: FNV-1a over its UTF-16 code units, so every process agrees. */
  bucketOf (id: string): Bucket {
    let hash = 0x811c9dc5
    for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193)
    return this.buckets[(hash >>> 0) % BUCKETS]!
  }
}

/** The service name part of an instance id: what the registry always stores as its name. */
export function serviceOf (instanceId: string): string {
  const colon = instanceId.indexOf(':')
  return colon === -1 ? instanceId : instanceId.slice(0, colon)
}
