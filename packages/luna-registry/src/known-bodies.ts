import * as crypto from 'node:crypto'
import type { InstanceInfo, InstanceView } from './schemas.js'
import { flatInfoJson, infoParts, showsInfo, viewJson, type InfoJson } from './view-json.js'

/** A remembered body, with the JSON of what its info puts in the instance's view once asked for. */
interface Known {
  /** SHA-256 of the body's text. */
  digest: string
  info: Readonly<InstanceInfo>
  /** `InfoJson`'s two parts, on the entry itself: one object less per instance. */
  head: string | undefined
  tail: string | undefined
  /** Whether `head` and `tail` were made flat, which pays once they are written a second time. */
  flat: boolean
  /** Bodies in a row, up to now, that were not this one: the instance's bodies change. */
  misses: number
  /** Bodies taken without a look since they started changing. */
  skipped: number
}

/** Bodies in a row unlike the last one remembered, after which an instance is taken to change its body. */
const CHANGING_AFTER = 2
/**
 * Of the bodies of an instance that changes its body, those looked up: one in so many, so a body
 * that stops changing is remembered again a few heartbeats later.
 */
const LOOK_EVERY = 8

/**
 * What a body's text is known by: its SHA-256, as 32 one-byte characters (a fifth less time and
 * memory than base64), of its bytes or of a string's UTF-8, which is the same for a valid body.
 * `crypto.hash` (Node.js 20.12 and later) costs half of what a Hash object does for a short text.
 */
export const bodyDigest: (text: string | Buffer) => string = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'binary')
  : (text) => crypto.createHash('sha256').update(text).digest('binary')

/**
 * The last body accepted from each instance, by the SHA-256 of its text, with what it was
 * checked and turned into. An instance sends the same body with every heartbeat; the same text,
 * sent again to the same instance id, is neither parsed nor checked again. That is sound because
 * parsing and checking are functions of the text and the id alone: a remembered body is what a
 * fresh parse would give, and it can never disagree with the store. A digest rather than the
 * text keeps the memory per instance small; two texts with one SHA-256 are not a practical
 * concern.
 *
 * The info is frozen (every checked body is), so every request that gets it gets the same value,
 * and the store may keep it without a copy; the JSON of the part of the view it decides is
 * written once, when first asked for. One entry per instance: a heartbeat with a different body
 * replaces it when it was looked up (see `worthDigest`), and removing or evicting the instance
 * forgets it.
 */
export class KnownBodies {
  readonly #known = new Map<string, Known>()

  /**
   * Whether a body sent to `instanceId` is worth a digest, to be looked up and then remembered.
   * Not when the instance's last bodies all changed (a counter in its metadata): the digest of a
   * body seen once is spent for nothing. A body not looked up is parsed, which always gives the
   * right info, and is not remembered: the one remembered stays what its text stands for.
   */
  worthDigest (instanceId: string): boolean {
    const known = this.#known.get(instanceId)
    return known === undefined || known.misses < CHANGING_AFTER || ++known.skipped % LOOK_EVERY === 0
  }

  /** The info a body with `digest` stands for when it is the body last accepted for `instanceId`. */
  lookup (instanceId: string, digest: string): Readonly<InstanceInfo> | undefined {
    const known = this.#known.get(instanceId)
    if (known === undefined) return undefined
    if (known.digest === digest) {
      known.misses = 0
      return known.info
    }
    known.misses++
    return undefined
  }

  /**
   * The JSON of the info `view` shows, when that is the info last accepted for its instance;
   * written the first time it is asked for, and made flat the second: a body that changes with
   * every heartbeat is written once, and copying it flat would only add to that.
   */
  infoJson (view: InstanceView): InfoJson | undefined {
    const known = this.#known.get(view.instanceId)
    if (known === undefined || !showsInfo(view, known.info)) return undefined
    // Both parts are written together.
    if (known.head === undefined || known.tail === undefined) {
      const { head, tail } = infoParts(view.instanceId, known.info)
      known.head = head
      known.tail = tail
      return { head, tail }
    }
    if (!known.flat) {
      const { head, tail } = flatInfoJson(known as InfoJson)
      known.head = head
      known.tail = tail
      known.flat = true
    }
    return known as InfoJson
  }

  /** The JSON of `view`, from the text kept with its remembered body when it shows one. */
  writeView (view: InstanceView): string {
    return viewJson(view, this.infoJson(view))
  }

  /** After `info`, parsed from a text with `digest`, has been accepted for `instanceId`. */
  remember (instanceId: string, digest: string, info: Readonly<InstanceInfo>): void {
    const known = this.#known.get(instanceId)
    this.#known.set(instanceId, { digest, info, head: undefined, tail: undefined, flat: false, misses: known?.misses ?? 0, skipped: 0 })
  }

  forget (instanceId: string): void {
    this.#known.delete(instanceId)
  }

  get size (): number {
    return this.#known.size
  }
}
