import type { InstanceInfo } from './schemas.js'
import { keepJson } from './view-json.js'

interface Known {
  text: string
  info: Readonly<InstanceInfo>
}

/** Freezes `value` and everything it holds (a parsed JSON body: plain objects and arrays). */
function deepFreeze (value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return
  Object.freeze(value)
  for (const item of Object.values(value)) deepFreeze(item)
}

/**
 * The last body accepted from each instance, as sent and as checked. An instance sends the same
 * body with every heartbeat; the same text, sent again to the same instance id, is neither parsed
 * nor checked again. That is sound because parsing and checking are functions of the text and
 * the id alone: a remembered body is exactly what a fresh parse would give, and it can never
 * disagree with the store. The info is frozen when it is remembered, so every request that gets
 * it gets the same value, the store may keep it without a copy, and the JSON of its metadata
 * and balancer options is written once.
 *
 * One entry per instance: a heartbeat with a different body replaces it, and removing or evicting
 * the instance forgets it.
 */
export class KnownBodies {
  readonly #known = new Map<string, Known>()
  readonly #checked = new WeakSet<object>()

  /** The info `text` stands for when it is the body last accepted for `instanceId`. */
  lookup (instanceId: string, text: string): Readonly<InstanceInfo> | undefined {
    const known = this.#known.get(instanceId)
    return known !== undefined && known.text === text ? known.info : undefined
  }

  /** Whether `value` is an info handed out by `lookup`, so known to pass the body schema. */
  checked (value: unknown): boolean {
    return typeof value === 'object' && value !== null && this.#checked.has(value)
  }

  /** After `info`, parsed from `text`, has been accepted for `instanceId`. */
  remember (instanceId: string, text: string, info: InstanceInfo): void {
    deepFreeze(info)
    if (info.metadata !== undefined) keepJson(info.metadata)
    if (info.balancerOptions !== undefined) keepJson(info.balancerOptions)
    this.#checked.add(info)
    this.#known.set(instanceId, { text, info })
  }

  forget (instanceId: string): void {
    this.#known.delete(instanceId)
  }

  get size (): number {
    return this.#known.size
  }
}
